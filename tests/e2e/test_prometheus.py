"""A real Prometheus (Debian's ``prometheus``) scraping a gateway that runs 2 worker processes.

What users rely on: every scrape shows the whole process group's counts (never one worker's share),
the counts equal what was sent, and every expression of the shipped Grafana dashboard is valid
PromQL that returns data from this gateway's metrics.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import KEY, Env
from tests.e2e.gateway_process import ROOT, GatewayProcess, free_port, running_gateway
from tests.support.processes import stop, wait_http_ok

DASHBOARD = ROOT / "deploy" / "grafana" / "frugal-gateway.json"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def _config(env: Env) -> str:
    chat = env.fake("openai-chat").base_url
    return f"""
auth:
  api_keys: ["{KEY}"]
providers:
  - {{name: fake-chat, style: openai-chat, base_url: "{chat}", api_key: upstream-secret-chat, models: ["chat/*"]}}
routes:
  - name: claude-sonnet-4-5
    steps: [{{provider: fake-chat, model: chat/ok}}]
  - name: claude-opus-4-5
    steps: [{{provider: fake-chat, model: chat/ok-strong}}]
tiers: {{cheap: claude-sonnet-4-5, strong: claude-opus-4-5}}
pricing:
  chat/ok: {{input: 3.0, output: 15.0, cache_read: 0.3, cache_write: 3.75}}
  chat/ok-strong: {{input: 5.0, output: 25.0}}
"""


@pytest.fixture(scope="module")
def gateway(env: Env) -> Iterator[GatewayProcess]:
    with running_gateway(_config(env), key=KEY, workers=2) as gw:
        yield gw


@pytest.fixture(scope="module")
def prometheus(gateway: GatewayProcess) -> Iterator[str]:
    assert Path(PROMETHEUS).exists(), (
        "prometheus is not installed: apt-get install prometheus (scripts/test does)"
    )
    tmp = Path(tempfile.mkdtemp(prefix="frugal-prom-"))
    (tmp / "prometheus.yml").write_text(
        f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: frugal
    metrics_path: /metrics
    authorization: {{credentials: "{KEY}"}}
    static_configs: [{{targets: ["127.0.0.1:{gateway.port}"]}}]
"""
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "prometheus.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_http_ok(f"{url}/-/ready", 30, alive=lambda: proc.poll() is None):
            raise RuntimeError("prometheus did not become ready:\n" + (tmp / "prometheus.log").read_text())
        yield url
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def _query(prom: str, expr: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{prom}/api/v1/query", params={"query": expr}, timeout=10)
    body = r.json()
    assert r.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _value(prom: str, expr: str) -> float:
    result = _query(prom, expr)
    return float(result[0]["value"][1]) if result else 0.0


def _send_traffic(gw: GatewayProcess) -> dict[str, int]:
    """Plain, streamed, routed (auto) and failing requests, spread over both workers."""
    sent = {"200": 0, "400": 0}
    headers = {"authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=gw.url, headers=headers, timeout=30) as client:
        for i in range(24):
            body: dict[str, Any] = {
                "model": "auto" if i % 3 == 0 else "claude-sonnet-4-5",
                "messages": [{"role": "user", "content": f"hello {i}"}],
            }
            if i % 2:
                body["stream"] = True
            # a new connection each time, so the kernel spreads requests over both workers
            r = httpx.post(f"{gw.url}/v1/chat/completions", json=body, headers=headers, timeout=30)
            assert r.status_code == 200, r.text
            sent["200"] += 1
        for _ in range(3):
            r = client.post("/v1/chat/completions", json={"model": "no-such-model", "messages": []})
            assert r.status_code == 400
            sent["400"] += 1
    return sent


def test_prometheus_counts_equal_what_was_sent_across_two_workers(
    gateway: GatewayProcess, prometheus: str
) -> None:
    sent = _send_traffic(gateway)
    total = sum(sent.values())
    deadline = time.monotonic() + 30
    seen = 0.0
    while time.monotonic() < deadline:
        seen = _value(prometheus, "sum(gateway_requests_total)")
        if seen >= total:
            break
        time.sleep(0.5)
    assert seen == total, f"prometheus saw {seen} requests, {total} were sent"
    for status, n in sent.items():
        assert _value(prometheus, f'sum(gateway_requests_total{{status="{status}"}})') == n
    # whichever worker answers a scrape, it reports the whole group's count, with no pid label
    pids = {json.loads(line)["pid"] for line in gateway.log().splitlines() if '"frugal.access"' in line}
    print(f"requests answered by {len(pids)} worker process(es)")
    for _ in range(8):
        scrape = httpx.get(f"{gateway.url}/metrics", headers={"authorization": f"Bearer {KEY}"}).text
        assert "pid=" not in scrape
        counted = sum(
            float(line.rsplit(" ", 1)[1])
            for line in scrape.splitlines()
            if line.startswith("gateway_requests_total{")
        )
        assert counted == total
    # a streamed answer's first byte and every request's latency were observed
    assert _value(prometheus, "sum(gateway_ttft_seconds_count)") == 12
    assert _value(prometheus, "sum(gateway_latency_seconds_count)") == total
    assert _value(prometheus, 'sum(gateway_tokens_total{direction="output"})') > 0
    assert _value(prometheus, "sum(gateway_cost_usd_total)") > 0


def test_every_dashboard_expression_is_valid_and_returns_data(
    gateway: GatewayProcess, prometheus: str
) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 15
    if _value(prometheus, "sum(gateway_requests_total)") == 0:
        _send_traffic(gateway)
    time.sleep(3)  # a few scrapes, so rates over the window have two samples
    empty = []
    for expr in exprs:
        concrete = expr.replace("$__rate_interval", "1m")
        if not _query(prometheus, concrete):
            empty.append(concrete)
    assert not empty, f"dashboard expressions without data: {empty}"
