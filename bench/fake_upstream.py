"""A fast upstream for benchmarks, speaking two wire formats, each streamed (SSE) and not:

* OpenAI Chat Completions, ``POST /v1/chat/completions`` (also ``/chat/completions``): a fixed
  answer, or a 50-chunk stream ending with a usage chunk and ``data: [DONE]``;
* Anthropic Messages, ``POST /v1/messages``: a fixed answer, or the exact event sequence
  (``message_start``, ``content_block_start``, ``ping``, 48 ``content_block_delta``,
  ``content_block_stop``, ``message_delta``, ``message_stop``), each as ``event:``/``data:``.

``GET /stats`` returns how many calls each format answered (a cache hit must not reach here).
Answers are precomputed bytes: the upstream's own cost is what "direct" measures and is
subtracted from every figure.

Usage: ``python bench/fake_upstream.py PORT``.
"""

from __future__ import annotations

import json
import re
import sys

from aiohttp import web

CHUNKS = 48  # content deltas per stream (plus the framing events)
_STREAM_FLAG = re.compile(rb'"stream"\s*:\s*true')

ANSWER = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hello from the bench"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }
).encode()


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    payload = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "bench-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


STREAM = [_chunk({"role": "assistant", "content": ""})] + [_chunk({"content": f"tok{i} "}) for i in range(CHUNKS)]
STREAM += [
    _chunk({}, "stop"),
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-model","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":50,"total_tokens":62}}\n\n',
    b"data: [DONE]\n\n",
]

ANTHROPIC_ANSWER = json.dumps(
    {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-bench",
        "content": [{"type": "text", "text": "hello from the bench"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 5},
    }
).encode()


def _event(name: str, data: dict[str, object]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


ANTHROPIC_STREAM = [
    _event(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_bench",
                "type": "message",
                "role": "assistant",
                "model": "claude-bench",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 12, "output_tokens": 1},
            },
        },
    ),
    _event("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    _event("ping", {"type": "ping"}),
    *[
        _event(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"tok{i} "}},
        )
        for i in range(CHUNKS)
    ],
    _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
    _event(
        "message_delta",
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 50}},
    ),
    _event("message_stop", {"type": "message_stop"}),
]

_counts = {"openai": 0, "anthropic": 0}


async def _send(request: web.Request, pieces: list[bytes]) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
    await resp.prepare(request)
    for piece in pieces:
        await resp.write(piece)
    await resp.write_eof()
    return resp


async def _answer(request: web.Request, style: str, stream: list[bytes], answer: bytes) -> web.StreamResponse:
    body = await request.read()
    _counts[style] += 1
    if _STREAM_FLAG.search(body):
        return await _send(request, stream)
    return web.Response(body=answer, content_type="application/json")


async def chat(request: web.Request) -> web.StreamResponse:
    return await _answer(request, "openai", STREAM, ANSWER)


async def messages(request: web.Request) -> web.StreamResponse:
    return await _answer(request, "anthropic", ANTHROPIC_STREAM, ANTHROPIC_ANSWER)


async def stats(request: web.Request) -> web.Response:
    return web.json_response(_counts)


def main() -> None:
    import uvloop

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/chat/completions", chat)
    app.router.add_post("/v1/messages", messages)
    app.router.add_get("/stats", stats)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
