"""HttpProvider with httpx.MockTransport: request building, passthrough, error classification."""

from __future__ import annotations

import json

import httpx
import pytest

from app.canonical import Message, Request, StreamError, TextPart
from app.config import ProviderConfig
from app.errors import UpstreamConnect, UpstreamProtocol, UpstreamStatus, UpstreamTimeout
from app.providers.base import ClientBody, UpstreamCall
from app.providers.http_provider import HttpProvider
from app.providers.transport import HttpxExchange
from app.streaming import StreamAssembler

OK = {
    "id": "x",
    "model": "up",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1},
}


def provider(handler: httpx.MockTransport, **kw: object) -> HttpProvider:
    p = HttpProvider(
        ProviderConfig(name="p", style="openai-chat", base_url="http://up.test/v1", api_key="sk-up", **kw)
    )  # type: ignore[arg-type]
    p.transport = HttpxExchange(handler)
    return p


def call(stream: bool = False, body: dict[str, object] | None = None, **kw: object) -> UpstreamCall:
    req = Request(
        model="alias",
        messages=[Message("user", [TextPart("hello")])],
        style="openai-chat",
        stream=stream,
        max_tokens=5,
    )
    client = ClientBody("openai-chat", body, json.dumps(body).encode()) if body is not None else None
    return UpstreamCall(req, "up", client_body=client, **kw)  # type: ignore[arg-type]


async def test_builds_request_with_provider_key_and_encoded_body() -> None:
    seen: list[httpx.Request] = []

    def handle(r: httpx.Request) -> httpx.Response:
        seen.append(r)
        return httpx.Response(200, json=OK)

    p = provider(httpx.MockTransport(handle))
    done = await p.complete(call(headers={"authorization": "Bearer gateway-key", "anthropic-beta": "x"}))
    assert done.response.text() == "hi" and not done.passthrough
    r = seen[0]
    assert str(r.url) == "http://up.test/v1/chat/completions"
    assert r.headers["authorization"] == "Bearer sk-up"  # never the client's key
    assert "anthropic-beta" not in r.headers  # not a header this style forwards
    body = json.loads(r.content)
    assert body["model"] == "up" and body["max_tokens"] == 5


async def test_openai_host_gets_max_completion_tokens() -> None:
    seen: list[bytes] = []

    def handle(r: httpx.Request) -> httpx.Response:
        seen.append(r.content)
        return httpx.Response(200, json=OK)

    p = HttpProvider(
        ProviderConfig(name="o", style="openai-chat", base_url="https://api.openai.com/v1", api_key="k")
    )
    p.transport = HttpxExchange(httpx.MockTransport(handle))
    await p.complete(call())
    body = json.loads(seen[0])
    assert body["max_completion_tokens"] == 5 and "max_tokens" not in body


async def test_same_style_passthrough_sends_client_bytes_and_returns_provider_bytes() -> None:
    raw_answer = json.dumps({**OK, "vendor_extra": {"kept": True}}).encode()
    seen: list[bytes] = []

    def handle(r: httpx.Request) -> httpx.Response:
        seen.append(r.content)
        return httpx.Response(200, content=raw_answer)

    body = {"model": "up", "messages": [{"role": "user", "content": "hello"}], "odd_field": [1]}
    done = await provider(httpx.MockTransport(handle)).complete(call(body=body))
    assert seen[0] == json.dumps(body).encode()  # untouched when the model already matches
    assert done.passthrough and done.raw == raw_answer


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [(429, {"retry-after": "12"}, 12.0), (503, {"retry-after-ms": "1500"}, 1.5), (500, {}, None)],
)
async def test_status_errors_keep_status_message_and_retry_after(
    status: int, headers: dict[str, str], retry_after: float | None
) -> None:
    def handle(r: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, json={"error": {"message": "nope", "type": "x"}})

    with pytest.raises(UpstreamStatus) as info:
        await provider(httpx.MockTransport(handle)).complete(call())
    err = info.value
    assert (err.upstream_status, err.message, err.retry_after, err.provider) == (
        status,
        "nope",
        retry_after,
        "p",
    )
    assert not err.client_fault


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("refused"), UpstreamConnect),
        (httpx.ReadTimeout("slow"), UpstreamTimeout),
        (httpx.RemoteProtocolError("eof"), UpstreamConnect),
    ],
)
async def test_transport_errors_are_classified(exc: Exception, kind: type) -> None:
    def handle(r: httpx.Request) -> httpx.Response:
        raise exc

    with pytest.raises(kind):
        await provider(httpx.MockTransport(handle)).complete(call())


async def test_garbage_answer_is_a_protocol_error() -> None:
    p = provider(httpx.MockTransport(lambda r: httpx.Response(200, content=b"<html>")))
    with pytest.raises(UpstreamProtocol) as info:
        await p.complete(call())
    assert info.value.provider == "p"


async def test_stream_error_event_before_first_byte_raises_for_fallback() -> None:
    sse = b'data: {"error": {"message": "overloaded", "code": 529}}\n\n'
    p = provider(
        httpx.MockTransport(
            lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse)
        )
    )
    with pytest.raises(UpstreamStatus):
        await p.open_stream(call(stream=True))


async def test_stream_answered_whole_is_replayed_as_events() -> None:
    p = provider(httpx.MockTransport(lambda r: httpx.Response(200, json=OK)))
    stream = await p.open_stream(call(stream=True))
    asm = StreamAssembler()
    async for chunk in stream:
        for ev in chunk.events:
            asm.add(ev)
    assert asm.finished and asm.response().text() == "hi"


async def test_stream_broken_midway_ends_with_error_event() -> None:
    async def body():  # type: ignore[no-untyped-def]
        yield b'data: {"id":"s","model":"m","choices":[{"index":0,"delta":{"content":"par"}}]}\n\n'
        raise httpx.ReadError("connection reset")

    p = provider(
        httpx.MockTransport(
            lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())
        )
    )
    stream = await p.open_stream(call(stream=True))
    events = [ev async for chunk in stream for ev in chunk.events]
    assert isinstance(events[-1], StreamError) and "broke" in events[-1].message
