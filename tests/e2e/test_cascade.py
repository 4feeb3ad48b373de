"""The cascade end to end: a fake cheap and strong tier behind the gateway, `auto` requests from
the official SDK, streamed and not; accepted answers never reach the strong tier, a failed check
calls it exactly once, and the outcome lands in the usage store with both calls' costs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.e2e.conftest import KEY, Env
from tests.e2e.gateway_process import GatewayProcess, running_gateway


@pytest.fixture(scope="module")
def gw(env: Env, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    chat = env.fake("openai-chat").base_url
    db: Path = tmp_path_factory.mktemp("cascade") / "usage.db"
    config = f"""
auth: {{api_keys: ["{KEY}"]}}
providers:
  - {{name: fake-chat, style: openai-chat, base_url: "{chat}", api_key: x, models: ["chat/*"]}}
routes:
  - {{name: cheap, steps: [{{provider: fake-chat, model: chat/ok-cheap}}]}}
  - {{name: strong, steps: [{{provider: fake-chat, model: chat/ok-strong}}]}}
tiers: {{cheap: cheap, strong: strong}}
routing: {{cascade: true, thresholds: {{cheap: 0.0, strong: 1.0}}}}
cache: {{backend: "off"}}
usage: {{database_url: "{db}", flush_interval: 100ms}}
pricing:
  chat/ok-cheap: {{input: 0.25, output: 1.25}}
  chat/ok-strong: {{input: 15.0, output: 75.0}}
"""
    with running_gateway(config, key=KEY) as g:
        yield g


def _calls(env: Env, model: str, text: str) -> int:
    return sum(
        1
        for r in env.fake("openai-chat").requests
        if r.json
        and r.json.get("model") == model
        and r.conversation
        and r.conversation.last_user_text == text
    )


@pytest.mark.parametrize("stream", [False, True])
def test_a_good_cheap_answer_is_accepted(gw: GatewayProcess, env: Env, stream: bool) -> None:
    text = f"what is the capital of France ({stream})"
    client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=KEY, max_retries=0)
    if stream:
        with client.chat.completions.with_streaming_response.create(
            model="auto", messages=[{"role": "user", "content": text}], stream=True
        ) as resp:
            headers = resp.headers
            answer = "".join(c.choices[0].delta.content or "" for c in resp.parse() if c.choices)
    else:
        raw = client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": text}]
        )
        headers, answer = raw.headers, raw.parse().choices[0].message.content or ""
    assert headers["x-gateway-cascade"] == "accepted" and headers["x-gateway-tier"] == "cheap"
    assert answer == f"Echo: {text}"
    assert _calls(env, "chat/ok-cheap", text) == 1 and _calls(env, "chat/ok-strong", text) == 0
    sent = [r for r in env.fake("openai-chat").requests if r.json.get("model") == "chat/ok-cheap"][-1]
    assert not sent.json.get("stream")  # the cheap tier answers non-streamed, whatever the client asked


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("write a python function that parses this log file", "too_short"),  # code asked, one line back
        ("say it all max-tokens", "truncated"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_a_failed_check_escalates_once_to_the_strong_tier(
    gw: GatewayProcess, env: Env, text: str, check: str, stream: bool
) -> None:
    text = f"{text} [{stream}]"
    body = {"model": "auto", "messages": [{"role": "user", "content": text}], "stream": stream}
    resp = httpx.post(f"{gw.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {KEY}"})
    assert resp.status_code == 200
    assert resp.headers["x-gateway-cascade"] == "escalated" and resp.headers["x-gateway-tier"] == "strong"
    assert resp.headers["x-model"] == "chat/ok-strong"
    assert _calls(env, "chat/ok-cheap", text) == 1 and _calls(env, "chat/ok-strong", text) == 1
    if stream:
        assert "data: [DONE]" in resp.text


def test_the_outcome_is_recorded_with_both_costs(gw: GatewayProcess) -> None:
    text = "implement a function to merge two sorted lists in this module"
    body = {"model": "auto", "messages": [{"role": "user", "content": text}]}
    h = {"authorization": f"Bearer {KEY}"}
    assert (
        httpx.post(f"{gw.url}/v1/chat/completions", json=body, headers=h).headers["x-gateway-cascade"]
        == "escalated"
    )
    deadline = time.monotonic() + 10
    models: dict[str, dict[str, float]] = {}
    while time.monotonic() < deadline:
        usage = httpx.get(f"{gw.url}/admin/usage", headers=h).json()
        models = {r["model"]: r for r in usage["by_model"]}
        if "chat/ok-strong" in models:
            break
        time.sleep(0.1)
    strong = models["chat/ok-strong"]
    # the strong answer's row carries the cheap call's cost too (100 input tokens a call)
    strong_only = (100 * 15.0) / 1e6
    assert strong["cost_usd"] > strong_only
    metrics = httpx.get(f"{gw.url}/metrics", headers=h).text
    assert 'gateway_cascade_total{outcome="escalated"}' in metrics
    assert 'gateway_cascade_total{outcome="accepted"}' in metrics
