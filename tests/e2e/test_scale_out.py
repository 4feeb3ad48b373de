"""Two gateway replicas on one Redis and one PostgreSQL behave as one gateway: a per-project rate
limit stays exact across them, a cache entry made on one is a hit on the other, usage from both
lands in one store and `/admin/usage` on either agrees."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.e2e.conftest import KEY, Env
from tests.e2e.gateway_process import GatewayProcess, running_gateway
from tests.support.postgres_server import fresh_database
from tests.support.redis_server import service_url

PROJECT_KEY = "replica-project-key"


@pytest.fixture(scope="module")
def replicas(env: Env) -> Iterator[list[GatewayProcess]]:
    chat = env.fake("openai-chat").base_url
    project = f"shared-{uuid.uuid4().hex[:8]}"  # the rate-limit window lives in Redis across runs
    with fresh_database() as db, ExitStack() as stack:
        config = f"""
auth:
  api_keys: ["{KEY}"]
  projects: [{{name: {project}, api_key: {PROJECT_KEY}, rpm: 12}}]
providers:
  - {{name: fake-chat, style: openai-chat, base_url: "{chat}", api_key: x, models: ["chat/*"]}}
cache: {{backend: redis, url: "{service_url()}", ttl: 120s}}
usage: {{database_url: "{db}", flush_interval: 100ms}}
reliability: {{loop_guard: {{enabled: false}}}}
"""
        yield [stack.enter_context(running_gateway(config, key=KEY)) for _ in range(2)]


def _chat(gw: GatewayProcess, text: str, key: str = KEY) -> httpx.Response:
    body = {"model": "chat/ok", "messages": [{"role": "user", "content": text}]}
    return httpx.post(f"{gw.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"})


def test_a_cache_entry_made_on_one_replica_is_a_hit_on_the_other(replicas: list[GatewayProcess]) -> None:
    a, b = replicas
    text = f"shared cache {uuid.uuid4().hex}"
    assert _chat(a, text).headers["x-cache"] == "MISS"
    time.sleep(0.3)
    hit = _chat(b, text)
    assert (
        hit.headers["x-cache"] == "HIT" and hit.json()["choices"][0]["message"]["content"] == f"Echo: {text}"
    )


def test_a_project_rate_limit_is_exact_across_replicas(replicas: list[GatewayProcess]) -> None:
    statuses = [
        _chat(replicas[i % 2], f"limited {uuid.uuid4().hex}", PROJECT_KEY).status_code for i in range(20)
    ]
    print(f"\ntwo replicas, rpm 12: {statuses.count(200)} admitted, {statuses.count(429)} refused of 20")
    assert statuses.count(200) == 12 and statuses.count(429) == 8


def test_usage_from_both_lands_in_one_store_and_both_agree(replicas: list[GatewayProcess]) -> None:
    a, b = replicas
    h = {"authorization": f"Bearer {KEY}"}
    before = httpx.get(f"{a.url}/admin/usage", headers=h).json()["totals"]["requests"]
    for i in range(6):
        assert _chat(replicas[i % 2], f"usage {uuid.uuid4().hex}").status_code == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        on_a = httpx.get(f"{a.url}/admin/usage", headers=h).json()
        on_b = httpx.get(f"{b.url}/admin/usage", headers=h).json()
        if on_a["totals"]["requests"] >= before + 6 and on_a["totals"] == on_b["totals"]:
            break
        time.sleep(0.1)
    assert on_a["totals"]["requests"] >= before + 6
    assert on_a["totals"] == on_b["totals"] and on_a["by_project"] == on_b["by_project"]
