"""A provider reached over HTTP in one of the four API styles.

One instance per configured provider, built at start-up: its codec, base URL, key and one pooled
``httpx.AsyncClient`` (on ``AiohttpTransport``). The hot path goes to that client's transport
directly: httpx's own ``AsyncClient.send`` adds ~0.16 ms of header, cookie and auth bookkeeping
per call that a gateway does not need (``bench/overhead.py``). Whole answers use
``Exchange.whole`` (no httpx objects at all); streams hand it an ``httpx.Request``.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Mapping

import httpx
import msgspec

from app.canonical import StreamError, Style
from app.config import ProviderConfig
from app.errors import (
    UpstreamConnect,
    UpstreamError,
    UpstreamProtocol,
    UpstreamStatus,
    UpstreamTimeout,
)
from app.observability.redaction import redact
from app.providers.base import Completion, StreamChunk, UpstreamCall
from app.providers.transport import AiohttpTransport, Exchange, Timeouts
from app.streaming import events_from_response
from app.styles import codec_for
from app.styles.base import Codec, StreamDecoder
from app.styles.sse import SSEEvent, SSEParser

_encoder = msgspec.json.Encoder()
USER_AGENT = "frugal-gateway/0.1"


class HttpProvider:
    def __init__(self, cfg: ProviderConfig) -> None:
        self.name = cfg.name
        self.style: Style = cfg.style
        self.codec: Codec = codec_for(cfg.style)
        self.base_url = cfg.base_url.rstrip("/")
        self.disabled_reason = None if self.base_url else "disabled: no base_url configured"
        self._read_timeout = float(cfg.timeout)
        self.idle_timeout = float(cfg.idle_timeout)
        self._connect_timeout = float(cfg.connect_timeout)
        self._max_tokens_field = cfg.max_tokens_field or (
            "max_completion_tokens" if "api.openai.com" in self.base_url else "max_tokens"
        )
        self._headers: list[tuple[str, str]] = [
            ("content-type", "application/json"),
            ("user-agent", USER_AGENT),
            *self.codec.auth_headers(cfg.api_key),
            *((k.lower(), v) for k, v in cfg.headers.items()),
        ]
        if self.base_url:
            # Host from the base URL once, not parsed from the URL on every request
            self._headers.insert(0, ("host", httpx.URL(self.base_url).netloc.decode()))
        self._secrets = (cfg.api_key,)  # never echoed back inside a provider's error message
        self.transport: Exchange = AiohttpTransport(max_connections=cfg.max_connections)
        # The shared client: raw passthrough and anything off the hot path use it.
        self.client = httpx.AsyncClient(
            transport=self.transport,
            base_url=self.base_url or "http://disabled.invalid",
            headers=[h for h in self._headers if h[0] != "content-type"],
            timeout=httpx.Timeout(self._read_timeout, connect=self._connect_timeout),
        )
        self._url_cache: dict[tuple[str, bool], str] = {}
        self._timeouts = Timeouts(self._connect_timeout, self._read_timeout, pool=self._connect_timeout)
        self._timeouts_dict = self._timeouts.for_httpx()

    # ------------------------------------------------------------------ request building

    def _url(self, model: str, stream: bool) -> str:
        key = (model, stream)
        url = self._url_cache.get(key)
        if url is None:
            url = self.codec.upstream_url(self.base_url, model, stream)
            if len(self._url_cache) < 1024:
                self._url_cache[key] = url
        return url

    def _body(self, call: UpstreamCall) -> tuple[bytes, bool]:
        """(body bytes, passthrough?): the client's own body when it speaks this style."""
        cb = call.client_body
        if cb is not None and cb.style == self.style:
            changed = self.codec.passthrough_body(cb.body, call.model)
            return (cb.raw if changed is None else _encoder.encode(changed)), True
        wire = self.codec.encode_request(call.request, call.model)
        if self.style == "openai-chat" and self._max_tokens_field != "max_tokens" and "max_tokens" in wire:
            wire[self._max_tokens_field] = wire.pop("max_tokens")
        return _encoder.encode(wire), False

    def _headers_for(self, call: UpstreamCall, body: bytes, stream: bool) -> list[tuple[str, str]]:
        headers = self._headers
        if call.request.style == self.style and call.headers:
            # same style: the client's protocol headers (anthropic-beta, anthropic-version, ...)
            # reach the provider unchanged and replace our defaults
            allowed = self.codec.forwarded_headers
            forwarded = [(k, v) for k, v in call.headers.items() if k in allowed]
            if forwarded:
                names = {k for k, _ in forwarded}
                headers = [h for h in headers if h[0] not in names] + forwarded
        headers = [*headers, ("content-length", str(len(body)))]
        if stream:
            headers.append(("accept", "text/event-stream"))
        return headers

    # ------------------------------------------------------------------ calls

    async def complete(self, call: UpstreamCall) -> Completion:
        body, passthrough = self._body(call)
        url = self._url(call.model, False)
        headers = self._headers_for(call, body, stream=False)
        try:
            if call.timeout is None:
                answer = await self.transport.whole(url, headers, body, self._timeouts)
            else:
                async with asyncio.timeout(call.timeout):
                    answer = await self.transport.whole(url, headers, body, self._timeouts)
        except TimeoutError:
            raise UpstreamTimeout(f"no answer within {call.timeout:g}s", provider=self.name) from None
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(str(exc), provider=self.name) from None
        except httpx.TransportError as exc:
            raise UpstreamConnect(str(exc), provider=self.name) from None
        data = answer.body
        if answer.status >= 400:
            raise self._status_error(answer.status, answer.headers, data)
        try:
            response = self.codec.decode_response(data)
        except UpstreamError as exc:
            raise UpstreamProtocol(exc.message, provider=self.name) from None
        return Completion(response, raw=data if passthrough else None, passthrough=passthrough)

    async def open_stream(self, call: UpstreamCall) -> HttpUpstreamStream:
        body, passthrough = self._body(call)
        # a ready stream and Content-Length: httpx then skips its own body encoding pass
        request = httpx.Request(
            "POST",
            self._url(call.model, True),
            stream=httpx.ByteStream(body),
            headers=self._headers_for(call, body, stream=True),
            extensions={"timeout": self._timeouts_dict},
        )
        resp: httpx.Response | None = None
        try:
            async with asyncio.timeout(call.timeout):
                resp = await self.transport.handle_async_request(request)
                if resp.status_code >= 400:
                    try:
                        data = await resp.aread()  # an error's body: httpx undoes any Content-Encoding
                    finally:
                        await resp.aclose()
                    raise self._status_error(resp.status_code, resp.headers, data)
                stream = HttpUpstreamStream(self, resp, passthrough, call)
                await stream.prime()
                return stream
        except TimeoutError:
            if resp is not None:
                await resp.aclose()
            raise UpstreamTimeout(f"no first byte within {call.timeout:g}s", provider=self.name) from None
        except httpx.TimeoutException as exc:
            if resp is not None:
                await resp.aclose()
            raise UpstreamTimeout(str(exc), provider=self.name) from None
        except httpx.TransportError as exc:
            if resp is not None:
                await resp.aclose()
            raise UpstreamConnect(str(exc), provider=self.name) from None
        except BaseException:
            if resp is not None:
                await resp.aclose()
            raise

    def _status_error(self, status: int, headers: Mapping[str, str], data: bytes) -> UpstreamStatus:
        message, _kind = self.codec.decode_error(status, data)
        return UpstreamStatus(
            redact(message, self._secrets),
            provider=self.name,
            upstream_status=status,
            body=data,
            retry_after=_retry_after(headers),
            style=self.style,
        )

    async def aclose(self) -> None:
        await self.client.aclose()


class HttpUpstreamStream:
    """The body of a streamed answer as ``StreamChunk``s. ``prime()`` reads up to the first
    events before the gateway commits to this provider; an error event there still allows a
    fallback."""

    def __init__(
        self, provider: HttpProvider, resp: httpx.Response, passthrough: bool, call: UpstreamCall
    ) -> None:
        self.provider = provider.name
        self.style = provider.style
        self.passthrough = passthrough
        self._resp = resp
        self._codec = provider.codec
        self._decoder: StreamDecoder = provider.codec.stream_decoder()
        self._filter = provider.codec.passthrough_filter(call.request) if passthrough else None
        self._sse = SSEParser() if self._filter is not None else None
        self._body: AsyncIterator[bytes] = resp.aiter_bytes()
        self._first: list[StreamChunk] = []
        self._json_body = "json" in resp.headers.get("content-type", "") and "stream" not in resp.headers.get(
            "content-type", ""
        )
        self._idle = provider.idle_timeout

    async def prime(self) -> None:
        if self._json_body:
            # Some OpenAI-style servers ignore "stream": true and answer whole: replay it.
            data = b"".join([c async for c in self._body])
            try:
                response = self._codec.decode_response(data)
            except UpstreamError as exc:
                raise UpstreamProtocol(exc.message, provider=self.provider) from None
            self.passthrough = False
            self._first.append(StreamChunk(b"", list(events_from_response(response))))
            return
        while True:
            try:
                raw = await self._body.__anext__()
            except StopAsyncIteration:
                chunk = StreamChunk(b"", self._decoder.close())
                self._first.append(chunk)
                self._check_first(chunk)
                return
            chunk = self._decode(raw)
            self._first.append(chunk)
            if chunk.events:
                self._check_first(chunk)
                return

    def _check_first(self, chunk: StreamChunk) -> None:
        for ev in chunk.events:
            if isinstance(ev, StreamError):
                raise UpstreamStatus(
                    ev.message, provider=self.provider, upstream_status=ev.status if ev.status >= 400 else 502
                )

    def _decode(self, raw: bytes) -> StreamChunk:
        if self._sse is None:
            return StreamChunk(raw, self._decoder.feed(raw))
        frames = self._sse.feed(raw)
        return self._filtered(frames)

    def _filtered(self, frames: list[SSEEvent]) -> StreamChunk:
        assert self._filter is not None
        keep = self._filter
        events = []
        out = []
        for f in frames:
            events.extend(self._decoder.feed_event(f))
            if keep(f):
                out.append(f.raw)
        return StreamChunk(b"".join(out), events)

    async def __aiter__(self) -> AsyncIterator[StreamChunk]:
        try:
            for chunk in self._first:
                yield chunk
            self._first = []
            if self._json_body:
                return
            # bytes that carry no event (keep-alive comments of a stuck upstream) do not count as
            # progress: after idle_timeout without one the stream ends with a timeout error
            last_event = time.monotonic()
            async for raw in self._body:
                chunk = self._decode(raw)
                now = time.monotonic()
                if chunk.events:
                    last_event = now
                elif now - last_event > self._idle:
                    message = f"upstream sent no data for {self._idle:g}s (idle timeout)"
                    yield StreamChunk(b"", [StreamError(status=504, message=message, kind="timeout_error")])
                    return
                yield chunk
            tail = self._sse.flush() if self._sse is not None else []
            last = self._filtered(tail) if tail else StreamChunk(b"", [])
            last.events.extend(self._decoder.close())
            if last.raw or last.events:
                yield last
        except httpx.TimeoutException:
            yield StreamChunk(
                b"",
                [
                    StreamError(
                        status=504, message="upstream stopped sending (read timeout)", kind="timeout_error"
                    )
                ],
            )
        except httpx.TransportError as exc:
            yield StreamChunk(b"", [StreamError(status=502, message=f"upstream connection broke: {exc}")])
        finally:
            await self._resp.aclose()

    async def aclose(self) -> None:
        await self._resp.aclose()


def _retry_after(headers: Mapping[str, str]) -> float | None:
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
