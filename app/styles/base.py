"""The interface every API-style codec implements.

A codec maps one wire format to and from the canonical model (``app.canonical``). It is pure:
no I/O, no clocks, no configuration; whatever it needs arrives as arguments. Both sides of the
gateway use the same codec: a client of style X is *decoded* and *answered* with codec X, a
provider of style Y is *called* and *read* with codec Y.

Client side (inbound)::

    decode_request(body, target)      wire request JSON  -> Request      (BadRequest on bad input)
    requires_same_style(req)          why only a provider of this style can serve it, or None
    encode_response(resp, req)        Response           -> wire JSON bytes
    stream_encoder(req)               StreamEvent...     -> wire SSE bytes
    encode_error(err)                 GatewayError       -> (status, wire error JSON bytes)
    encode_models(models)             ModelInfo...       -> wire model-list JSON bytes

Provider side (outbound)::

    upstream_url(base_url, model, stream)   where to POST
    auth_headers(api_key)                   how this style authenticates
    encode_request(req, model)              Request          -> wire JSON object
    passthrough_body(body, model)           same-style body with the model replaced (None: unchanged)
    passthrough_filter(req)                 which streamed frames a same-style client gets verbatim
    decode_response(body)                   wire JSON bytes  -> Response   (UpstreamProtocol)
    stream_decoder()                        wire bytes...    -> StreamEvent...
    decode_error(status, body)              wire error       -> (message, kind)

Read-only: a decoded body's history elements and an encoded request's message blocks may be
shared with earlier requests of the same conversation (``app.styles.history_parse``, the codecs'
per-message memos), so whoever receives one reads it and builds a new one to change anything;
only the top-level object is the caller's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from app.canonical import Request, Response, StreamEvent, Style
from app.errors import GatewayError
from app.styles.sse import SSEEvent


class RequestTarget(msgspec.Struct, frozen=True):
    """What the URL says about a request: some styles put the model and the stream flag in the
    path (Google: ``/v1beta/models/{model}:streamGenerateContent``), and Google streams SSE only
    with ``?alt=sse`` (a progressively sent JSON array otherwise)."""

    model: str | None = None
    stream: bool | None = None
    sse: bool = True


class ModelInfo(msgspec.Struct, frozen=True):
    id: str
    owned_by: str = "frugal-gateway"
    created: int = 0
    display_name: str | None = None


class StreamDecoder(Protocol):
    """Turns a provider's streamed body into canonical events, incrementally."""

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        """Consume the next bytes of the body; return the events they complete."""
        ...

    def feed_event(self, event: SSEEvent) -> list[StreamEvent]:
        """Consume one already-parsed SSE event (the passthrough path parses frames itself)."""
        ...

    def close(self) -> list[StreamEvent]:
        """The body ended: flush, and end with ``StreamError`` if the stream was cut short."""
        ...


class StreamEncoder(Protocol):
    """Turns canonical events into a client's streamed body, incrementally."""

    content_type: str

    def encode(self, event: StreamEvent) -> bytes: ...


class Codec(Protocol):
    style: Style
    # client request headers a same-style provider receives unchanged (e.g. anthropic-beta)
    forwarded_headers: frozenset[str]
    # whether a provider of this style honours stop sequences (else the gateway cuts answers)
    takes_stop_sequences: bool

    # client side
    def decode_request(self, body: Any, target: RequestTarget) -> Request: ...
    def requires_same_style(self, req: Request) -> str | None:
        """Why ``req`` can only go to a provider of this style (state only it holds), or None."""
        ...

    def encode_response(self, resp: Response, req: Request) -> bytes: ...
    def stream_encoder(self, req: Request) -> StreamEncoder: ...
    def encode_error(self, err: GatewayError) -> tuple[int, bytes]: ...
    def encode_models(self, models: list[ModelInfo]) -> bytes: ...

    # provider side
    def upstream_url(self, base_url: str, model: str, stream: bool) -> str: ...
    def auth_headers(self, api_key: str) -> list[tuple[str, str]]: ...
    def encode_request(self, req: Request, model: str) -> dict[str, Any]: ...
    def passthrough_body(self, body: dict[str, Any], model: str) -> dict[str, Any] | None: ...
    def passthrough_filter(self, req: Request) -> Callable[[SSEEvent], bool] | None: ...
    def decode_response(self, body: bytes) -> Response: ...
    def stream_decoder(self) -> StreamDecoder: ...
    def decode_error(self, status: int, body: bytes) -> tuple[str, str | None]: ...
