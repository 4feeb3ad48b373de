"""Google GenAI wire pieces shared by the codec and its stream classes: field spellings, finish
reasons, usage, error envelopes, media parts, tool-call ids and thought-signature placement."""

from __future__ import annotations

import re
from functools import lru_cache
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
from app.errors import GatewayError
from app.styles import artifacts, conversions

STYLE: Style = "google-genai"

FINISH_REASON: dict[StopReason, str] = {
    "end_turn": "STOP",
    "stop_sequence": "STOP",  # Gemini reports a matched stop sequence as STOP
    "tool_use": "STOP",  # Gemini ends a function-call turn with STOP too
    "max_tokens": "MAX_TOKENS",
    "content_filter": "SAFETY",
    # the model declined: the nearest Gemini reason; the refusal text still comes as text
    "refusal": "SAFETY",
    "pause": "STOP",
    # a malformed generation; Gemini CLI retries on it
    "error": "MALFORMED_FUNCTION_CALL",
}

STOP_REASON: dict[str, StopReason] = {
    "STOP": "end_turn",
    "FINISH_REASON_UNSPECIFIED": "end_turn",
    "OTHER": "end_turn",
    "MAX_TOKENS": "max_tokens",
    "CONTINUATION": "max_tokens",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "LANGUAGE": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MODEL_ARMOR": "content_filter",
    "ESCALATION": "content_filter",
    "PUP_LIMITED_DISABLED": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "TOO_MANY_TOOL_CALLS": "error",
    "MISSING_THOUGHT_SIGNATURE": "error",
    "MALFORMED_RESPONSE": "error",
    "IMAGE_OTHER": "error",
    "NO_IMAGE": "error",
}

# google.rpc.Code names by HTTP status (what Google's own error envelopes carry)
STATUS_BY_HTTP: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    402: "FAILED_PRECONDITION",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

KIND_BY_STATUS: dict[str, str] = {
    "INVALID_ARGUMENT": "invalid_request_error",
    "FAILED_PRECONDITION": "invalid_request_error",
    "OUT_OF_RANGE": "invalid_request_error",
    "UNAUTHENTICATED": "authentication_error",
    "PERMISSION_DENIED": "permission_error",
    "NOT_FOUND": "not_found_error",
    "RESOURCE_EXHAUSTED": "rate_limit_error",
    "UNAVAILABLE": "overloaded_error",
    "DEADLINE_EXCEEDED": "timeout_error",
    "INTERNAL": "api_error",
    "UNKNOWN": "api_error",
}

# Dummy signatures Google documents for function calls the model did not issue (history from
# another model, injected calls): https://ai.google.dev/gemini-api/docs/thought-signatures (FAQ).
# Gemini CLI itself sends the first one. They carry nothing, so the decoder drops them.
SKIP_SIGNATURE = "skip_thought_signature_validator"
DUMMY_SIGNATURES = frozenset({SKIP_SIGNATURE, "context_engineering_is_the_way_to_go"})

_encoder = msgspec.json.Encoder()
_GEMINI_MAJOR = re.compile(r"gemini-(\d+)")


# ====================================================================== field spellings


@lru_cache(maxsize=1024)
def camel(key: str) -> str:
    """``response_mime_type`` -> ``responseMimeType`` (the REST API accepts both spellings)."""
    if "_" not in key.strip("_"):
        return key
    head, *rest = key.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def camel_keys(obj: dict[str, Any]) -> dict[str, Any]:
    """A wire object with its own keys in camelCase (values untouched: they may be user data)."""
    if not any("_" in k for k in obj):
        return obj
    return {camel(k): v for k, v in obj.items()}


def gemini_major(model: str) -> int:
    """The Gemini generation a model name belongs to (0 when it does not look like Gemini)."""
    m = _GEMINI_MAJOR.search(model)
    return int(m.group(1)) if m else 0


# ====================================================================== usage


def usage_from_wire(u: Any) -> Usage:
    if not isinstance(u, dict):
        return Usage()
    u = camel_keys(u)
    thoughts = _int(u.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=_int(u.get("promptTokenCount")) + _int(u.get("toolUsePromptTokenCount")),
        output_tokens=_int(u.get("candidatesTokenCount")) + thoughts,
        cache_read_tokens=_int(u.get("cachedContentTokenCount")),
        reasoning_tokens=thoughts,
    )


def usage_to_wire(u: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "promptTokenCount": u.input_tokens,
        "candidatesTokenCount": max(u.output_tokens - u.reasoning_tokens, 0),
        "totalTokenCount": u.input_tokens + u.output_tokens,
    }
    if u.reasoning_tokens:
        out["thoughtsTokenCount"] = u.reasoning_tokens
    if u.cache_read_tokens:
        out["cachedContentTokenCount"] = u.cache_read_tokens
    return out


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def stop_reason(finish: Any) -> StopReason:
    return STOP_REASON.get(str(finish).upper(), "end_turn") if finish else "end_turn"


# ====================================================================== errors


def error_to_wire(err: GatewayError) -> dict[str, Any]:
    status = STATUS_BY_HTTP.get(err.status) or ("INTERNAL" if err.status >= 500 else "INVALID_ARGUMENT")
    body: dict[str, Any] = {"code": err.status, "message": err.message, "status": status}
    wait = err.retry_after
    if wait is not None:
        # Gemini CLI and the SDKs read the wait from google.rpc.RetryInfo
        body["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{wait:g}s"}]
    return {"error": body}


def stream_error_to_wire(status: int, message: str) -> dict[str, Any]:
    name = STATUS_BY_HTTP.get(status) or ("INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
    return {"error": {"code": status, "message": message, "status": name}}


def error_fields(obj: Any) -> tuple[str, str | None, int | None] | None:
    """(message, kind, code) of a Google error envelope, also in its JSON-array form."""
    if isinstance(obj, list) and obj:
        obj = obj[0]
    if not isinstance(obj, dict):
        return None
    e = obj.get("error")
    if isinstance(e, str):
        return e, None, None
    if not isinstance(e, dict):
        return None
    status = e.get("status")
    kind = KIND_BY_STATUS.get(status) if isinstance(status, str) else None
    code = e.get("code") if isinstance(e.get("code"), int) else None
    return str(e.get("message") or e)[:2000], kind, code


def decode_error_body(body: bytes) -> tuple[str, str | None]:
    try:
        obj = msgspec.json.decode(body)
    except msgspec.DecodeError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:300] or "empty error body"), None
    fields = error_fields(obj)
    if fields is None:
        return body.decode("utf-8", "replace")[:300], None
    return fields[0], fields[1]


# ====================================================================== media parts


def media_part(d: dict[str, Any], inline: bool) -> ImagePart | FilePart:
    """``inlineData`` / ``fileData`` -> an image or a document part, by MIME type."""
    d = camel_keys(d)
    mime = d.get("mimeType") if isinstance(d.get("mimeType"), str) else None
    name = d.get("displayName") if isinstance(d.get("displayName"), str) else None
    value = d.get("data" if inline else "fileUri")
    value = value if isinstance(value, str) else ""
    is_image = (mime or "").startswith("image/")
    if inline:
        if is_image:
            return ImagePart(data=value, media_type=mime)
        return FilePart(data=value, media_type=mime, filename=name)
    if is_image:
        return ImagePart(url=value, media_type=mime)
    return FilePart(url=value, media_type=mime, filename=name)


_MIME_BY_EXT = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "pdf": "application/pdf",
    "txt": "text/plain",
    "md": "text/markdown",
    "html": "text/html",
    "csv": "text/csv",
}


def media_to_wire(p: ImagePart | FilePart) -> dict[str, Any] | None:
    """An image or document as a Gemini part; None when it is only a foreign provider file id."""
    default = "image/jpeg" if isinstance(p, ImagePart) else "application/octet-stream"
    if p.data is not None:
        return {"inlineData": {"mimeType": p.media_type or default, "data": p.data}}
    if p.url is not None:
        guessed = _MIME_BY_EXT.get(p.url.rsplit("?", 1)[0].rsplit(".", 1)[-1].lower())
        fd: dict[str, Any] = {"mimeType": p.media_type or guessed or default, "fileUri": p.url}
        return {"fileData": fd}
    if p.file_id is not None and p.file_id.startswith(("https://", "gs://")):
        return {"fileData": {"mimeType": p.media_type or default, "fileUri": p.file_id}}
    return None


# ====================================================================== tool calls


def args_json(args: Any) -> str:
    """Function-call ``args`` as canonical argument text ("" when absent)."""
    if args is None:
        return ""
    return _encoder.encode(args).decode()


def encode_json(value: Any) -> bytes:
    return _encoder.encode(value)


def function_call_to_wire(c: ToolCallPart) -> dict[str, Any]:
    """A tool call as a ``functionCall`` part; a custom (free-form) call, which Gemini has no
    kind for, goes out as its one-string-parameter function form."""
    arguments = c.arguments
    if c.kind == "custom":
        arguments = conversions.arguments_from_custom_input(arguments)
    return {"functionCall": {"id": c.id, "name": c.name, "args": conversions.parse_arguments(arguments)}}


# ====================================================================== thought signatures


class SignaturePlacer:
    """Where reasoning signatures go in a response to a Gemini client.

    Gemini clients echo ``thoughtSignature`` wherever it sits, but Gemini CLI drops every
    ``thought: true`` part from its history and merges adjacent text parts (keeping the first
    one's fields). So a signature rides on the next non-thought part (the function call or the
    text that follows the reasoning); if another signature is already waiting, or nothing
    follows, it goes on an empty non-thought text part of its own.
    """

    __slots__ = ("pending",)

    def __init__(self) -> None:
        self.pending: str | None = None

    def add(self, part: ReasoningPart) -> dict[str, Any] | None:
        """Queue ``part``'s signature; returns a carrier part to emit first, if one is needed.

        Callers ``flush()`` when a reasoning part *begins*, so each signature stays after its
        own reasoning text and before the next one's."""
        sig = artifacts.for_client(part, STYLE)
        if not sig:
            return None
        carrier = self.flush()
        self.pending = sig
        return carrier

    def attach(self, wire_part: dict[str, Any]) -> dict[str, Any]:
        if self.pending is not None and "thoughtSignature" not in wire_part:
            wire_part["thoughtSignature"] = self.pending
            self.pending = None
        return wire_part

    def flush(self) -> dict[str, Any] | None:
        if self.pending is None:
            return None
        carrier = {"text": "", "thoughtSignature": self.pending}
        self.pending = None
        return carrier


def place_client_signature(out: list[Part], signature: str) -> None:
    """A ``thoughtSignature`` a client sent on a non-thought part: a text-less ReasoningPart
    before that part. A gateway token whose reasoning text the client kept as the thought part
    just before is merged with it (Responses/Chat tokens do not carry the text themselves)."""
    part = artifacts.from_client(signature, "", STYLE)
    prev = out[-1] if out else None
    if (
        part.origin != STYLE
        and isinstance(prev, ReasoningPart)
        and prev.origin == STYLE
        and prev.signature is None
        and prev.text
    ):
        out[-1] = artifacts.from_client(signature, prev.text, STYLE)
        return
    out.append(part)


def model_part_to_wire(p: Part) -> dict[str, Any] | None:
    """A model-turn part (text, call, media, Gemini's own opaque part) in Gemini form, or None
    for what a model turn cannot hold. Reasoning is placed by the callers (signatures)."""
    if isinstance(p, TextPart):
        return {"text": p.text} if p.text else None
    if isinstance(p, ToolCallPart):
        return function_call_to_wire(p)
    if isinstance(p, ImagePart | FilePart):
        return media_to_wire(p)
    if isinstance(p, OpaquePart) and p.style == STYLE:
        return dict(p.data)
    return None


def response_parts(content: list[Part]) -> list[dict[str, Any]]:
    """A canonical answer as the parts of a Gemini ``candidates[0].content`` for a client."""
    placer = SignaturePlacer()
    out: list[dict[str, Any]] = []
    for p in content:
        wire: dict[str, Any] | None = None
        if isinstance(p, ReasoningPart):
            carrier = placer.flush()
            if carrier is not None:
                out.append(carrier)
            if p.text:
                out.append({"text": p.text, "thought": True})
            placer.add(p)
        else:
            # tool results never appear in an answer; other styles' opaque blocks have no form
            wire = model_part_to_wire(p)
        if wire is not None:
            out.append(placer.attach(wire))
    carrier = placer.flush()
    if carrier is not None:
        out.append(carrier)
    return out
