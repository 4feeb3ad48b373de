"""``GET /admin`` in a real headless Chromium against the running gateway: no key shows a sign-in
form and never a figure; signing in with the form sets an HttpOnly SameSite=Strict cookie; every
figure on the page equals what ``/admin/usage`` and ``/metrics`` say; a project key sees only its
project (another project is a 403); no key, secret or prompt text reaches the HTML, and a hostile
model name is shown as text, not markup. The test saves screenshots under
``.cache/test-artifacts/``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import KEY, Env
from tests.e2e.gateway_process import GatewayProcess, running_gateway
from tests.support.chromium import Page, headless_chromium

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".cache" / "test-artifacts"
PROJECT_KEY = "team-a-planted-key-5f2c9e"
OTHER_KEY = "team-b-planted-key-77aa01"
UPSTREAM_SECRET = "sk-upstream-planted-0a9b8c7d"
PROMPT_SECRET = "hunter2-planted-in-a-prompt"
HOSTILE_MODEL = '<img src=x onerror="alert(1)">'


def _config(env: Env, tmp: Path) -> str:
    chat = env.fake("openai-chat").base_url
    return f"""
auth:
  api_keys: ["{KEY}"]
  projects:
    - {{name: team-a, api_key: {PROJECT_KEY}}}
    - {{name: team-b, api_key: {OTHER_KEY}, monthly_budget_usd: 5}}
providers:
  - {{name: fake-chat, style: openai-chat, base_url: "{chat}", api_key: {UPSTREAM_SECRET}, models: ["chat/*"]}}
usage: {{database_url: "{tmp / "usage.db"}", flush_interval: 100ms}}
cache: {{backend: memory}}
metrics: {{public: false}}
pricing:
  chat/ok: {{input: 3.0, output: 15.0, cache_read: 0.3, cache_write: 3.75}}
"""


@pytest.fixture(scope="module")
def gateway(env: Env, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    with running_gateway(_config(env, tmp_path_factory.mktemp("admin")), key=KEY) as gw:
        admin = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=KEY, max_retries=0)
        team_a = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=PROJECT_KEY, max_retries=0)
        team_b = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=OTHER_KEY, max_retries=0)
        ask = [{"role": "user", "content": "what is 2 + 2?"}]
        admin.chat.completions.create(model="chat/ok", messages=ask)  # type: ignore[arg-type]
        admin.chat.completions.create(model="chat/ok", messages=ask)  # type: ignore[arg-type]  # a cache hit
        team_a.chat.completions.create(
            model="chat/ok", messages=[{"role": "user", "content": f"my password is {PROMPT_SECRET}"}]
        )
        team_b.chat.completions.create(model="chat/ok", messages=[{"role": "user", "content": "team b asks"}])
        with pytest.raises(openai.APIStatusError):
            team_a.chat.completions.create(model=HOSTILE_MODEL, messages=ask)  # type: ignore[arg-type]
        _wait_for_rows(gw, 5)
        yield gw


def _usage(gw: GatewayProcess, key: str = KEY, **params: str) -> dict[str, Any]:
    r = httpx.get(
        f"{gw.url}/admin/usage", params=params, headers={"authorization": f"Bearer {key}"}, timeout=10
    )
    r.raise_for_status()
    body: dict[str, Any] = r.json()
    return body


def _wait_for_rows(gw: GatewayProcess, n: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _usage(gw)["totals"]["requests"] >= n:
            return
        time.sleep(0.1)
    raise AssertionError(f"usage rows did not arrive: {_usage(gw)}")


def _metric_totals(gw: GatewayProcess) -> dict[str, float]:
    text = httpx.get(f"{gw.url}/metrics", headers={"authorization": f"Bearer {KEY}"}, timeout=10).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.endswith("_total"):
                out[s.name] = out.get(s.name, 0.0) + s.value
    return out


_FIGURES = "Object.fromEntries([...document.querySelectorAll('[data-k]')].map(e => [e.dataset.k, e.dataset.v ?? e.textContent]))"


async def _sign_in(page: Page, url: str, key: str) -> int:
    status = await page.goto(f"{url}/admin")
    assert status == 401
    return await page.submit(
        f"document.getElementById('key').value = {key!r}; document.querySelector('form').submit()"
    )


def _assert_clean(html: str) -> None:
    for secret in (KEY, PROJECT_KEY, OTHER_KEY, UPSTREAM_SECRET, PROMPT_SECRET, "what is 2 + 2"):
        assert secret not in html, secret


@pytest.mark.asyncio
async def test_sign_in_figures_and_no_secrets_in_chromium(gateway: GatewayProcess) -> None:
    url = gateway.url
    async with headless_chromium() as page:
        assert await page.goto(f"{url}/admin") == 401
        assert await page.evaluate("document.querySelectorAll('[data-k]').length") == 0  # no figure
        assert await page.evaluate("!!document.querySelector('input[name=key][type=password]')")
        assert "requests" not in (await page.evaluate("document.body.innerText")).lower()

        assert (
            await page.submit(
                "document.getElementById('key').value = 'not-a-key'; document.querySelector('form').submit()"
            )
            == 401
        )
        assert "not a gateway key" in await page.evaluate("document.body.innerText")

        assert await _sign_in(page, url, KEY) == 200
        cookie = next(c for c in await page.cookies(f"{url}/admin") if c["name"] == "frugal_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/admin"
        assert await page.evaluate("document.cookie") == ""  # not readable by script

        figures: dict[str, str] = await page.evaluate(_FIGURES)
        html: str = await page.evaluate("document.documentElement.outerHTML")
        usage, metrics = _usage(gateway), _metric_totals(gateway)
        await page.screenshot(ARTIFACTS / "admin-page.png")

    assert figures["scope"] == "all projects"
    for k, v in usage["totals"].items():
        assert float(figures[f"totals.{k}"]) == pytest.approx(v, rel=1e-12), k
    assert usage["totals"]["requests"] == 5 and usage["totals"]["errors"] == 1
    for d in usage["by_day"]:
        assert float(figures[f"by_day.{d['day']}.cost_usd"]) == pytest.approx(d["cost_usd"], rel=1e-12)
    for s in usage["savings_by_optimizer"]:
        assert int(figures[f"savings.{s['optimizer']}.saved_tokens"]) == s["saved_tokens"]
    assert any(s["optimizer"] == "cache" for s in usage["savings_by_optimizer"])  # the hit saved its tokens
    for r in usage["by_tier"]:
        assert int(figures[f"by_tier.{r['tier']}.requests"]) == r["requests"]
    assert {k: int(v) for k, v in figures.items() if k.startswith("by_project.")} == {
        f"by_project.{r['project']}.requests": r["requests"] for r in usage["by_project"]
    }
    for name in ("gateway_requests_total", "gateway_cache_hits_total", "gateway_cost_usd_total"):
        assert float(figures[f"metrics.{name}"]) == pytest.approx(metrics[name], rel=1e-12), name
    assert figures["provider.fake-chat"] == "ok"

    _assert_clean(html)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;img src=x onerror=" in html  # the hostile model name, as text
    assert "Recent requests (newest 5)" in html


@pytest.mark.asyncio
async def test_a_project_key_sees_only_its_project(gateway: GatewayProcess) -> None:
    url = gateway.url
    async with headless_chromium() as page:
        assert await _sign_in(page, url, PROJECT_KEY) == 200
        figures: dict[str, str] = await page.evaluate(_FIGURES)
        rows: list[str] = await page.evaluate(
            "[...document.querySelectorAll('table.recent tbody tr')].map(tr => tr.cells[1].textContent)"
        )
        html: str = await page.evaluate("document.documentElement.outerHTML")
        await page.screenshot(ARTIFACTS / "admin-page-project.png")
        assert await page.goto(f"{url}/admin?project=team-b") == 403
        assert await page.evaluate("document.querySelectorAll('[data-k]').length") == 0
        # signing out ends the session: the form again
        await page.goto(f"{url}/admin")
        assert await page.submit("document.querySelector('form[action=\"/admin/logout\"]').submit()") == 401
        assert await page.evaluate("!!document.querySelector('input[name=key]')")

    mine = _usage(gateway, PROJECT_KEY)
    assert figures["scope"] == "project team-a"
    assert int(figures["totals.requests"]) == mine["totals"]["requests"] == 2
    assert rows == ["team-a", "team-a"]
    assert not any(k.startswith(("by_project.", "metrics.")) for k in figures)  # nothing of other projects
    assert "team-b" not in html
    _assert_clean(html)


def test_no_or_wrong_key_never_shows_data(gateway: GatewayProcess) -> None:
    for headers in ({}, {"authorization": "Bearer wrong"}, {"cookie": "frugal_session=abc.123.def"}):
        r = httpx.get(f"{gateway.url}/admin", headers=headers, timeout=10)
        assert r.status_code == 401 and "data-k" not in r.text and 'name="key"' in r.text
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
    ok = httpx.get(f"{gateway.url}/admin", headers={"x-api-key": KEY}, timeout=10)
    assert ok.status_code == 200 and "data-k" in ok.text and ok.headers["cache-control"] == "no-store"
    bad_filter = httpx.get(
        f"{gateway.url}/admin", params={"since": "<b>yesterday"}, headers={"x-api-key": KEY}
    )
    assert bad_filter.status_code == 400 and "&lt;b&gt;yesterday" in bad_filter.text
    big = httpx.post(f"{gateway.url}/admin/login", content=b"key=" + b"x" * 10_000, timeout=10)
    assert big.status_code == 413
