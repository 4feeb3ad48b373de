"""A transparent recording proxy between a CLI and the gateway.

The CLI's base URL points at the tap; the tap records the exact request the CLI sent (headers,
body) and the status and headers the gateway answered, and relays the answer byte for byte
(compressed or streamed as it came). With the fake upstream's own recording on the other side,
a test compares what the client sent with what the provider received, and sees every status
code that reached the client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.e2e.fakes.base import FakeUpstream

_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass
class Exchange:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names, as the client sent them
    body: bytes
    json: Any
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""  # the first 64 KiB the gateway answered


class ClientTap(FakeUpstream):
    """Started with ``FakeServers.start``; ``target`` is the gateway's base URL."""

    def __init__(self, target: str) -> None:
        super().__init__(style="tap")
        self.target = target.rstrip("/")
        self.exchanges: list[Exchange] = []
        self._session: aiohttp.ClientSession | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/{tail:.*}", self.relay)]

    def clear(self) -> None:
        super().clear()
        self.exchanges.clear()

    async def relay(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        ex = Exchange(
            request.method,
            request.path,
            dict(request.query),
            {k.lower(): v for k, v in request.headers.items()},
            body,
            parsed,
        )
        self.exchanges.append(ex)
        if self._session is None:
            # auto_decompress off: relay compressed answers as they are
            self._session = aiohttp.ClientSession(
                auto_decompress=False, timeout=aiohttp.ClientTimeout(total=180)
            )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with self._session.request(
            request.method, self.target + request.path_qs, headers=headers, data=body, allow_redirects=False
        ) as upstream:
            ex.status = upstream.status
            ex.response_headers = {k.lower(): v for k, v in upstream.headers.items()}
            resp = web.StreamResponse(
                status=upstream.status,
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in _HOP},
            )
            await resp.prepare(request)
            async for chunk in upstream.content.iter_any():
                if len(ex.response_body) < 65536:
                    ex.response_body += chunk[: 65536 - len(ex.response_body)]
                await resp.write(chunk)
            await resp.write_eof()
            return resp

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"error": {"message": message}}

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
