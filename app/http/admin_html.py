"""The admin page's HTML: one self-contained document (inline CSS and SVG, no script, no external
asset), rendered from an ``AdminView`` that holds names and numbers only.

Every value that comes from traffic or configuration (project, model and provider names, error
codes, filters) goes through ``_e`` — HTML-escaped, quotes included — so a hostile model name in
a request cannot become markup. Figures carry their raw value in ``data-v`` so a test (or a
scraper) can compare them with ``/admin/usage`` and ``/metrics`` exactly.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app import __version__

MAX_DAYS_CHARTED = 31


@dataclass(frozen=True, slots=True)
class ProviderState:
    name: str
    status: str  # ok | circuit_open | disabled
    circuits: dict[str, str]
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class AdminView:
    scope: str | None  # the project in view; None: every project
    admin: bool  # an admin key: may filter by any project and sees /metrics figures
    signed_in: bool  # a session cookie (the page offers to sign out)
    filters: dict[str, str]  # since / until / project as given
    usage: dict[str, Any] | None  # usage_summary(); None when the store is off or unreachable
    usage_note: str | None  # why ``usage`` is missing
    recent: list[dict[str, Any]]
    budgets: list[dict[str, Any]]
    providers: list[ProviderState]
    metrics: dict[str, list[tuple[dict[str, str], float]]] = field(default_factory=dict)
    pending_rows: int = 0


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _int(v: object) -> str:
    return f"{int(v or 0):,}"  # type: ignore[call-overload]


def _usd(v: object) -> str:
    if v is None:
        return "—"
    x = float(v)  # type: ignore[arg-type]
    return f"${x:,.4f}" if abs(x) < 100 else f"${x:,.2f}"


def _fig(key: str, raw: object, shown: str) -> str:
    return f'<span data-k="{_e(key)}" data-v="{_e(raw)}">{shown}</span>'


def _card(key: str, raw: object, shown: str, label: str) -> str:
    return f'<div class="card"><b>{_fig(key, raw, shown)}</b><small>{_e(label)}</small></div>'


def _share(part: float, whole: float) -> str:
    pct = 0.0 if whole <= 0 else max(0.0, min(100.0, 100.0 * part / whole))
    return f'<div class="bar"><div style="width:{pct:.1f}%"></div></div><small>{pct:.1f}%</small>'


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], empty: str, cls: str = "") -> str:
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    if not body:
        body = f'<tr><td colspan="{len(head)}" class="empty">{_e(empty)}</td></tr>'
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _bar_chart(points: list[tuple[str, float]], label: str, fmt: Any) -> str:
    """Vertical bars, one per day; each bar's <title> is its exact figure."""
    if not points:
        return ""
    width, height, pad = 640, 140, 18
    top = max(v for _, v in points) or 1.0
    step = min(48.0, (width - 2 * pad) / len(points))  # a lone day stays a bar, not a wall
    bars = []
    for i, (day, value) in enumerate(points):
        h = (height - 2 * pad) * value / top
        x = pad + i * step
        bars.append(
            f'<rect x="{x + step * 0.1:.1f}" y="{height - pad - h:.1f}" width="{step * 0.8:.1f}" '
            f'height="{h:.1f}"><title>{_e(day)}: {_e(fmt(value))}</title></rect>'
        )
    first, last = _e(points[0][0]), _e(points[-1][0])
    end = f'<text x="{pad + step * len(points):.1f}" y="{height - 3}" text-anchor="end">{last}</text>'
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}">'
        f'<text x="{pad}" y="12">{_e(label)} (max {_e(fmt(top))})</text>{"".join(bars)}'
        f'<text x="{pad}" y="{height - 3}">{first}</text>{end if len(points) > 1 else ""}</svg>'
    )


def _clip(text: object, n: int) -> str:
    s = str(text)
    return s if len(s) <= n else s[: n - 1] + "…"


def _when(ts: object) -> str:
    try:
        return dt.datetime.fromtimestamp(float(ts), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return ""


_CSS = """
:root{--fg:#1d2330;--mute:#5d6679;--line:#dfe3ea;--bg:#f6f7f9;--card:#fff;--acc:#2f6fde;--bad:#c2352b;
  --ok:#23854a;--warn:#b7791f}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);
  background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:12px;align-items:center;justify-content:space-between;
  padding:14px 22px;background:#1d2330;color:#fff}
header h1{font-size:18px;margin:0}
header small{color:#aab3c5}
header form{display:flex;gap:6px;flex-wrap:wrap;align-items:center}
input,button{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:6px}
button{background:var(--acc);color:#fff;border:0;cursor:pointer}
main{padding:18px 22px;display:grid;gap:18px;grid-template-columns:repeat(auto-fit,minmax(420px,1fr))}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;
  overflow-x:auto}
section.wide{grid-column:1/-1}
h2{font-size:15px;margin:0 0 10px}
.cards{display:grid;gap:10px;grid-template-columns:repeat(auto-fit,minmax(150px,1fr))}
.card{border:1px solid var(--line);border-radius:8px;padding:8px 10px}
.card b{display:block;font-size:20px}
.card small{color:var(--mute)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--mute);font-weight:600;font-size:12px}
td.empty{color:var(--mute);font-style:italic}
.bar{display:inline-block;width:90px;height:8px;background:var(--line);border-radius:4px;
  margin-right:6px;vertical-align:middle}
.bar div{height:8px;background:var(--acc);border-radius:4px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.chart{flex:1 1 320px;max-width:640px;height:auto}
.chart rect{fill:var(--acc)}
.chart text{font-size:11px;fill:var(--mute)}
.s-ok{color:var(--ok)}
.s-bad{color:var(--bad)}
.s-warn{color:var(--warn)}
.note{color:var(--warn)}
.login{max-width:380px;margin:12vh auto;background:var(--card);border:1px solid var(--line);
  border-radius:10px;padding:22px}
.login form{display:grid;gap:10px}
.login p.err{color:var(--bad)}
"""


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{_e(title)}</title><style>{_CSS}</style></head>'
        f"<body>{body}</body></html>"
    )


def render_login(message: str | None = None) -> str:
    """The sign-in form: no figure of any kind, only where to put the key."""
    err = f'<p class="err" role="alert">{_e(message)}</p>' if message else ""
    return _document(
        "Frugal Gateway — sign in",
        '<div class="login"><h1>Frugal Gateway</h1>'
        "<p>Sign in with an admin key (or a project key to see that project only).</p>"
        f'{err}<form method="post" action="/admin/login">'
        '<label for="key">Gateway key</label>'
        '<input id="key" name="key" type="password" autocomplete="current-password" required>'
        '<button type="submit">Sign in</button></form></div>',
    )


def render_error(status: int, message: str) -> str:
    return _document(
        f"Frugal Gateway — {status}",
        f'<div class="login"><h1>{status}</h1><p class="err">{_e(message)}</p>'
        '<p><a href="/admin">Back to the admin page</a></p></div>',
    )


def render_page(view: AdminView) -> str:
    parts = [
        _totals(view),
        _by_day(view),
        _savings(view),
        _routing(view),
        _providers(view),
        _models(view),
        _budgets(view),
        _metrics(view),
        _recent(view),
    ]
    return _document("Frugal Gateway — admin", _header(view) + "<main>" + "".join(parts) + "</main>")


def _header(view: AdminView) -> str:
    scope = "all projects" if view.scope is None else f"project {view.scope}"
    f = view.filters
    project = (
        f'<input name="project" placeholder="project" value="{_e(f.get("project", ""))}" size="10">'
        if view.admin
        else ""
    )
    out = (
        '<form method="post" action="/admin/logout"><button type="submit">Sign out</button></form>'
        if view.signed_in
        else ""
    )
    return (
        f"<header><div><h1>Frugal Gateway</h1><small>v{_e(__version__)} · "
        f'<span data-k="scope">{_e(scope)}</span></small></div>'
        '<form method="get" action="/admin">'
        f'<input name="since" placeholder="since 2026-12-01" value="{_e(f.get("since", ""))}" size="16">'
        f'<input name="until" placeholder="until" value="{_e(f.get("until", ""))}" size="16">'
        f'{project}<button type="submit">Filter</button></form>{out}</header>'
    )


def _no_usage(view: AdminView, title: str, wide: bool = False) -> str:
    cls = ' class="wide"' if wide else ""
    return (
        f'<section{cls}><h2>{_e(title)}</h2><p class="note">{_e(view.usage_note or "no data")}</p></section>'
    )


def _totals(view: AdminView) -> str:
    if view.usage is None:
        return _no_usage(view, "Usage and cost", wide=True)
    t = view.usage["totals"]
    cards = [
        ("requests", "requests", _int(t["requests"])),
        ("errors", "errors (status ≥ 400)", _int(t["errors"])),
        ("cost_usd", "cost", _usd(t["cost_usd"])),
        ("saved_usd", "saved", _usd(t["saved_usd"])),
        ("saved_tokens", "input tokens not sent", _int(t["saved_tokens"])),
        ("input_tokens", "input tokens", _int(t["input_tokens"])),
        ("output_tokens", "output tokens", _int(t["output_tokens"])),
        ("cache_read_tokens", "cache-read tokens", _int(t["cache_read_tokens"])),
        ("cache_write_tokens", "cache-write tokens", _int(t["cache_write_tokens"])),
        ("unpriced_requests", "unpriced requests", _int(t["unpriced_requests"])),
    ]
    body = "".join(_card("totals." + k, t[k], shown, label) for k, label, shown in cards)
    pending = f" · {view.pending_rows} rows still being written" if view.pending_rows else ""
    return (
        f'<section class="wide"><h2>Usage and cost<small>{_e(pending)}</small></h2>'
        f'<div class="cards">{body}</div></section>'
    )


def _by_day(view: AdminView) -> str:
    if view.usage is None:
        return ""
    days = view.usage["by_day"][-MAX_DAYS_CHARTED:]
    charts = _bar_chart([(d["day"], float(d["cost_usd"])) for d in days], "cost per day (USD)", _usd)
    charts += _bar_chart([(d["day"], float(d["requests"])) for d in days], "requests per day", _int)
    rows = [
        (
            _e(d["day"]),
            _fig(f"by_day.{d['day']}.requests", d["requests"], _int(d["requests"])),
            _int(d["input_tokens"]),
            _int(d["output_tokens"]),
            _fig(f"by_day.{d['day']}.cost_usd", d["cost_usd"], _usd(d["cost_usd"])),
            _fig(f"by_day.{d['day']}.saved_usd", d["saved_usd"], _usd(d["saved_usd"])),
        )
        for d in reversed(days)
    ]
    table = _table(["day (UTC)", "requests", "input", "output", "cost", "saved"], rows, "no requests yet")
    charts = f'<div class="charts">{charts}</div>'
    return f'<section class="wide"><h2>Usage and cost by day</h2>{charts}{table}</section>'


def _savings(view: AdminView) -> str:
    if view.usage is None:
        return ""
    rows_in = view.usage["savings_by_optimizer"]
    whole = sum(float(r["saved_tokens"]) for r in rows_in)
    rows = [
        (
            _e(r["optimizer"]),
            _fig(f"savings.{r['optimizer']}.saved_tokens", r["saved_tokens"], _int(r["saved_tokens"])),
            _fig(f"savings.{r['optimizer']}.saved_usd", r["saved_usd"], _usd(r["saved_usd"])),
            _share(float(r["saved_tokens"]), whole),
        )
        for r in rows_in
    ]
    table = _table(["optimizer", "tokens saved", "USD saved", "share"], rows, "nothing saved yet")
    return f"<section><h2>Savings per optimizer</h2>{table}</section>"


def _mix_rows(rows_in: list[dict[str, Any]], column: str, prefix: str) -> list[tuple[str, ...]]:
    whole = sum(float(r["requests"]) for r in rows_in)
    return [
        (
            _e(r[column] if r[column] is not None else "(not routed)"),
            _fig(f"{prefix}.{r[column]}.requests", r["requests"], _int(r["requests"])),
            _share(float(r["requests"]), whole),
            _usd(r["cost_usd"]),
        )
        for r in rows_in
    ]


def _routing(view: AdminView) -> str:
    if view.usage is None:
        return ""
    u = view.usage
    tiers = _table(
        ["tier", "requests", "share", "cost"], _mix_rows(u["by_tier"], "tier", "by_tier"), "no requests"
    )
    scenarios = _table(
        ["scenario", "requests", "share", "cost"], _mix_rows(u["by_scenario"], "scenario", "by_scenario"),
        "no requests",
    )  # fmt: skip
    cascade = _table(
        ["cascade outcome", "requests", "share", "cost"], _mix_rows(u["by_cascade"], "cascade", "by_cascade"),
        "no request went through the cascade",
    )  # fmt: skip
    return f"<section><h2>Routing mix and cascade outcomes</h2>{tiers}<br>{scenarios}<br>{cascade}</section>"


_STATUS_CLASS = {"ok": "s-ok", "closed": "s-ok", "half_open": "s-warn", "half-open": "s-warn"}


def _providers(view: AdminView) -> str:
    rows = []
    for p in view.providers:
        circuits = ", ".join(
            f'<span class="{_STATUS_CLASS.get(s, "s-bad")}">{_e(k)}: {_e(s)}</span>'
            for k, s in p.circuits.items()
        )
        cls = _STATUS_CLASS.get(p.status, "s-bad")
        status = f'<span class="{cls}" data-k="provider.{_e(p.name)}">{_e(p.status)}</span>'
        rows.append((_e(p.name), status, circuits or _e(p.reason or "")))
    usage_rows: list[tuple[str, ...]] = []
    if view.usage is not None:
        usage_rows = [
            (_e(r["provider"]), _int(r["requests"]), _int(r["errors"]), _usd(r["cost_usd"]))
            for r in view.usage["by_provider"]
        ]
    states = _table(["provider", "status", "circuits"], rows, "no provider configured")
    used = _table(["answered by", "requests", "errors", "cost"], usage_rows, "no requests")
    return f"<section><h2>Providers and circuit states</h2>{states}<br>{used}</section>"


def _models(view: AdminView) -> str:
    if view.usage is None:
        return ""
    rows = [
        (
            _e(r["model"]),
            _int(r["requests"]),
            _int(r["input_tokens"]),
            _int(r["output_tokens"]),
            _usd(r["cost_usd"]),
        )
        for r in view.usage["by_model"]
    ]
    projects = ""
    if view.scope is None:
        prow = [
            (_e(r["project"]), _fig(
             f"by_project.{r['project']}.requests", r["requests"], _int(r["requests"])),
             _usd(r["cost_usd"]), _usd(r["saved_usd"]))
            for r in view.usage["by_project"]
        ]  # fmt: skip
        projects = "<br>" + _table(["project", "requests", "cost", "saved"], prow, "no requests")
    table = _table(["model", "requests", "input", "output", "cost"], rows, "no requests")
    return f"<section><h2>Models and projects</h2>{table}{projects}</section>"


def _budgets(view: AdminView) -> str:
    if not view.budgets:
        return ""
    rows = [
        (
            _e(b["project"]),
            _usd(b["monthly_budget_usd"]),
            _usd(b["spent_usd"]),
            _share(float(b["share"]) * 100, 100),
        )
        for b in view.budgets
    ]
    table = _table(["project", "budget", "spent this month", "used"], rows, "")
    return f"<section><h2>Monthly budgets</h2>{table}</section>"


def _metric_total(view: AdminView, name: str) -> float:
    return sum(v for _, v in view.metrics.get(name, []))


def _metrics(view: AdminView) -> str:
    if not view.admin or not view.metrics:
        return ""
    figures = [
        ("gateway_requests_total", "requests", _int),
        ("gateway_cache_hits_total", "response-cache hits", _int),
        ("gateway_cost_usd_total", "USD billed", _usd),
        ("gateway_saved_usd_total", "USD saved", _usd),
        ("gateway_tokens_saved_total", "tokens saved", _int),
        ("gateway_retries_total", "provider retries", _int),
        ("gateway_degraded_total", "dependency bypasses", _int),
        ("gateway_loop_guard_total", "loop-guard refusals", _int),
    ]
    cards = ""
    for name, label, fmt in figures:
        total = _metric_total(view, name)
        cards += _card("metrics." + name, total, fmt(total), label)
    routing = [
        (_e(labels.get("tier", "")), _e(labels.get("scenario", "")), _int(v))
        for labels, v in view.metrics.get("gateway_routing_total", [])
        if v
    ]
    cascade = [
        (_e(labels.get("outcome", "")), _int(v))
        for labels, v in view.metrics.get("gateway_cascade_total", [])
        if v
    ]
    return (
        '<section class="wide"><h2>Since the gateway started (same figures as /metrics)</h2>'
        f'<div class="cards">{cards}</div><br>'
        f"{_table(['tier', 'scenario', 'decisions'], routing, 'no routing decision yet')}<br>"
        f"{_table(['cascade outcome', 'count'], cascade, 'no cascade yet')}</section>"
    )


def _recent(view: AdminView) -> str:
    rows = []
    for r in view.recent:
        status = int(r["status"])
        cls = "s-ok" if status < 400 else "s-bad"
        route = f"{r['provider']}/{r['model']}"
        rows.append(
            (
                _e(_when(r["ts"])),
                _e(r["project"]),
                _e(r["style"]),
                _e(r["requested_model"]),
                _e(route),
                _e(r["tier"] or ""),
                f'<span class="{cls}" title="{_e(r["error"] or "")}">{status}</span>'
                + (" " + _e(_clip(r["error"], 48)) if r["error"] else ""),
                _e(r["cache"]),
                f"{float(r['latency_ms']):,.0f} ms",
                f"{_int(r['input_tokens'])} / {_int(r['output_tokens'])}",
                _usd(r["cost_usd"]),
                _int(r["saved_tokens"]),
            )
        )
    head = ["time (UTC)", "project", "style", "asked for", "answered by", "tier", "status", "cache",
            "latency", "tokens in / out", "cost", "saved"]  # fmt: skip
    return (
        f'<section class="wide"><h2>Recent requests (newest {len(view.recent)})</h2>'
        f"{_table(head, rows, view.usage_note or 'no requests yet', 'recent')}</section>"
    )
