"""Anthropic Messages (``POST /v1/messages``) <-> canonical model.

Wire reference: the official ``anthropic`` SDK types (``anthropic/types``: message_create_params,
content_block, raw_message_stream_event, thinking_*). Claude Code is the client that matters most:
~50 KB bodies with system blocks and tools carrying ``cache_control``, ``thinking``,
``context_management``, ``output_config``, ``metadata`` and mid-conversation ``role: "system"``
messages. This module holds the codec, answers and errors; ``decode`` reads client
requests, ``encode`` writes provider requests (its docstring lists the provider-side
degradations), ``stream`` handles SSE, ``fields`` the shared wire pieces.
Every client-side mapping and degradation (README, "Style conversion"):

Client requests -> canonical
* ``system`` (string or text blocks with ``cache_control``) -> ``Request.system``; a
  ``role: "system"`` message stays in place (its ``output_config``/``clear_at`` in
  ``Message.extra``), unless it comes before any user turn, where it joins ``Request.system``;
* ``tool_result`` blocks of a user turn -> one role ``tool`` message, followed by a user message
  with the turn's other blocks; result blocks without a canonical form (``tool_reference``,
  ``search_result``, ...) become text for other styles and are kept verbatim in
  ``ToolResultPart.extra`` for Anthropic providers;
* ``thinking`` -> ``ReasoningPart`` via ``artifacts.from_client`` (unwraps other styles' tokens);
  ``redacted_thinking`` -> ``ReasoningPart(redacted=True)``; ``document`` (PDF base64/url/file,
  plain text) -> ``FilePart`` (plain text is base64-encoded, ``title`` -> ``filename``);
  every other block (server tool use and results, MCP, ``container_upload``, ``search_result``,
  content-sourced documents) -> ``OpaquePart``;
* custom tools -> ``ToolDef`` (``defer_loading``, ``input_examples``, ... in ``ToolDef.extra``);
  every server/built-in tool type -> ``OpaqueTool``;
* ``tool_choice`` any -> required, ``disable_parallel_tool_use`` -> ``parallel_tool_calls=False``;
  ``thinking`` enabled/adaptive/disabled (``between_tools`` -> adaptive, kept in ``extra``) and
  ``output_config.effort`` -> ``ReasoningConfig`` (``display`` -> ``include_thoughts``);
  ``output_config.format`` -> ``ResponseFormat``; ``metadata.user_id`` -> ``user``;
* everything else (``context_management``, ``service_tier``, ``container``, ``mcp_servers``,
  ``speed``, ``inference_geo``, top-level ``cache_control``, ...) -> ``Request.extra``.

Answers to Anthropic clients
* usage: ``input_tokens`` = canonical input - cache reads - cache writes;
* stop reasons: content_filter -> ``refusal``, pause -> ``pause_turn``, error -> ``end_turn``;
  ``end_turn`` with tool calls -> ``tool_use``;
* reasoning -> ``thinking`` with ``signature = artifacts.for_client(...)`` (``redacted_thinking``
  for Anthropic's own redacted blocks); a text-less part of another origin (a Gemini
  ``thoughtSignature``) is a thinking block with empty text and the token as signature, a
  text-only one of another origin carries a token too, so Claude Code echoes both back;
* free-form (custom) tool calls -> ``tool_use`` with ``{"input": <raw text>}``;
* another style's opaque blocks are omitted; images/files in an answer become a text note.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from app.canonical import (
    Part,
    ReasoningPart,
    Request,
    Response,
    Style,
    TextPart,
)
from app.errors import GatewayError, UpstreamProtocol
from app.styles.anthropic.decode import request_from_wire
from app.styles.anthropic.encode import count_tokens_body, request_to_wire
from app.styles.anthropic.fields import (
    STOP_FROM_WIRE,
    STOP_TO_WIRE,
    STYLE,
    answer_block,
    error_body,
    json_text,
    part_from_answer_block,
    usage_from_wire,
    usage_to_wire,
)
from app.styles.anthropic.stream import AnthropicStreamDecoder, AnthropicStreamEncoder, message_id
from app.styles.base import ModelInfo, RequestTarget
from app.styles.json_fields import provider_object
from app.styles.sse import SSEEvent

__all__ = ["CODEC", "AnthropicCodec", "count_tokens_body", "encode_token_count"]

_encoder = msgspec.json.Encoder()


class AnthropicCodec:
    style: Style = "anthropic-messages"
    # same-style calls forward the client's beta flags and API version unchanged
    forwarded_headers: frozenset[str] = frozenset({"anthropic-beta", "anthropic-version"})
    takes_stop_sequences = True

    # ------------------------------------------------------------------ client side

    def requires_same_style(self, req: Request) -> str | None:
        return None  # everything this style says can be translated

    def decode_request(self, body: Any, target: RequestTarget) -> Request:
        return request_from_wire(body, target)

    def encode_response(self, resp: Response, req: Request) -> bytes:
        return _encoder.encode(response_to_wire(resp, req))

    def stream_encoder(self, req: Request) -> AnthropicStreamEncoder:
        return AnthropicStreamEncoder(req)

    def encode_error(self, err: GatewayError) -> tuple[int, bytes]:
        return err.status, _encoder.encode(error_body(err.kind, err.status, err.message))

    def encode_models(self, models: list[ModelInfo]) -> bytes:
        data = [
            {
                "type": "model",
                "id": m.id,
                "display_name": m.display_name or m.id,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m.created)),
                "lifecycle": "active",
            }
            for m in models
        ]
        return _encoder.encode(
            {
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    # ------------------------------------------------------------------ provider side

    def upstream_url(self, base_url: str, model: str, stream: bool) -> str:
        base = base_url.rstrip("/")
        return base + ("/messages" if base.endswith("/v1") else "/v1/messages")

    def auth_headers(self, api_key: str) -> list[tuple[str, str]]:
        headers = [("anthropic-version", "2023-06-01")]
        if api_key:
            headers.insert(0, ("x-api-key", api_key))
        return headers

    def encode_request(self, req: Request, model: str) -> dict[str, Any]:
        return request_to_wire(req, model)

    def passthrough_body(self, body: dict[str, Any], model: str) -> dict[str, Any] | None:
        return None if body.get("model") == model else {**body, "model": model}

    def passthrough_filter(self, req: Request) -> Callable[[SSEEvent], bool] | None:
        return None

    def decode_response(self, body: bytes) -> Response:
        return response_from_wire(provider_object(body))

    def stream_decoder(self) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder()

    def decode_error(self, status: int, body: bytes) -> tuple[str, str | None]:
        return decode_error_body(body)


def encode_token_count(n: int) -> bytes:
    """The answer of ``POST /v1/messages/count_tokens``."""
    return _encoder.encode({"input_tokens": n})


# ====================================================================== responses


def response_to_wire(resp: Response, req: Request) -> dict[str, Any]:
    parts = _without_trailing_signature(resp.content)
    blocks = [b for b in (answer_block(p) for p in parts) if b is not None]
    stop = STOP_TO_WIRE[resp.stop_reason]
    if stop == "end_turn" and any(b["type"] == "tool_use" for b in blocks):
        stop = "tool_use"
    return {
        "id": message_id(resp.id),
        "type": "message",
        "role": "assistant",
        "model": resp.model or req.model,
        "content": blocks,
        "stop_reason": stop,
        "stop_sequence": resp.stop_sequence,
        "usage": usage_to_wire(resp.usage),
    }


def _without_trailing_signature(content: list[Part]) -> list[Part]:
    """Another provider's signature-only reasoning after the last text (Gemini 3 signs a plain
    answer on its last part) is left out: Claude Code takes the last block as the answer."""
    end = len(content)
    while end:
        last = content[end - 1]
        trailing = isinstance(last, ReasoningPart) and not last.text and last.origin not in (None, STYLE)
        if not (trailing and any(isinstance(p, TextPart) for p in content[: end - 1])):
            break
        end -= 1
    return content if end == len(content) else content[:end]


def response_from_wire(obj: dict[str, Any]) -> Response:
    if obj.get("type") == "error":
        message, _ = _error_fields(obj)
        raise UpstreamProtocol(f"error object instead of a message: {message}", provider="")
    content = obj.get("content")
    if not isinstance(content, list):
        raise UpstreamProtocol("message without a content array", provider="")
    parts = [part_from_answer_block(b) for b in content if isinstance(b, dict)]
    stop = STOP_FROM_WIRE.get(str(obj.get("stop_reason")), "end_turn")
    seq = obj.get("stop_sequence")
    return Response(
        id=str(obj.get("id") or ""),
        model=str(obj.get("model") or ""),
        content=parts,
        stop_reason=stop,
        stop_sequence=seq if isinstance(seq, str) else None,
        usage=usage_from_wire(obj.get("usage")),
    )


# ====================================================================== errors


def decode_error_body(body: bytes) -> tuple[str, str | None]:
    """(message, type) from an Anthropic error envelope; other bodies are summarised."""
    try:
        obj = msgspec.json.decode(body)
    except msgspec.DecodeError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:300] or "empty error body"), None
    if isinstance(obj, dict):
        return _error_fields(obj)
    return body.decode("utf-8", "replace")[:300], None


def _error_fields(obj: dict[str, Any]) -> tuple[str, str | None]:
    err = obj.get("error")
    if isinstance(err, dict):
        kind = err.get("type")
        return str(err.get("message") or err)[:2000], kind if isinstance(kind, str) else None
    if isinstance(err, str):
        return err[:2000], None
    if isinstance(obj.get("message"), str):
        return str(obj["message"])[:2000], None
    return json_text(obj)[:300], None


CODEC = AnthropicCodec()
