"""OpenAI Chat Completions (``POST /v1/chat/completions``) <-> canonical model.

Wire reference: the official ``openai`` SDK types (``openai/types/chat``). Beyond OpenAI itself
this style is spoken by OpenRouter, vLLM, Ollama, LM Studio, DeepSeek and most local servers,
so the decoder also accepts their reasoning fields (``reasoning_content``, ``reasoning``).

Requests are decoded in ``decode`` and encoded in ``encode``; streams
live in ``stream``. Mappings worth knowing (all of them: docs/styles/openai_chat.md):

* leading ``system``/``developer`` messages -> ``Request.system``; later ones stay in place;
* ``reasoning_content`` on assistant messages <-> text-only ``ReasoningPart`` of origin
  ``openai-chat`` (DeepSeek-style upstreams need it back on tool-call turns);
* custom (free-form) tools are sent upstream as one-string-parameter functions;
* images inside tool results (which Chat tool messages cannot hold) follow the tool messages in
  a user message;
* ``n`` > 1, ``logprobs``, ``logit_bias``, audio and other fields without a canonical meaning
  travel in ``Request.extra``: kept for Chat upstreams, dropped for other styles.
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
    StopReason,
    Style,
    TextPart,
    ToolCallPart,
)
from app.errors import GatewayError, UpstreamProtocol
from app.styles import artifacts, conversions, ids
from app.styles.base import ModelInfo, RequestTarget
from app.styles.json_fields import (
    loose_object,
    provider_object,
)
from app.styles.openai_chat.decode import request_from_wire
from app.styles.openai_chat.encode import request_to_wire
from app.styles.openai_chat.fields import (
    FINISH_REASON,
    STOP_REASON,
    tool_call_to_wire,
    usage_from_wire,
    usage_to_wire,
)
from app.styles.openai_chat.stream import ChatStreamDecoder, ChatStreamEncoder, usage_frame_filter
from app.styles.sse import SSEEvent

STYLE = "openai-chat"


_encoder = msgspec.json.Encoder()


class OpenAIChatCodec:
    style: Style = "openai-chat"
    forwarded_headers: frozenset[str] = frozenset()
    takes_stop_sequences = True

    # ------------------------------------------------------------------ client side

    def requires_same_style(self, req: Request) -> str | None:
        return None  # everything this style says can be translated

    def decode_request(self, body: Any, target: RequestTarget) -> Request:
        return request_from_wire(body, target)

    def encode_response(self, resp: Response, req: Request) -> bytes:
        return _encoder.encode(response_to_wire(resp, req))

    def stream_encoder(self, req: Request) -> ChatStreamEncoder:
        return ChatStreamEncoder(req)

    def encode_error(self, err: GatewayError) -> tuple[int, bytes]:
        return err.status, _encoder.encode(error_to_wire(err))

    def encode_models(self, models: list[ModelInfo]) -> bytes:
        return _encoder.encode(
            {
                "object": "list",
                "data": [
                    {"id": m.id, "object": "model", "created": m.created, "owned_by": m.owned_by}
                    for m in models
                ],
            }
        )

    # ------------------------------------------------------------------ provider side

    def upstream_url(self, base_url: str, model: str, stream: bool) -> str:
        return base_url.rstrip("/") + "/chat/completions"

    def auth_headers(self, api_key: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {api_key}")] if api_key else []

    def encode_request(self, req: Request, model: str) -> dict[str, Any]:
        return request_to_wire(req, model)

    def passthrough_body(self, body: dict[str, Any], model: str) -> dict[str, Any] | None:
        out: dict[str, Any] | None = None
        if body.get("model") != model:
            out = {**body, "model": model}
        if body.get("stream") is True:
            opts = body.get("stream_options")
            if not (isinstance(opts, dict) and opts.get("include_usage")):
                # the gateway needs the usage chunk to count tokens; usage_frame_filter hides it
                # from a client that did not ask for it
                out = out if out is not None else dict(body)
                out["stream_options"] = {**(opts if isinstance(opts, dict) else {}), "include_usage": True}
        return out

    def passthrough_filter(self, req: Request) -> Callable[[SSEEvent], bool] | None:
        return usage_frame_filter(req)

    def decode_response(self, body: bytes) -> Response:
        return response_from_wire(provider_object(body))

    def stream_decoder(self) -> ChatStreamDecoder:
        return ChatStreamDecoder()

    def decode_error(self, status: int, body: bytes) -> tuple[str, str | None]:
        return decode_error_body(body)


# ====================================================================== responses


def response_from_wire(obj: dict[str, Any]) -> Response:
    choices = obj.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UpstreamProtocol("chat completion without choices", provider="")
    choice = choices[0]
    msg = loose_object(choice.get("message"))
    parts: list[Part] = []
    answer_nonce = ids.nonce()
    reasoning = msg.get("reasoning_content") or msg.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        parts.append(ReasoningPart(text=reasoning, origin="openai-chat"))
    content = msg.get("content")
    if isinstance(content, str) and content:
        parts.append(TextPart(content))
    elif isinstance(content, list):
        for c in content:
            if isinstance(c, dict) and isinstance(c.get("text"), str):
                parts.append(TextPart(c["text"]))
    stop: StopReason = STOP_REASON.get(str(choice.get("finish_reason")), "end_turn")
    refusal = msg.get("refusal")
    if isinstance(refusal, str) and refusal:
        parts.append(TextPart(refusal))
        stop = "refusal"
    for tc in msg.get("tool_calls") or []:
        if not isinstance(tc, dict):
            continue
        if tc.get("type") == "custom" and isinstance(tc.get("custom"), dict):
            c = tc["custom"]
            parts.append(
                ToolCallPart(
                    str(tc.get("id", "")), str(c.get("name", "")), str(c.get("input", "")), kind="custom"
                )
            )
            continue
        fn = loose_object(tc.get("function"))
        args = fn.get("arguments", "")
        if not isinstance(args, str):
            args = msgspec.json.encode(args).decode()
        # a provider that sends no call id (some local servers) gets ids unique to this answer
        call_id = str(tc.get("id") or ids.call_id(answer_nonce, len(parts)))
        parts.append(ToolCallPart(call_id, str(fn.get("name", "")), args))
    if stop == "end_turn" and any(isinstance(p, ToolCallPart) for p in parts):
        stop = "tool_use"
    return Response(
        id=str(obj.get("id") or ""),
        model=str(obj.get("model") or ""),
        content=parts,
        stop_reason=stop,
        usage=usage_from_wire(obj.get("usage")),
        created=int(obj.get("created") or 0),
    )


def response_to_wire(resp: Response, req: Request) -> dict[str, Any]:
    text = resp.text()
    msg: dict[str, Any] = {"role": "assistant", "content": text if text or not resp.tool_calls() else None}
    reasoning = "".join(p.text for p in resp.content if isinstance(p, ReasoningPart))
    if reasoning:
        msg["reasoning_content"] = reasoning
    if resp.stop_reason == "refusal":
        msg["refusal"] = text
    if resp.tool_calls():
        custom = conversions.custom_tool_names(req.tools)
        wire_calls = []
        pending: list[ReasoningPart] = []
        for p in resp.content:
            if isinstance(p, ReasoningPart) and artifacts.carried(p, "openai-chat"):
                pending.append(p)
            elif isinstance(p, ToolCallPart):
                call = tool_call_to_wire(p, custom)
                call["id"] = artifacts.id_with_artifacts(p.id, pending)
                pending = []
                wire_calls.append(call)
        msg["tool_calls"] = wire_calls
    return {
        "id": resp.id or ids.derived("chatcmpl-", "", ids.nonce()),
        "object": "chat.completion",
        "created": resp.created or int(time.time()),
        "model": resp.model,
        "choices": [
            {"index": 0, "message": msg, "finish_reason": FINISH_REASON[resp.stop_reason], "logprobs": None}
        ],
        "usage": usage_to_wire(resp.usage),
    }


# ====================================================================== errors


def error_to_wire(err: GatewayError) -> dict[str, Any]:
    code: str | None = None
    if err.status == 401:
        code = "invalid_api_key"
    elif err.status == 429:
        code = "rate_limit_exceeded"
    elif err.status == 404:
        code = "model_not_found" if "model" in err.message else None
    return {"error": {"message": err.message, "type": err.kind, "param": None, "code": code}}


def decode_error_body(body: bytes) -> tuple[str, str | None]:
    """(message, type) from an OpenAI-style error body; plain text bodies are summarised."""
    try:
        obj = msgspec.json.decode(body)
    except msgspec.DecodeError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:300] or "empty error body"), None
    if isinstance(obj, dict):
        e = obj.get("error")
        if isinstance(e, dict):
            return str(e.get("message") or e)[:2000], e.get("type") if isinstance(
                e.get("type"), str
            ) else None
        if isinstance(e, str):
            return e[:2000], None
        if isinstance(obj.get("message"), str):
            return obj["message"][:2000], None
    if isinstance(obj, list) and obj and isinstance(obj[0], dict) and isinstance(obj[0].get("error"), dict):
        e = obj[0]["error"]
        return str(e.get("message") or e)[:2000], None
    return body.decode("utf-8", "replace")[:300], None


CODEC = OpenAIChatCodec()
