"""How providers reach their upstreams: an ``httpx`` transport backed by aiohttp's pool.

Provider clients keep httpx's API (``httpx.Request``/``httpx.Response`` and its exception tree)
while the bytes move through aiohttp, which measured several times faster on this kind of
machine (client-only loop, 16 concurrent requests on loopback: httpx's default transport ~800
req/s, the ``httpx-aiohttp`` package ~2,800, this transport called directly ~5,200, raw aiohttp
~7,400; see ``bench/overhead.py``). aiohttp's errors are mapped onto httpx's so callers catch one
hierarchy; the response body streams straight from the socket.

A whole (not streamed) answer, the most common call, skips the httpx objects altogether:
``Exchange.whole`` posts a body and returns the status, headers and decoded body. Building and
tearing down an ``httpx.Request``/``httpx.Response`` pair around aiohttp's own objects was ~45 µs
of a ~0.5 ms passthrough request (in-process profile of scenario (a)).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass

import aiohttp
import httpx


@dataclass(frozen=True, slots=True)
class Timeouts:
    """A provider's limits for one call, in seconds (None: no limit)."""

    connect: float | None
    read: float | None
    pool: float | None

    def for_httpx(self) -> dict[str, float | None]:
        """As an ``httpx.Request``'s ``timeout`` extension."""
        return {"connect": self.connect, "read": self.read, "pool": self.pool}


@dataclass(slots=True)
class Whole:
    """A whole answer: its status, its headers (looked up case-insensitively) and its body, with
    any Content-Encoding already undone."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Exchange(httpx.AsyncBaseTransport):
    """A transport that also answers whole requests without httpx's request/response objects."""

    async def whole(
        self, url: str, headers: Sequence[tuple[str, str]], body: bytes, timeouts: Timeouts
    ) -> Whole:
        raise NotImplementedError


class HttpxExchange(Exchange):
    """Any httpx transport (``httpx.MockTransport`` in unit tests, a proxying transport) as an
    ``Exchange``: whole answers go through httpx's objects, decoded by httpx."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def whole(
        self, url: str, headers: Sequence[tuple[str, str]], body: bytes, timeouts: Timeouts
    ) -> Whole:
        request = httpx.Request(
            "POST",
            url,
            stream=httpx.ByteStream(body),
            headers=list(headers),
            extensions={"timeout": timeouts.for_httpx()},
        )
        resp = await self.inner.handle_async_request(request)
        try:
            data = await resp.aread()
        finally:
            await resp.aclose()
        return Whole(resp.status_code, resp.headers, data)

    async def aclose(self) -> None:
        await self.inner.aclose()


class _AiohttpBody(httpx.AsyncByteStream):
    __slots__ = ("_request", "_resp")

    def __init__(self, resp: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._resp = resp
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._resp.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _read_error(exc, self._request) from exc

    async def aclose(self) -> None:
        # A half-read connection cannot be reused: close it; a fully read one goes back to the pool.
        if self._resp.content.at_eof():
            self._resp.release()
        else:
            self._resp.close()


class AiohttpTransport(Exchange):
    """One pooled aiohttp session, opened lazily inside the running event loop."""

    def __init__(self, *, max_connections: int = 256, keepalive_expiry: float = 60.0) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._client_timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}

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
        timeout = self._client_timeout(Timeouts(t.get("connect"), t.get("read"), t.get("pool")))
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
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _request_error(exc, request) from exc
        return httpx.Response(
            resp.status,
            headers=resp.raw_headers,
            stream=_AiohttpBody(resp, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (resp.reason or "").encode()},
        )

    def _client_timeout(self, t: Timeouts) -> aiohttp.ClientTimeout:
        timeout = self._client_timeouts.get(t)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=None, connect=t.pool, sock_connect=t.connect, sock_read=t.read
            )
            if len(self._client_timeouts) < 64:
                self._client_timeouts[t] = timeout
        return timeout

    async def whole(
        self, url: str, headers: Sequence[tuple[str, str]], body: bytes, timeouts: Timeouts
    ) -> Whole:
        try:
            resp = await self._get_session().request(
                "POST",
                url,
                data=body,
                headers=headers,
                timeout=self._client_timeout(timeouts),
                allow_redirects=False,
                auto_decompress=True,  # the body is used here, not relayed with its encoding
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _request_error(exc, None) from exc
        try:
            data = await resp.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _read_error(exc, None) from exc
        finally:
            # read to the end: back to the pool; cut short (timeout, cancel): closed
            if resp.content.at_eof():
                resp.release()
            else:
                resp.close()
        return Whole(resp.status, resp.headers, data)

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
            # let aiohttp finish closing transports before the loop goes away
            await asyncio.sleep(0)


_Failure = TimeoutError | aiohttp.ClientError


def _request_error(exc: _Failure, request: httpx.Request | None) -> httpx.TransportError:
    """aiohttp's failure to send a request or get its answer's head, as httpx's exception."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(f"connect timed out: {exc}", request=request)
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout("no answer from upstream in time", request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(f"cannot connect: {exc.os_error or exc}", request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError("upstream closed the connection", request=request)
    return httpx.NetworkError(f"{type(exc).__name__}: {exc}", request=request)


def _read_error(exc: _Failure, request: httpx.Request | None) -> httpx.TransportError:
    """aiohttp's failure while reading an answer's body, as httpx's exception."""
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout("no data from upstream in time", request=request)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(f"upstream body broken: {exc}", request=request)
    return httpx.ReadError(f"upstream connection lost: {exc}", request=request)
