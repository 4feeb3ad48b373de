"""The admin page's HTML on its own: every value from traffic is text, never markup; empty and
switched-off stores say so; figures carry their exact raw value."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from app.http.admin_html import AdminView, ProviderState, render_error, render_login, render_page

EVIL = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.extend(attrs)


def _tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def _row(**kw: Any) -> dict[str, Any]:
    base = {
        "requests": 3, "errors": 1, "input_tokens": 1200, "output_tokens": 80, "cache_read_tokens": 0,
        "cache_write_tokens": 0, "cost_usd": 0.0123456789, "unpriced_requests": 0, "saved_tokens": 40,
        "saved_usd": 0.0001,
    }  # fmt: skip
    base.update(kw)
    return base


def _hostile_view() -> AdminView:
    usage = {
        "totals": _row(),
        "by_project": [_row(project=EVIL)],
        "by_provider": [_row(provider=EVIL)],
        "by_model": [_row(model=EVIL)],
        "by_day": [_row(day=EVIL)],
        "by_tier": [_row(tier=EVIL), _row(tier=None)],
        "by_scenario": [_row(scenario=EVIL)],
        "by_cascade": [_row(cascade=EVIL)],
        "savings_by_optimizer": [{"optimizer": EVIL, "saved_tokens": 40, "saved_usd": 0.0001}],
    }
    recent = [
        {
            "ts": 1764806400.0, "request_id": EVIL, "project": EVIL, "style": EVIL, "requested_model": EVIL,
            "tier": EVIL, "scenario": EVIL, "provider": EVIL, "model": EVIL, "status": 400, "error": EVIL,
            "stream": 0, "cache": EVIL, "cascade": EVIL, "latency_ms": 12.5, "input_tokens": 1,
            "output_tokens": 2, "cache_read_tokens": 0, "cost_usd": None, "saved_tokens": 0, "attempts": 1,
        }
    ]  # fmt: skip
    return AdminView(
        scope=None,
        admin=True,
        signed_in=True,
        filters={"since": EVIL, "project": EVIL},
        usage=usage,
        usage_note=None,
        recent=recent,
        budgets=[{"project": EVIL, "monthly_budget_usd": 5.0, "spent_usd": 1.0, "share": 0.2}],
        providers=[ProviderState(EVIL, "circuit_open", {EVIL: "open"}), ProviderState("p", "disabled", {}, EVIL)],
        metrics={"gateway_routing_total": [({"tier": EVIL, "scenario": EVIL}, 2.0)],
                 "gateway_requests_total": [({"status": "200"}, 3.0), ({"status": "500"}, 1.0)]},
    )  # fmt: skip


def test_every_traffic_value_is_escaped() -> None:
    html = render_page(_hostile_view())
    parsed = _tags(html)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert not any(name.startswith("on") for name, _ in parsed.attrs)  # no event handler attribute
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("&lt;script&gt;") >= 15  # names, filters, circuits, errors: all as text


def test_figures_carry_their_raw_values() -> None:
    html = render_page(_hostile_view())
    figures = dict(re.findall(r'data-k="([^"]+)" data-v="([^"]*)"', html))
    assert figures["totals.cost_usd"] == "0.0123456789"  # shown rounded, kept exact
    assert "$0.0123" in html
    assert figures["metrics.gateway_requests_total"] == "4.0"  # summed over labels, as /metrics has them
    assert "(not routed)" in html


def test_a_project_view_hides_other_projects_and_metrics() -> None:
    view = _hostile_view()
    project_view = AdminView(
        **{**{f: getattr(view, f) for f in view.__slots__}, "scope": "team-a", "admin": False}
    )
    html = render_page(project_view)
    assert "by_project." not in html and "metrics." not in html
    assert 'name="project"' not in html  # no filter for other projects


def test_store_off_and_empty_store_say_so() -> None:
    off = AdminView(
        scope=None, admin=True, signed_in=False, filters={}, usage=None,
        usage_note="the usage store is switched off (usage.enabled: false)", recent=[], budgets=[],
        providers=[],
    )  # fmt: skip
    html = render_page(off)
    assert "switched off" in html and "Sign out" not in html and 'data-k="totals.' not in html
    empty_usage = {k: [] for k in ("by_project", "by_provider", "by_model", "by_day", "by_tier", "by_scenario",
                                    "by_cascade", "savings_by_optimizer")}  # fmt: skip
    empty = AdminView(
        scope=None, admin=True, signed_in=False, filters={}, usage={"totals": _row(requests=0), **empty_usage},
        usage_note=None, recent=[], budgets=[], providers=[],
    )  # fmt: skip
    html = render_page(empty)
    assert "no requests yet" in html and "nothing saved yet" in html


def test_login_and_error_pages_hold_no_figure() -> None:
    login = render_login(EVIL)
    assert "data-k" not in login and "<script>" not in login and 'type="password"' in login
    err = render_error(403, EVIL)
    assert "data-k" not in err and "<script>" not in err and "403" in err
