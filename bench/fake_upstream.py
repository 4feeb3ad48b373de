"""A fast OpenAI-style upstream for benchmarks: fixed JSON answers and a 50-chunk SSE stream."""

from __future__ import annotations

import json
import sys

from aiohttp import web

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


STREAM = [_chunk({"role": "assistant", "content": ""})] + [_chunk({"content": f"tok{i} "}) for i in range(48)]
STREAM += [
    _chunk({}, "stop"),
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench-model","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":50,"total_tokens":62}}\n\n',
    b"data: [DONE]\n\n",
]


async def chat(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    if b'"stream":true' in body.replace(b" ", b""):
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        for piece in STREAM:
            await resp.write(piece)
        await resp.write_eof()
        return resp
    return web.Response(body=ANSWER, content_type="application/json")


def main() -> None:
    import uvloop

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
