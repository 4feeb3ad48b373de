"""An ``httpx`` transport backed by aiohttp's connection pool.

Provider clients keep httpx's API (``httpx.Request``/``httpx.Response`` and its exception tree)
while the bytes move through aiohttp, which measured several times faster on this kind of
machine (client-only loop, 16 concurrent requests on loopback: httpx's default transport ~800
req/s, the ``httpx-aiohttp`` package ~2,800, this transport called directly ~5,200, raw aiohttp
~7,400; see ``bench/overhead.py``). aiohttp's errors are mapped onto httpx's so callers catch one
hierarchy; the response body streams straight from the socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import httpx


class _AiohttpBody(httpx.AsyncByteStream):
    __slots__ = ("_request", "_resp")

    def __init__(self, resp: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._resp = resp
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._resp.content.iter_any():
                yield chunk
        except TimeoutError as exc:
            raise httpx.ReadTimeout("no data from upstream in time", request=self._request) from exc
        except aiohttp.ClientPayloadError as exc:
            raise httpx.RemoteProtocolError(f"upstream body broken: {exc}", request=self._request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(f"upstream connection lost: {exc}", request=self._request) from exc

    async def aclose(self) -> None:
        # A half-read connection cannot be reused: close it; a fully read one goes back to the pool.
        if self._resp.content.at_eof():
            self._resp.release()
        else:
            self._resp.close()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One pooled aiohttp session, opened lazily inside the running event loop."""

    def __init__(self, *, max_connections: int = 256, keepalive_expiry: float = 60.0) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                limit_per_host=0,
                ttl_dns_cache=300,
                keepalive_timeout=self._keepalive_expiry,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,  # httpx decodes, so Content-Encoding stays truthful
                skip_auto_headers=("User-Agent",),
                timeout=aiohttp.ClientTimeout(total=None),
            )
            self._session = session
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        t = request.extensions.get("timeout") or {}
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=t.get("pool"),
            sock_connect=t.get("connect"),
            sock_read=t.get("read"),
        )
        body = request.stream if isinstance(request.stream, httpx.ByteStream) else None
        try:
            resp = await self._get_session().request(
                request.method,
                str(request.url),
                data=b"".join(body) if body is not None else request.content,
                # raw latin-1 decoding: httpx's Headers.multi_items() re-detects the
                # encoding on every call
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
                timeout=timeout,
                allow_redirects=False,
            )
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(f"connect timed out: {exc}", request=request) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout("no answer from upstream in time", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(f"cannot connect: {exc.os_error or exc}", request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError("upstream closed the connection", request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.NetworkError(f"{type(exc).__name__}: {exc}", request=request) from exc
        return httpx.Response(
            resp.status,
            headers=resp.raw_headers,
            stream=_AiohttpBody(resp, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (resp.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
            # let aiohttp finish closing transports before the loop goes away
            await asyncio.sleep(0)
