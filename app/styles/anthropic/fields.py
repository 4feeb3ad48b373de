"""Anthropic Messages wire pieces shared by the codec, its request encoder and its stream classes:
stop reasons, usage arithmetic, error types, and the content blocks of an answer."""

from __future__ import annotations

from typing import Any

import msgspec

from app.canonical import (
    FilePart,
    ImagePart,
    OpaquePart,
    Part,
    ReasoningPart,
    StopReason,
    Style,
    TextPart,
    ToolCallPart,
    Usage,
)
from app.styles import artifacts, conversions
from app.styles.json_fields import loose_object

STYLE: Style = "anthropic-messages"

STOP_TO_WIRE: dict[StopReason, str] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "content_filter": "refusal",  # Anthropic reports its safety classifiers as a refusal
    "refusal": "refusal",
    "pause": "pause_turn",
    "error": "end_turn",  # a malformed generation elsewhere: the turn simply ended
}
STOP_FROM_WIRE: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "pause_turn": "pause",
    "refusal": "refusal",
    "model_context_window_exceeded": "max_tokens",
}

# Anthropic's error ``type`` values (anthropic/types/shared/*_error_object.py, plus 413's
# request_too_large from the API docs) and the status each stands for.
ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_ERROR_TYPE_BY_STATUS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type(kind: str, status: int) -> str:
    """The Anthropic error type for a gateway error kind (another style's kinds map by status)."""
    if kind in ERROR_STATUS:
        return kind
    return _ERROR_TYPE_BY_STATUS.get(status, "api_error")


def error_body(kind: str, status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type(kind, status), "message": message}}


# --------------------------------------------------------------------------- usage


def usage_from_wire(u: Any, base: Usage | None = None) -> Usage:
    """Canonical usage from an Anthropic ``usage`` object. Anthropic's ``input_tokens`` excludes
    cache reads and writes; the canonical figure includes them. Fields absent from ``u`` keep
    their value from ``base`` (``message_delta`` repeats only what changed)."""
    b = base or Usage()
    d = loose_object(u)
    details = loose_object(d.get("output_tokens_details"))
    raw_in = _int(d.get("input_tokens"))
    read = _int(d.get("cache_read_input_tokens"))
    write = _int(d.get("cache_creation_input_tokens"))
    read = b.cache_read_tokens if read is None else read
    write = b.cache_write_tokens if write is None else write
    if raw_in is None:
        inp = b.input_tokens
    else:
        inp = raw_in + read + write
    out = _int(d.get("output_tokens"))
    thinking = _int(details.get("thinking_tokens"))
    return Usage(
        input_tokens=inp,
        output_tokens=b.output_tokens if out is None else out,
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=b.reasoning_tokens if thinking is None else thinking,
    )


def _int(v: Any) -> int | None:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def usage_to_wire(u: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": max(0, u.input_tokens - u.cache_read_tokens - u.cache_write_tokens),
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cache_read_tokens,
        "output_tokens": u.output_tokens,
    }
    if u.reasoning_tokens:
        out["output_tokens_details"] = {"thinking_tokens": u.reasoning_tokens}
    return out


# --------------------------------------------------------------------------- cache_control


# --------------------------------------------------------------------------- answer blocks


def json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def part_from_answer_block(block: dict[str, Any]) -> Part:
    """One content block of an Anthropic answer (lenient: a provider's answer never fails here)."""
    kind = block.get("type")
    if kind == "text":
        return TextPart(str(block.get("text") or ""))
    if kind == "thinking":
        return ReasoningPart(
            text=str(block.get("thinking") or ""),
            signature=str(block.get("signature") or "") or None,
            origin=STYLE,
        )
    if kind == "redacted_thinking":
        return ReasoningPart(signature=str(block.get("data") or ""), origin=STYLE, redacted=True)
    if kind == "tool_use":
        inp = block.get("input")
        return ToolCallPart(
            id=str(block.get("id") or ""),
            name=str(block.get("name") or ""),
            arguments=json_text(inp if inp is not None else {}),
        )
    return OpaquePart(STYLE, block)


def client_signature(part: ReasoningPart) -> str:
    """The ``signature`` an Anthropic client sees for ``part``.

    Native signatures pass; another style's artifact is wrapped (``artifacts.for_client``). A
    text-only part of another origin (DeepSeek-style ``reasoning_content``) is wrapped too, so
    its origin survives the client's echo and its provider gets the text back; a part with
    nothing to carry gets ``""`` (the SDK's ThinkingBlock requires a string).
    """
    sig = artifacts.for_client(part, STYLE)
    if sig is None and part.origin not in (None, STYLE) and part.text:
        sig = artifacts.wrap(part)
    return sig or ""


def answer_block(part: Part) -> dict[str, Any] | None:
    """One canonical answer part as an Anthropic content block (None: nothing to show)."""
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ReasoningPart):
        if part.redacted and part.origin == STYLE and part.signature:
            return {"type": "redacted_thinking", "data": part.signature}
        sig = client_signature(part)
        if not sig and not part.text:
            return None
        return {"type": "thinking", "thinking": part.text, "signature": sig}
    if isinstance(part, ToolCallPart):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": tool_input(part)}
    if isinstance(part, OpaquePart):
        return part.data if part.style == STYLE else None
    if isinstance(part, ImagePart | FilePart):
        # an Anthropic answer has no image/document block: say so instead of dropping it silently
        what = "image" if isinstance(part, ImagePart) else "file"
        return {"type": "text", "text": f"[{what} output ({part.media_type or 'unknown type'}) omitted]"}
    return None


def tool_input(part: ToolCallPart) -> dict[str, Any]:
    """The ``input`` object of a tool call: the client declared every tool as a JSON function,
    so a free-form (custom) call is wrapped as the one-string-parameter object."""
    if part.kind == "custom":
        return {conversions.CUSTOM_TOOL_PARAM: part.arguments}
    return conversions.parse_arguments(part.arguments)
