"""The usage store through the running gateway: requests sent with the official SDK land in
PostgreSQL (and SQLite), ``/admin/usage`` agrees with what was sent to the token and the
hand-computed cent, project keys see only their project, no key is a 401, and a secret never
shows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.conftest import KEY, Env
from tests.e2e.gateway_process import GatewayProcess, running_gateway
from tests.support.postgres_server import ThrowawayPostgres, fresh_database

PROJECT_KEY = "team-a-secret-key-0123456789"
PRICE = {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75}  # USD per million


def _config(env: Env, database_url: str) -> str:
    chat = env.fake("openai-chat").base_url
    return f"""
auth:
  api_keys: ["{KEY}"]
  projects: [{{name: team-a, api_key: {PROJECT_KEY}}}]
providers:
  - {{name: fake-chat, style: openai-chat, base_url: "{chat}", api_key: upstream-secret-abc, models: ["chat/*"]}}
usage: {{database_url: "{database_url}", flush_interval: 100ms}}
cache: {{backend: "off"}}
pricing:
  chat/ok: {{input: {PRICE["input"]}, output: {PRICE["output"]}, cache_read: {PRICE["cache_read"]}, cache_write: {PRICE["cache_write"]}}}
"""


def _usage(gw: GatewayProcess, key: str | None = KEY, **params: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.get(f"{gw.url}/admin/usage", params=params, headers=headers, timeout=10)


def _wait_for(gw: GatewayProcess, requests: int) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = _usage(gw).json()
        if body["totals"]["requests"] >= requests:
            return body
        time.sleep(0.1)
    raise AssertionError(f"usage rows did not arrive: {body}")


def _expected_cost(text: str) -> float:
    # the fake reports 100 prompt tokens of which 30 cache reads, output 1 + len(answer) // 4
    output = 1 + len(f"Echo: {text}") // 4
    return (70 * PRICE["input"] + 30 * PRICE["cache_read"] + output * PRICE["output"]) / 1e6


@pytest.fixture(scope="module")
def pg_gateway(env: Env) -> Iterator[GatewayProcess]:
    with fresh_database() as url, running_gateway(_config(env, url), key=KEY) as gw:
        yield gw


def test_usage_rows_land_and_admin_usage_agrees(pg_gateway: GatewayProcess) -> None:
    gw = pg_gateway
    admin = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=KEY, max_retries=0)
    team = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=PROJECT_KEY, max_retries=0)
    texts = ["one", "two two", "three three three"]
    for t in texts:
        admin.chat.completions.create(model="chat/ok", messages=[{"role": "user", "content": t}])
    stream = team.chat.completions.create(
        model="chat/ok",
        messages=[{"role": "user", "content": "streamed"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Echo: streamed"
    with pytest.raises(openai.BadRequestError):
        admin.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    body = _wait_for(gw, 5)
    totals = body["totals"]
    assert totals["requests"] == 5 and totals["errors"] == 1
    assert totals["input_tokens"] == 4 * 100 and totals["cache_read_tokens"] == 4 * 30
    cost = sum(_expected_cost(t) for t in [*texts, "streamed"])
    assert totals["cost_usd"] == pytest.approx(cost, rel=1e-9)
    by_project = {r["project"]: r for r in body["by_project"]}
    assert by_project["team-a"]["requests"] == 1 and by_project["team-a"]["cost_usd"] == pytest.approx(
        _expected_cost("streamed")
    )
    assert {r["provider"] for r in body["by_provider"]} == {"fake-chat", "none"}
    assert body["by_day"][0]["day"] == time.strftime("%Y-%m-%d", time.gmtime())
    health = httpx.get(f"{gw.url}/health").json()
    assert health["database"] == "ok"

    # a project key reads only its own project, and may not ask for another
    own = _usage(gw, PROJECT_KEY).json()
    assert own["project"] == "team-a" and own["totals"]["requests"] == 1
    assert [r["project"] for r in own["by_project"]] == ["team-a"]
    assert _usage(gw, PROJECT_KEY, project="default").status_code == 403
    assert _usage(gw, None).status_code == 401
    # filters in ISO 8601; a bad one is a 400 that says what is expected
    assert _usage(gw, since="2000-01-01", until="2000-01-02").json()["totals"]["requests"] == 0
    bad = _usage(gw, since="yesterday")
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["error"]["message"]
    # nothing secret in the answer
    raw = _usage(gw).text
    for secret in (KEY, PROJECT_KEY, "upstream-secret-abc"):
        assert secret not in raw


def test_sqlite_rows_survive_a_restart_and_two_workers_write_one_file(env: Env, tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    for round_, workers in ((1, 1), (2, 2)):
        with running_gateway(_config(env, str(db)), key=KEY, workers=workers) as gw:
            client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=KEY, max_retries=0)
            for i in range(6):
                client.chat.completions.create(
                    model="chat/ok", messages=[{"role": "user", "content": f"r{i}"}]
                )
            body = _wait_for(gw, 6 * round_)
            assert body["totals"]["requests"] == 6 * round_  # the first run's rows are still there


def test_postgres_stopped_and_restarted_mid_traffic_requests_succeed_and_rows_arrive(env: Env) -> None:
    server = ThrowawayPostgres().start()
    try:
        with running_gateway(_config(env, server.url), key=KEY) as gw:
            client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=KEY, max_retries=0)

            def send(n: int, tag: str) -> list[float]:
                took = []
                for i in range(n):
                    t0 = time.perf_counter()
                    client.chat.completions.create(
                        model="chat/ok", messages=[{"role": "user", "content": f"{tag}{i}"}]
                    )
                    took.append(time.perf_counter() - t0)
                return took

            send(5, "before")
            _wait_for(gw, 5)
            server.stop()
            during = send(10, "during")
            # the store's state shows once the writer has tried its next batch (flush_interval)
            deadline = time.monotonic() + 10
            while (health := httpx.get(f"{gw.url}/health").json())["status"] == "ok" and time.monotonic() < deadline:
                time.sleep(0.1)
            assert health["status"] == "degraded" and health["database"].startswith("degraded")
            assert _usage(gw).status_code == 503  # the store cannot answer, the proxy still does
            server.start()
            body = _wait_for(gw, 15)
            print(f"\nPostgreSQL down: 10 requests answered, slowest {max(during) * 1000:.0f} ms; rows after restart: "
                  f"{body['totals']['requests']}")  # fmt: skip
            assert body["totals"]["requests"] == 15 and max(during) < 1.0
            assert httpx.get(f"{gw.url}/health").json()["database"] == "ok"
    finally:
        server.close()
