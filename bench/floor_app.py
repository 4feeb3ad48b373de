"""The floor: a bare Litestar passthrough forwarding with raw aiohttp, the fastest client measured.

What the gateway is compared with: the least a Python proxy on this stack can do per request.
Run with uvicorn (uvloop, httptools); the upstream URL comes from $BENCH_UPSTREAM.
"""

from __future__ import annotations

import os

import aiohttp
from litestar import Litestar, Request, Response, post
from litestar.response import Stream

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:9101") + "/v1/chat/completions"
_state: dict[str, aiohttp.ClientSession] = {}


async def _startup() -> None:
    _state["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))


async def _shutdown() -> None:
    await _state["session"].close()


@post("/v1/chat/completions", status_code=200)
async def chat(request: Request[object, object, object]) -> Response[bytes] | Stream:
    body = await request.body()
    resp = await _state["session"].post(UPSTREAM, data=body, headers={"content-type": "application/json"})
    if resp.headers.get("content-type", "").startswith("text/event-stream"):

        async def relay():  # type: ignore[no-untyped-def]
            try:
                async for chunk in resp.content.iter_any():
                    yield chunk
            finally:
                resp.release()

        return Stream(relay(), media_type="text/event-stream")
    data = await resp.read()
    resp.release()
    return Response(content=data, status_code=resp.status, media_type="application/json")


app = Litestar(
    [chat], on_startup=[_startup], on_shutdown=[_shutdown], openapi_config=None, logging_config=None
)
