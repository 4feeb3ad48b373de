"""Reliability under injected faults, on loopback, bounded in count and time (issue 17).

Each test prints the numbers it rests on (``pytest -s`` shows them): calls that reached a dead
provider, gaps between retries, seconds to fall back, tasks and memory after a storm.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import KEY, Env
from tests.e2e.gateway_process import GatewayProcess, running_gateway
from tests.support.redis_server import ThrowawayRedis, service_url

H = {"authorization": f"Bearer {KEY}"}


def _config(env: Env, extra: str = "", reliability: str = "") -> str:
    chat = env.fake("openai-chat").base_url
    return f"""
auth:
  api_keys: ["{KEY}"]
  projects:
    - {{name: limited-{uuid.uuid4().hex[:8]}, api_key: project-key, rpm: 10}}
providers:
  - {{name: fake-chat, style: openai-chat, base_url: "{chat}", api_key: upstream-secret, models: ["chat/*"]}}
  - {{name: drippy, style: openai-chat, base_url: "{chat}", api_key: upstream-secret, idle_timeout: 1s}}
routes:
  - name: storm
    steps: [{{provider: fake-chat, model: chat/switch-storm}}, {{provider: fake-chat, model: chat/ok-backup}}]
  - name: flaky
    steps: [{{provider: fake-chat, model: chat/switch-flaky}}]
  - name: hung
    steps: [{{provider: fake-chat, model: chat/hang, timeout: 0.5s}}, {{provider: fake-chat, model: chat/ok}}]
  - name: broken-stream
    steps: [{{provider: fake-chat, model: chat/cut}}]
  - name: drip
    steps: [{{provider: drippy, model: chat/drip}}]
  - name: dead
    steps: [{{provider: fake-chat, model: chat/fail-503}}]
  - name: slow
    steps: [{{provider: fake-chat, model: chat/slowstream}}]
reliability:
  circuit_breaker: {{failures: 3, window: 60s, cooldown: 3s}}
  retries: {{attempts: 3, max_backoff: 2s}}
  loop_guard: {{max_repeats: 3, window: 60s}}
{reliability}
cache: {{backend: "off"}}
{extra}
"""


@pytest.fixture(scope="module")
def gw(env: Env) -> Iterator[GatewayProcess]:
    with running_gateway(_config(env), key=KEY) as g:
        yield g


def chat(gw: GatewayProcess, model: str, text: str = "hi", *, key: str = KEY, **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": text}], **extra}
    return httpx.post(
        f"{gw.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}, timeout=30
    )


def upstream_calls(env: Env, model: str) -> list[Any]:
    return [r for r in env.fake("openai-chat").requests if r.json and r.json.get("model") == model]


def test_a_500_storm_opens_the_circuit_and_recovery_goes_through_half_open(
    gw: GatewayProcess, env: Env
) -> None:
    fake = env.fake("openai-chat")
    fake.switches["storm"] = "fail-500"
    answers = [chat(gw, "storm", f"storm {i}") for i in range(10)]
    assert all(a.status_code == 200 and a.headers["x-model"] == "chat/ok-backup" for a in answers)
    dead_calls = len(upstream_calls(env, "chat/switch-storm"))
    print(f"\n500 storm: 10 requests, {dead_calls} reached the failing model, all answered by the backup")
    assert dead_calls == 3  # failures: 3 opens the circuit (retries of one request count too)
    health = httpx.get(f"{gw.url}/health").json()
    assert health["providers"]["fake-chat"]["circuits"]["fake-chat:chat/switch-storm"] == "open"
    metrics = httpx.get(f"{gw.url}/metrics", headers=H).text
    assert 'gateway_circuit_state{provider="fake-chat"} 2.0' in metrics
    # the provider recovers; after the cooldown one probe goes through and closes the circuit
    del fake.switches["storm"]
    time.sleep(3.1)
    probe = chat(gw, "storm", "probe")
    assert probe.status_code == 200 and probe.headers["x-model"] == "chat/switch-storm"
    after = chat(gw, "storm", "after")
    assert after.headers["x-model"] == "chat/switch-storm"
    assert len(upstream_calls(env, "chat/switch-storm")) == dead_calls + 2
    assert 'gateway_circuit_state{provider="fake-chat"} 0.0' in httpx.get(f"{gw.url}/metrics", headers=H).text


def test_5xx_retried_with_growing_gaps_and_429_retry_after_honoured(gw: GatewayProcess, env: Env) -> None:
    fake = env.fake("openai-chat")
    fake.switches["flaky"] = "fail-503 x2"
    started = time.monotonic()
    r = chat(gw, "flaky", "retry me")
    assert r.status_code == 200
    calls = upstream_calls(env, "chat/switch-flaky")
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    print(
        f"\n503 twice then ok: {len(calls)} calls, gaps {[round(g, 3) for g in gaps]} s, {time.monotonic() - started:.2f} s"
    )
    assert len(calls) == 3
    assert all(g <= 1.1 for g in gaps)  # full jitter under 0.5 s, then under 1 s
    fake.requests.clear()
    fake.switches["flaky"] = "fail-429-1 x1"
    r = chat(gw, "flaky", "rate limited once")
    calls = upstream_calls(env, "chat/switch-flaky")
    gap = calls[1].at - calls[0].at
    print(f"429 with Retry-After: 1 -> retried after {gap:.2f} s")
    assert r.status_code == 200 and len(calls) == 2 and 0.95 <= gap < 1.6


def test_a_client_fault_is_never_retried(gw: GatewayProcess, env: Env) -> None:
    env.fake("openai-chat").switches["flaky"] = "fail-400 x5"
    r = chat(gw, "flaky", "bad")
    assert r.status_code == 400
    assert len(upstream_calls(env, "chat/switch-flaky")) == 1
    env.fake("openai-chat").switches.pop("flaky", None)


def test_a_hung_upstream_falls_back_within_its_timeout(gw: GatewayProcess, env: Env) -> None:
    started = time.monotonic()
    r = chat(gw, "hung", "are you there")
    took = time.monotonic() - started
    print(f"\nhung first step (timeout 0.5 s, 3 attempts): answered by the next step after {took:.2f} s")
    assert r.status_code == 200 and r.headers["x-model"] == "chat/ok"
    assert took < 0.5 * 3 + 2 * 2 + 1  # three timeouts plus at most two backoffs


def test_a_reset_mid_stream_ends_with_the_styles_error_event_and_the_gateway_stays_healthy(
    gw: GatewayProcess,
) -> None:
    body = {
        "model": "broken-stream",
        "stream": True,
        "messages": [{"role": "user", "content": "tell me more"}],
    }
    with httpx.stream("POST", f"{gw.url}/v1/chat/completions", json=body, headers=H, timeout=30) as r:
        assert r.status_code == 200
        text = "".join(r.iter_text())
    assert '"error"' in text and "data: [DONE]" not in text
    assert httpx.get(f"{gw.url}/live").status_code == 200
    assert chat(gw, "chat/ok", "still fine").status_code == 200


def test_a_slow_drip_stream_hits_the_idle_timeout(gw: GatewayProcess, env: Env) -> None:
    body = {"model": "drip", "stream": True, "messages": [{"role": "user", "content": "drip"}]}
    started = time.monotonic()
    with httpx.stream("POST", f"{gw.url}/v1/chat/completions", json=body, headers=H, timeout=30) as r:
        text = "".join(r.iter_text())
    took = time.monotonic() - started
    print(f"\nkeep-alive drip without events: ended after {took:.2f} s (idle_timeout 1 s)")
    assert "idle timeout" in text and took < 5
    time.sleep(0.3)
    assert env.fake("openai-chat").in_flight == 0  # the upstream request was closed


def test_the_loop_guard_stops_a_looping_client_but_not_a_retrying_one(gw: GatewayProcess) -> None:
    conversation = f"loop {uuid.uuid4().hex}"
    statuses = [chat(gw, "chat/ok", conversation).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 400, 400]
    refused = chat(gw, "chat/ok", conversation)
    assert "loop guard" in refused.json()["error"]["message"]
    assert refused.headers["x-should-retry"] == "false"
    # a client retrying a request that failed is not looping
    failing = [chat(gw, "dead", f"retry {conversation}").status_code for _ in range(6)]
    assert 400 not in failing
    # new content is a new conversation
    assert chat(gw, "chat/ok", conversation + " and more").status_code == 200
    metrics = httpx.get(f"{gw.url}/metrics", headers=H).text
    assert "gateway_loop_guard_total 3.0" in metrics


def test_many_streaming_clients_with_random_disconnects_leak_nothing(gw: GatewayProcess, env: Env) -> None:
    """Two storms of 200 concurrent streaming clients, half of them leaving mid-stream: every
    upstream request ends, the gateway's tasks go back to their count before, and the second
    storm does not grow memory past the first (a leak would grow it every time)."""

    def runtime() -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{gw.url}/admin/runtime", headers=H).json()
        return body

    async def one(client: httpx.AsyncClient, i: int) -> str:
        body = {"model": "slow", "stream": True, "messages": [{"role": "user", "content": f"client {i}"}]}
        leave_after = random.uniform(0.05, 0.6) if i % 2 else None
        try:
            async with client.stream("POST", "/v1/chat/completions", json=body, headers=H) as r:
                started = time.monotonic()
                async for _ in r.aiter_bytes():
                    if leave_after is not None and time.monotonic() - started > leave_after:
                        return "left"
            return "read"
        except httpx.HTTPError:
            return "error"

    async def storm() -> list[str]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=gw.url, timeout=60, limits=limits) as client:
            return await asyncio.gather(*(one(client, i) for i in range(200)))

    def settle() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and env.fake("openai-chat").in_flight:
            time.sleep(0.2)
        time.sleep(0.5)

    for _ in range(3):
        chat(gw, "chat/ok", "warm up")
    before = runtime()
    random.seed(17)
    rounds = []
    for _ in range(2):
        outcomes = asyncio.run(asyncio.wait_for(storm(), 90))
        settle()
        rounds.append(({k: outcomes.count(k) for k in ("read", "left", "error")}, runtime()))
    (first_counts, first), (second_counts, second) = rounds
    print(
        f"\n2 x 200 streaming clients {first_counts} / {second_counts}: upstream in flight afterwards "
        f"{env.fake('openai-chat').in_flight}; gateway tasks {before['tasks']} -> {first['tasks']} -> "
        f"{second['tasks']}; RSS {before['rss_bytes'] / 1e6:.1f} -> {first['rss_bytes'] / 1e6:.1f} -> "
        f"{second['rss_bytes'] / 1e6:.1f} MB"
    )
    assert first_counts["error"] == second_counts["error"] == 0
    assert env.fake("openai-chat").in_flight == 0  # every upstream request ended (left ones cancelled)
    assert second["tasks"] <= before["tasks"] + 2
    assert second["rss_bytes"] <= first["rss_bytes"] * 1.10


# ---------------------------------------------------------------------------- Redis and replicas


def test_redis_stopped_and_restarted_mid_run(env: Env) -> None:
    redis = ThrowawayRedis().start()
    try:
        config = _config(env, reliability=f"  redis_url: {redis.url}\n")
        with running_gateway(config, key=KEY) as g:
            assert chat(g, "chat/ok", "before").status_code == 200
            assert httpx.get(f"{g.url}/health").json()["redis"] == "ok"
            redis.stop()
            answers = [chat(g, "chat/ok", f"during {i}").status_code for i in range(5)]
            health = httpx.get(f"{g.url}/health")
            print(f"\nRedis down: answers {answers}, /health {health.status_code} {health.json()['status']}")
            assert answers == [200] * 5
            assert health.status_code == 200 and health.json()["status"] == "degraded"
            metrics = httpx.get(f"{g.url}/metrics", headers=H).text
            assert 'gateway_degraded_total{component="rate_limit"} 1.0' in metrics or (
                'gateway_degraded_total{component="loop_guard"} 1.0' in metrics
            )
            redis.start()
            time.sleep(2.5)  # past the down-retry interval
            assert chat(g, "chat/ok", "after").status_code == 200
            assert httpx.get(f"{g.url}/health").json()["redis"] == "ok"
    finally:
        redis.close()


def _rpm_config(env: Env, project: str, rpm: int) -> str:
    chat_url = env.fake("openai-chat").base_url
    return f"""
auth:
  api_keys: ["{KEY}"]
  projects: [{{name: {project}, api_key: shared-project-key, rpm: {rpm}}}]
providers:
  - {{name: fake-chat, style: openai-chat, base_url: "{chat_url}", api_key: x, models: ["chat/*"]}}
reliability: {{redis_url: "{service_url()}", loop_guard: {{enabled: false}}}}
cache: {{backend: "off"}}
"""


@pytest.mark.parametrize("shape", ["two processes", "two workers"])
def test_a_per_project_rpm_stays_exact_across_processes(env: Env, shape: str) -> None:
    project = f"shared-{uuid.uuid4().hex[:10]}"
    config = _rpm_config(env, project, 12)
    if shape == "two workers":
        with running_gateway(config, key=KEY, workers=2) as g:
            statuses = [chat(g, "chat/ok", f"n {i}", key="shared-project-key").status_code for i in range(20)]
    else:
        with running_gateway(config, key=KEY) as a, running_gateway(config, key=KEY) as b:
            statuses = [
                chat(a if i % 2 else b, "chat/ok", f"n {i}", key="shared-project-key").status_code
                for i in range(20)
            ]
    print(f"\n{shape}, rpm 12: {statuses.count(200)} admitted, {statuses.count(429)} refused of 20")
    assert statuses.count(200) == 12 and statuses.count(429) == 8
