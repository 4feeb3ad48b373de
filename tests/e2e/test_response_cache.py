"""The response cache through the running gateway: Redis (the machine's service) and memory,
each client style, streamed and not, bypass/refresh, what is never stored, Redis stopped and
restarted mid-run, and what the metrics say."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from tests.e2e.conftest import KEY, Env
from tests.e2e.gateway_process import GatewayProcess, running_gateway
from tests.support.redis_server import ThrowawayRedis, service_url


def _config(env: Env, cache: str) -> str:
    chat = env.fake("openai-chat").base_url
    anth = env.fake("anthropic-messages").base_url
    return f"""
auth:
  api_keys: ["{KEY}"]
  projects: [{{name: other-project, api_key: other-key}}]
providers:
  - {{name: fake-chat, style: openai-chat, base_url: "{chat}", api_key: x, models: ["chat/*"]}}
  - {{name: fake-anthropic, style: anthropic-messages, base_url: "{anth}", api_key: y, models: ["anthropic/*"]}}
cache: {cache}
reliability: {{circuit_breaker: {{enabled: false}}, retries: {{attempts: 1}}, loop_guard: {{enabled: false}}}}
"""


@pytest.fixture(scope="module", params=["redis", "memory"])
def gw(request: pytest.FixtureRequest, env: Env) -> Iterator[GatewayProcess]:
    if request.param == "redis":
        cache = f'{{backend: redis, url: "{service_url()}", ttl: 60s}}'
    else:
        cache = "{backend: memory, ttl: 60s}"
    with running_gateway(_config(env, cache), key=KEY) as g:
        yield g


def _unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:8]}"  # Redis outlives a test run: never reuse a prompt


def _post(
    gw: GatewayProcess, text: str, headers: dict[str, str] | None = None, key: str = KEY
) -> httpx.Response:
    body = {"model": "chat/ok", "messages": [{"role": "user", "content": text}]}
    h = {"authorization": f"Bearer {key}", **(headers or {})}
    return httpx.post(f"{gw.url}/v1/chat/completions", json=body, headers=h, timeout=30)


def _calls(env: Env, text: str) -> int:
    return sum(
        1
        for r in env.fake("openai-chat").requests
        if r.conversation and r.conversation.last_user_text == text
    )


def test_a_repeated_request_is_answered_from_the_cache_in_every_style(gw: GatewayProcess, env: Env) -> None:
    text = _unique("what is a monad")
    client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=KEY, max_retries=0)
    first = client.chat.completions.with_raw_response.create(
        model="chat/ok", max_tokens=100, messages=[{"role": "user", "content": text}]
    )
    assert first.headers["x-cache"] == "MISS"
    answer = first.parse().choices[0].message.content
    assert answer == f"Echo: {text}"
    time.sleep(0.2)  # the store is written after the answer went out

    again = client.chat.completions.with_raw_response.create(
        model="chat/ok", max_tokens=100, messages=[{"role": "user", "content": text}]
    )
    assert again.headers["x-cache"] == "HIT" and again.headers["x-provider"] == "cache"
    assert again.parse().choices[0].message.content == answer
    assert again.parse().id != first.parse().id  # a fresh id per answer

    # the same entry replayed as a stream to a streaming client
    stream = client.chat.completions.create(
        model="chat/ok", max_tokens=100, messages=[{"role": "user", "content": text}], stream=True
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert streamed == answer

    # and to an Anthropic-style client, streamed and not
    claude = anthropic.Anthropic(base_url=gw.url, api_key=KEY, max_retries=0)
    msg = claude.messages.with_raw_response.create(
        model="chat/ok", max_tokens=100, messages=[{"role": "user", "content": text}]
    )
    assert msg.headers["x-cache"] == "HIT"
    assert msg.parse().content[0].text == answer  # type: ignore[union-attr]
    with claude.messages.stream(
        model="chat/ok", max_tokens=100, messages=[{"role": "user", "content": text}]
    ) as s:
        assert s.get_final_text() == answer
    assert _calls(env, text) == 1  # the upstream answered once


def test_bypass_and_refresh(gw: GatewayProcess, env: Env) -> None:
    text = _unique("bypass me")
    assert _post(gw, text, {"x-gateway-cache": "bypass"}).headers["x-cache"] == "BYPASS"
    time.sleep(0.2)
    assert _post(gw, text).headers["x-cache"] == "MISS"  # bypass stored nothing
    time.sleep(0.2)
    assert _post(gw, text).headers["x-cache"] == "HIT"
    assert _post(gw, text, {"x-gateway-cache": "refresh"}).headers["x-cache"] == "MISS"
    assert _calls(env, text) == 3  # bypass, the first miss, the refresh


def test_only_complete_successful_answers_are_stored(gw: GatewayProcess, env: Env) -> None:
    cut = _unique("max-tokens please")
    assert _post(gw, cut).json()["choices"][0]["finish_reason"] == "length"
    time.sleep(0.2)
    assert _post(gw, cut).headers["x-cache"] == "MISS"  # a truncated answer is not reused

    failed = {"model": "chat/fail-500", "messages": [{"role": "user", "content": _unique("fail")}]}
    h = {"authorization": f"Bearer {KEY}"}
    assert httpx.post(f"{gw.url}/v1/chat/completions", json=failed, headers=h).status_code >= 500
    time.sleep(0.2)
    assert httpx.post(f"{gw.url}/v1/chat/completions", json=failed, headers=h).headers["x-cache"] == "MISS"


def test_entries_never_cross_projects(gw: GatewayProcess, env: Env) -> None:
    text = _unique("project scoped")
    assert _post(gw, text).headers["x-cache"] == "MISS"
    time.sleep(0.2)
    assert _post(gw, text, key="other-key").headers["x-cache"] == "MISS"
    assert _post(gw, text).headers["x-cache"] == "HIT"


def test_hits_show_in_metrics_and_savings(gw: GatewayProcess) -> None:
    text = _unique("count my hits")
    _post(gw, text)
    time.sleep(0.2)
    _post(gw, text)
    time.sleep(0.3)
    metrics = httpx.get(f"{gw.url}/metrics", headers={"authorization": f"Bearer {KEY}"}).text
    hits = [line for line in metrics.splitlines() if line.startswith("gateway_cache_hits_total ")]
    assert hits and float(hits[0].split()[1]) >= 1
    saved = [
        line
        for line in metrics.splitlines()
        if line.startswith('gateway_tokens_saved_total{optimizer="cache"}')
    ]
    assert saved and float(saved[0].split()[1]) > 0


def test_redis_stopped_and_restarted_the_cache_bypasses_then_resumes(env: Env) -> None:
    redis = ThrowawayRedis().start()
    try:
        with running_gateway(_config(env, f'{{backend: redis, url: "{redis.url}"}}'), key=KEY) as g:
            text = _unique("survive redis")
            assert _post(g, text).headers["x-cache"] == "MISS"
            time.sleep(0.2)
            assert _post(g, text).headers["x-cache"] == "HIT"
            redis.stop()
            during = [_post(g, text) for _ in range(3)]
            print(f"\nRedis down: {[r.status_code for r in during]} {[r.headers['x-cache'] for r in during]}")
            assert all(r.status_code == 200 and r.headers["x-cache"] == "BYPASS" for r in during)
            assert httpx.get(f"{g.url}/health").json()["status"] == "degraded"
            metrics = httpx.get(f"{g.url}/metrics", headers={"authorization": f"Bearer {KEY}"}).text
            assert 'gateway_degraded_total{component="cache"} 1.0' in metrics
            redis.start()  # empty again: nothing is kept on disk
            time.sleep(2.5)  # past the down-retry interval
            assert _post(g, text).headers["x-cache"] == "MISS"
            time.sleep(0.2)
            assert _post(g, text).headers["x-cache"] == "HIT"  # caching resumed
    finally:
        redis.close()
