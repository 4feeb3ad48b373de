"""What the dispatcher asks of a provider, and what it gets back.

A provider makes one upstream attempt per call: ``complete`` for a whole answer, ``open_stream``
for a streamed one. Both raise ``UpstreamError`` subclasses on failure; ``open_stream`` returns
only once the first chunk has arrived, so a provider that fails before its first byte can still
be replaced by the next step of the route.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

import msgspec

from app.canonical import Request, Response, StreamEvent, Style


class ClientBody(msgspec.Struct):
    """The client's own request body, for a same-style provider to receive untouched."""

    style: Style
    body: dict[str, Any]
    raw: bytes


class UpstreamCall(msgspec.Struct):
    request: Request  # canonical form (used whenever the body must be re-encoded)
    model: str  # the model name this provider knows
    timeout: float | None = None  # step timeout: whole call, or first byte of a stream
    headers: dict[str, str] = {}  # client headers, offered for same-style forwarding
    client_body: ClientBody | None = None  # set when no stage changed the request


class Completion(msgspec.Struct):
    response: Response
    raw: bytes | None = None  # the provider's body verbatim, when it speaks the client's style
    passthrough: bool = False


class StreamChunk(msgspec.Struct):
    """Bytes as the provider sent them (what a same-style client receives in passthrough) and
    the canonical events they complete."""

    raw: bytes
    events: list[StreamEvent]


class UpstreamStream(Protocol):
    provider: str
    style: Style
    passthrough: bool  # raw bytes are in the client's style and may be forwarded verbatim

    def __aiter__(self) -> AsyncIterator[StreamChunk]: ...

    async def aclose(self) -> None: ...


class Provider(Protocol):
    name: str
    style: Style
    disabled_reason: str | None  # why calls fail without trying (e.g. no base_url)

    async def complete(self, call: UpstreamCall) -> Completion: ...

    async def open_stream(self, call: UpstreamCall) -> UpstreamStream: ...

    async def aclose(self) -> None: ...
