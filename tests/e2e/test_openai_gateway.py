"""The OpenAI-compatible gateway end to end: the official ``openai`` SDK -> gateway -> fake
OpenAI Chat upstream, over real sockets. Fallback for every failure kind, all-fail answers, auth,
bad input, response headers, aliases, rate limits, disconnects."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import httpx
import openai
import pytest

from tests.e2e.conftest import KEY, LIMITED_KEY, RESTRICTED_KEY, Env

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {
            "type": "object",
            "properties": {"timezone": {"type": "string"}},
            "required": ["timezone"],
        },
    },
}


@pytest.fixture
def client(env: Env) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{env.url}/v1", api_key=KEY, max_retries=0, timeout=20)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# ----------------------------------------------------------------------------- basics


def test_completion_text_usage_and_headers(env: Env, client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="chat/ok", messages=user("hello gateway"))
    resp = raw.parse()
    assert resp.choices[0].message.content == "Echo: hello gateway"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None and resp.usage.prompt_tokens == 100
    assert (
        resp.usage.prompt_tokens_details is not None and resp.usage.prompt_tokens_details.cached_tokens == 30
    )
    h = raw.headers
    assert h["x-gateway"].startswith("frugal-gateway/")
    assert len(h["x-request-id"]) == 32
    assert h["x-provider"] == "fake-chat"
    assert h["x-model"] == "chat/ok"
    assert h["x-model-source"] == "provider-model"
    assert h["x-gateway-tier"] == "none"
    assert h["x-cache"] in ("MISS", "BYPASS")
    assert h["x-ratelimit-remaining"] == "unlimited"


def test_same_style_body_reaches_upstream_untouched_with_upstream_key(env: Env) -> None:
    body = {
        "model": "chat/ok",
        "messages": user("keep my fields"),
        "logit_bias": {"50256": -100},
        "some_vendor_field": {"nested": [1, 2, 3]},
        "temperature": 0.25,
    }
    r = httpx.post(f"{env.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {KEY}"})
    assert r.status_code == 200, r.text
    rec = env.fake("openai-chat").last
    assert rec.json == body  # unknown fields survive, nothing added for a non-streamed call
    assert rec.headers["authorization"] == "Bearer upstream-secret-chat"
    assert KEY not in json.dumps(rec.headers)


def test_stream_with_include_usage(env: Env, client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="chat/ok", messages=user("stream me"), stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: stream me"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


def test_stream_without_include_usage_hides_the_usage_chunk_but_gateway_counts(env: Env) -> None:
    with httpx.stream(
        "POST",
        f"{env.url}/v1/chat/completions",
        json={"model": "chat/ok", "messages": user("count me"), "stream": True},
        headers={"authorization": f"Bearer {KEY}"},
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    payloads = [json.loads(line[6:]) for line in lines[:-1]]
    assert all(p["choices"] for p in payloads), "a client that did not ask must not get the usage chunk"
    # the gateway asked the provider for usage anyway, to count tokens
    assert env.fake("openai-chat").last.json["stream_options"] == {"include_usage": True}


def test_tool_call_round_trip(env: Env, client: openai.OpenAI) -> None:
    first = client.chat.completions.create(
        model="chat/ok", messages=user("use the tool for Paris"), tools=[WEATHER]
    )
    msg = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert msg.tool_calls and msg.tool_calls[0].function.name == "get_weather"
    assert json.loads(msg.tool_calls[0].function.arguments) == {"city": "Paris"}
    call_id = msg.tool_calls[0].id
    history = [
        *user("use the tool for Paris"),
        msg.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call_id, "content": "sunny"},
    ]
    second = client.chat.completions.create(model="chat/ok", messages=history, tools=[WEATHER])  # type: ignore[arg-type]
    assert second.choices[0].message.content == "Tool results: get_weather=sunny"


def test_streamed_parallel_tool_calls_with_argument_deltas(env: Env, client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="chat/ok", messages=user("use the tool in parallel"), tools=[WEATHER, TIME], stream=True
    )
    calls: dict[int, dict[str, str]] = {}
    arg_deltas = 0
    finish = None
    for chunk in stream:
        if not chunk.choices:
            continue
        for tc in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
            if tc.id:
                entry["id"] = tc.id
            if tc.function and tc.function.name:
                entry["name"] = tc.function.name
            if tc.function and tc.function.arguments:
                entry["arguments"] += tc.function.arguments
                arg_deltas += 1
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_time"]
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}
    assert json.loads(calls[1]["arguments"]) == {"timezone": "x"}
    assert calls[0]["id"] != calls[1]["id"]
    assert arg_deltas >= 4  # arguments really arrived in pieces


def test_models_lists_routes_aliases_and_auto(env: Env, client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    for name in ("fallback-503", "claude-sonnet-4-5", "my-sonnet", "team-default", "auto"):
        assert name in ids


# ----------------------------------------------------------------------------- fallback


@pytest.mark.parametrize(
    ("route", "first_model"),
    [
        ("fallback-503", "chat/fail-503"),
        ("fallback-500", "chat/fail-500"),
        ("fallback-408", "chat/fail-408"),
        ("fallback-409", "chat/fail-409"),
        ("fallback-429", "chat/fail-429"),
        ("fallback-timeout", "chat/hang"),
        ("fallback-reset", "chat/reset"),
        ("fallback-malformed", "chat/malformed"),
        ("fallback-connect", None),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_fallback_to_next_step(
    env: Env, client: openai.OpenAI, route: str, first_model: str | None, stream: bool
) -> None:
    if stream:
        text = "".join(
            c.choices[0].delta.content or ""
            for c in client.chat.completions.create(model=route, messages=user("fall back"), stream=True)
            if c.choices
        )
    else:
        raw = client.chat.completions.with_raw_response.create(model=route, messages=user("fall back"))
        assert raw.headers["x-provider"] == "fake-chat"
        assert raw.headers["x-model"] == "chat/ok"
        text = raw.parse().choices[0].message.content or ""
    assert text == "Echo: fall back"
    models = [r.json["model"] for r in env.fake("openai-chat").requests]
    expected = ["chat/ok"] if first_model is None else [first_model, "chat/ok"]
    assert models == expected


def test_stream_error_before_first_byte_falls_back(env: Env, client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model="fallback-stream-error", messages=user("retry"), stream=True)
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: retry"


def test_fallback_across_provider_kinds_to_mock(env: Env, client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="fallback-to-mock", messages=user("hello"))
    assert raw.headers["x-provider"] == "mock"
    assert "Mock response" in (raw.parse().choices[0].message.content or "")


def test_all_steps_failing_gives_502_naming_each_step(env: Env, client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="all-fail", messages=user("doomed"))
    err = info.value
    assert err.status_code == 502
    message = err.body["message"]  # type: ignore[index]
    assert "fake-chat: HTTP 503" in message
    assert "dead: connection error" in message
    assert "fake-chat: HTTP 500" in message
    assert "upstream-secret" not in message and KEY not in message


def test_all_rate_limited_gives_429_with_shortest_retry_after(env: Env) -> None:
    r = httpx.post(
        f"{env.url}/v1/chat/completions",
        json={"model": "all-429", "messages": user("busy")},
        headers={"authorization": f"Bearer {KEY}"},
    )
    assert r.status_code == 429
    assert r.headers["retry-after"] == "3"
    assert r.json()["error"]["type"] == "rate_limit_error"


def test_all_timed_out_gives_504(env: Env, client: openai.OpenAI) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="all-timeout", messages=user("slow"))
    assert info.value.status_code == 504
    assert time.monotonic() - started < 5


def test_client_fault_is_returned_as_is_without_fallback(env: Env, client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="client-fault", messages=user("bad"))
    assert info.value.body["message"] == "scripted failure 400"  # type: ignore[index]
    assert [r.json["model"] for r in env.fake("openai-chat").requests] == ["chat/fail-400"]


def test_conflict_resolution_drops_tools_for_that_step(env: Env, client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="conflict-tools", messages=user("use the tool please"), tools=[WEATHER]
    )
    assert raw.headers["x-gateway-conflict-resolution"] == "dropped tools"
    assert raw.parse().choices[0].message.content == "Echo: use the tool please"
    first, second = env.fake("openai-chat").requests
    assert "tools" in first.json and "tools" not in second.json


def test_conflict_resolution_drops_response_format(env: Env, client: openai.OpenAI) -> None:
    resp = client.chat.completions.create(
        model="conflict-format", messages=user("json please"), response_format={"type": "json_object"}
    )
    assert resp.choices[0].message.content == "Echo: json please"
    assert "response_format" not in env.fake("openai-chat").last.json


def test_without_conflict_resolution_a_400_is_final(env: Env, client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="no-conflict-resolution", messages=user("use the tool"), tools=[WEATHER]
        )
    assert len(env.fake("openai-chat").requests) == 1


def test_hedge_starts_next_step_when_first_is_slow(env: Env, client: openai.OpenAI) -> None:
    started = time.monotonic()
    raw = client.chat.completions.with_raw_response.create(model="hedged", messages=user("race"))
    assert time.monotonic() - started < 2.0
    assert raw.headers["x-model"] == "chat/ok"


# ----------------------------------------------------------------------------- auth and input


def test_auth_required_and_each_header_form_accepted(env: Env) -> None:
    url = f"{env.url}/v1/chat/completions"
    body = {"model": "chat/ok", "messages": user("hi")}
    missing = httpx.post(url, json=body)
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "authentication_error"
    assert httpx.post(url, json=body, headers={"authorization": "Bearer wrong"}).status_code == 401
    assert httpx.post(url, json=body, headers={"authorization": f"Bearer {KEY}"}).status_code == 200
    assert httpx.post(url, json=body, headers={"x-api-key": KEY}).status_code == 200
    assert httpx.post(url, json=body, headers={"X-Api-Key": KEY}).status_code == 200
    assert httpx.get(f"{env.url}/live").json() == {"status": "ok"}
    assert len(env.fake("openai-chat").requests) == 3


def test_wrong_key_with_the_sdk_is_an_authentication_error(env: Env) -> None:
    bad = openai.OpenAI(base_url=f"{env.url}/v1", api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="chat/ok", messages=user("hi"))


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"[1,2]", "expected an object"),
        (json.dumps({"model": "chat/ok"}).encode(), "messages"),
        (json.dumps({"model": "chat/ok", "messages": "hi"}).encode(), "messages: expected an array"),
        (json.dumps({"model": "chat/ok", "messages": []}).encode(), "at least one message"),
        (
            json.dumps({"model": "chat/ok", "messages": [{"role": "wizard", "content": "x"}]}).encode(),
            "messages[0].role",
        ),
        (json.dumps({"messages": user("x")}).encode(), "model"),
        (
            json.dumps({"model": "chat/ok", "messages": user("x"), "temperature": "hot"}).encode(),
            "temperature",
        ),
    ],
)
def test_malformed_bodies_get_a_clear_400(env: Env, body: bytes, fragment: str) -> None:
    r = httpx.post(
        f"{env.url}/v1/chat/completions",
        content=body,
        headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert fragment in err["message"]
    assert err["type"] == "invalid_request_error"
    assert "Traceback" not in r.text


def test_unknown_model_lists_closest_names(env: Env, client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="claude-sonet-4-5", messages=user("x"))
    assert "Did you mean: claude-sonnet-4-5" in info.value.body["message"]  # type: ignore[index]


def test_body_over_limit_is_413(env: Env) -> None:
    big = "x" * (10 * 1024 * 1024 + 10)
    r = httpx.post(
        f"{env.url}/v1/chat/completions",
        json={"model": "chat/ok", "messages": user(big)},
        headers={"authorization": f"Bearer {KEY}"},
    )
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "request_too_large"


def test_unknown_endpoint_is_404_in_openai_envelope(env: Env) -> None:
    r = httpx.post(f"{env.url}/v1/nothing-here", json={}, headers={"authorization": f"Bearer {KEY}"})
    assert r.status_code == 404
    assert "unknown endpoint" in r.json()["error"]["message"]


# ----------------------------------------------------------------------------- names, projects


@pytest.mark.parametrize(
    ("model", "source", "tier", "upstream"),
    [
        ("my-sonnet", "alias", "cheap", "chat/ok"),
        ("team-default", "alias", "strong", "chat/ok-strong"),
        ("sonnet", "alias", "cheap", "chat/ok"),
        ("opus", "alias", "strong", "chat/ok-strong"),
        ("auto", "auto", "cheap", "chat/ok"),
        ("smartroute", "auto", "cheap", "chat/ok"),
        ("claude-opus-4-5", "request", "strong", "chat/ok-strong"),
    ],
)
def test_model_names_resolve(
    env: Env, client: openai.OpenAI, model: str, source: str, tier: str, upstream: str
) -> None:
    raw = client.chat.completions.with_raw_response.create(model=model, messages=user("which"))
    assert raw.headers["x-model-source"] == source
    assert raw.headers["x-gateway-tier"] == tier
    assert env.fake("openai-chat").last.json["model"] == upstream


def test_smart_routing_header_selects_the_auto_tier(env: Env, client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="claude-opus-4-5", messages=user("x"), extra_headers={"X-Gateway-Smart-Routing": "1"}
    )
    assert raw.headers["x-model-source"] == "auto"
    assert raw.headers["x-gateway-tier"] == "cheap"


def test_provider_body_field_pins_the_provider(env: Env, client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="some-unlisted-model", messages=user("x"), extra_body={"provider": "mock"}
    )
    assert raw.headers["x-provider"] == "mock"
    assert raw.headers["x-model"] == "some-unlisted-model"


def test_local_prefix_without_local_provider_is_a_clear_400(env: Env, client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="local:qwen", messages=user("x"))
    assert "LOCAL_LLM_BASE_URL" in info.value.body["message"]  # type: ignore[index]


def test_project_rate_limit(env: Env) -> None:
    limited = openai.OpenAI(base_url=f"{env.url}/v1", api_key=LIMITED_KEY, max_retries=0)
    first = limited.chat.completions.with_raw_response.create(model="chat/ok", messages=user("1"))
    second = limited.chat.completions.with_raw_response.create(model="chat/ok", messages=user("2"))
    assert int(first.headers["x-ratelimit-remaining"]) > int(second.headers["x-ratelimit-remaining"])
    with pytest.raises(openai.RateLimitError) as info:
        limited.chat.completions.create(model="chat/ok", messages=user("3"))
    assert int(info.value.response.headers["retry-after"]) >= 1


def test_project_allowed_models(env: Env) -> None:
    restricted = openai.OpenAI(base_url=f"{env.url}/v1", api_key=RESTRICTED_KEY, max_retries=0)
    assert restricted.chat.completions.create(model="chat/ok", messages=user("ok")).choices
    with pytest.raises(openai.BadRequestError) as info:
        restricted.chat.completions.create(model="claude-opus-4-5", messages=user("no"))
    assert "not allowed" in info.value.body["message"]  # type: ignore[index]


# ----------------------------------------------------------------------------- side endpoints


def test_simple_chat_endpoint(env: Env) -> None:
    r = httpx.post(
        f"{env.url}/chat",
        json={"message": "hi simple", "model": "chat/ok"},
        headers={"authorization": f"Bearer {KEY}"},
    )
    assert r.status_code == 200
    assert r.json() == {"response": "Echo: hi simple", "model": "chat/ok"}
    bad = httpx.post(f"{env.url}/chat", json={"nope": 1}, headers={"authorization": f"Bearer {KEY}"})
    assert bad.status_code == 400


def test_health_reports_providers(env: Env) -> None:
    r = httpx.get(f"{env.url}/health")
    assert r.status_code == 200
    body = r.json()
    assert body["providers"]["fake-chat"]["status"] == "ok"
    assert body["status"] == "ok"


# ----------------------------------------------------------------------------- disconnects


def test_client_disconnect_cancels_streaming_upstream(env: Env) -> None:
    with httpx.stream(
        "POST",
        f"{env.url}/v1/chat/completions",
        json={"model": "chat/slowstream", "messages": user("tick"), "stream": True},
        headers={"authorization": f"Bearer {KEY}"},
    ) as r:
        for line in r.iter_lines():
            if "tick 1" in line:
                break
    fake = env.fake("openai-chat")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and fake.last.status != 499:
        time.sleep(0.05)
    assert fake.last.status == 499, "the upstream stream should be cancelled when the client leaves"


def test_client_disconnect_cancels_waiting_upstream(env: Env) -> None:
    def call() -> None:
        with contextlib.suppress(httpx.TimeoutException):
            httpx.post(
                f"{env.url}/v1/chat/completions",
                json={"model": "chat/hang", "messages": user("wait")},
                headers={"authorization": f"Bearer {KEY}"},
                timeout=0.5,
            )

    t = threading.Thread(target=call)
    t.start()
    t.join()
    fake = env.fake("openai-chat")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and fake.last.status != 499:
        time.sleep(0.05)
    assert fake.last.status == 499


def test_raw_passthrough_forwards_any_endpoint_with_the_provider_key(env: Env) -> None:
    r = httpx.get(f"{env.url}/v1/raw/fake-chat/models?limit=2", headers={"authorization": f"Bearer {KEY}"})
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["id"] == "fake"
    assert r.headers["x-provider"] == "fake-chat"
    rec = env.fake("openai-chat").last
    assert rec.path == "/v1/models" and rec.query == {"limit": "2"}
    assert rec.headers["authorization"] == "Bearer upstream-secret-chat"
    posted = httpx.post(
        f"{env.url}/v1/raw/fake-chat/chat/completions",
        json={"model": "chat/ok", "messages": [{"role": "user", "content": "raw"}]},
        headers={"authorization": f"Bearer {KEY}"},
    )
    assert posted.json()["choices"][0]["message"]["content"] == "Echo: raw"
    assert httpx.get(f"{env.url}/v1/raw/fake-chat/models").status_code == 401
    missing = httpx.get(f"{env.url}/v1/raw/nobody/models", headers={"authorization": f"Bearer {KEY}"})
    assert missing.status_code == 404 and "fake-chat" in missing.json()["error"]["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_provider_errors_never_carry_the_provider_key(env: Env, stream: bool) -> None:
    r = httpx.post(
        f"{env.url}/v1/chat/completions",
        json={"model": "chat/echo-key", "messages": user("x"), "stream": stream},
        headers={"authorization": f"Bearer {KEY}"},
    )
    assert r.status_code == 401
    assert "upstream-secret" not in r.text
    assert "Incorrect API key provided: [redacted]" in r.json()["error"]["message"]


def test_gzip_request_bodies_are_accepted_and_bounded(env: Env) -> None:
    import gzip

    body = json.dumps({"model": "chat/ok", "messages": user("compressed")}).encode()
    headers = {
        "authorization": f"Bearer {KEY}",
        "content-type": "application/json",
        "content-encoding": "gzip",
    }
    ok = httpx.post(f"{env.url}/v1/chat/completions", content=gzip.compress(body), headers=headers)
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == "Echo: compressed"
    bomb = gzip.compress(
        json.dumps({"model": "chat/ok", "messages": user("x" * (11 * 1024 * 1024))}).encode()
    )
    assert len(bomb) < 100_000
    assert httpx.post(f"{env.url}/v1/chat/completions", content=bomb, headers=headers).status_code == 413
    garbage = httpx.post(f"{env.url}/v1/chat/completions", content=b"not gzip", headers=headers)
    assert garbage.status_code == 400 and "gzip" in garbage.json()["error"]["message"]
    brotli = httpx.post(
        f"{env.url}/v1/chat/completions", content=body, headers={**headers, "content-encoding": "br"}
    )
    assert brotli.status_code == 400 and "Content-Encoding" in brotli.json()["error"]["message"]


def test_hedge_works_for_streams_too(env: Env, client: openai.OpenAI) -> None:
    started = time.monotonic()
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model="hedged", messages=user("race"), stream=True)
        if c.choices
    )
    assert text == "Echo: race" and time.monotonic() - started < 2.0


def test_error_answers_carry_the_gateway_headers(env: Env) -> None:
    r = httpx.post(
        f"{env.url}/v1/chat/completions",
        json={"model": "client-fault", "messages": user("x")},
        headers={"authorization": f"Bearer {KEY}"},
    )
    assert r.status_code == 400
    for name in (
        "x-gateway",
        "x-request-id",
        "x-provider",
        "x-model",
        "x-model-source",
        "x-gateway-tier",
        "x-cache",
        "x-ratelimit-remaining",
    ):
        assert name in r.headers, name
    assert r.headers["x-provider"] == "fake-chat"
