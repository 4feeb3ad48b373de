"""OpenAI Responses API (``POST /v1/responses``) <-> canonical model.

Wire reference: the official ``openai`` SDK types (``openai/types/responses``). Codex CLI is the
client this codec is shaped for: ~40 KB requests with developer messages, function tools, a
free-form ``custom`` tool (apply_patch with a Lark grammar), ``namespace`` tools, ``reasoning``,
``include: ["reasoning.encrypted_content"]`` and ``store: false``.

Requests are decoded in ``decode`` and encoded in ``encode``;
streams live in ``stream``. Mappings worth knowing (every one is in
docs/styles/openai_responses.md):

* ``instructions`` and leading ``system``/``developer`` messages -> ``Request.system``; later ones
  stay in place (sent back as ``developer`` messages);
* consecutive assistant-side items (``reasoning``, assistant ``message``, ``function_call``,
  ``custom_tool_call``, built-in tool calls) form one assistant turn, consecutive outputs one
  ``tool`` turn;
* ``reasoning`` items <-> ``ReasoningPart`` (summary text, ``encrypted_content`` as signature,
  item id); reasoning of another style reaches the client as an ``artifacts`` token in
  ``encrypted_content`` and is restored when the client echoes it;
* ``custom`` tools <-> ``ToolDef(kind="custom")``; other styles call them as one-string-parameter
  functions and the call comes back to the client as a ``custom_tool_call``;
* ``namespace`` tools: kept whole for a Responses provider, flattened into functions named
  ``<namespace>__<name>`` for other styles and split again for the client;
* built-in tools (web search, MCP, shell, ...) and their items -> ``OpaqueTool``/``OpaquePart``:
  kept for a Responses provider, dropped for other styles;
* ``previous_response_id``, ``conversation``, stored ``prompt``, ``item_reference`` and
  ``compaction`` items need OpenAI's server-side state: ``requires_responses_provider`` says so;
* ``store``, ``include``, ``metadata``, ``client_metadata``, ``text.verbosity`` and every other
  field without a canonical meaning travel in ``Request.extra``: kept for Responses upstreams,
  dropped for other styles. A request the gateway builds for a Responses provider from another
  style sets ``store: false`` (and asks for ``reasoning.encrypted_content`` when it reasons) so
  reasoning round-trips statelessly;
* ``stop``, ``seed``, ``top_k`` and the penalties have no Responses equivalent and are not sent
  to a Responses provider; a Responses client may send ``stop`` (an extension) for providers of
  other styles;
* an assistant message's ``phase`` and the client's own ids of messages and outputs are not kept
  (OpenAI accepts history without them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from app.canonical import (
    OpaquePart,
    Part,
    Request,
    Response,
    Style,
    ToolCallPart,
)
from app.errors import GatewayError, UpstreamProtocol
from app.styles.base import ModelInfo, RequestTarget
from app.styles.json_fields import (
    loose_object,
    provider_object,
)
from app.styles.openai_chat.codec import CODEC as _CHAT
from app.styles.openai_chat.codec import decode_error_body, error_to_wire
from app.styles.openai_responses.decode import STATEFUL_FIELDS, request_from_wire
from app.styles.openai_responses.encode import request_to_wire
from app.styles.openai_responses.fields import (
    STYLE,
    ClientTools,
    Envelope,
    item_for_part,
    output_item_id,
    part_from_item,
    response_id,
    status_for,
    stop_reason_from_wire,
    usage_from_wire,
)
from app.styles.openai_responses.stream import ResponsesStreamDecoder, ResponsesStreamEncoder
from app.styles.sse import SSEEvent

_STATEFUL_ITEMS = frozenset({"item_reference", "compaction"})

# Request headers a Codex-style client sends that an OpenAI Responses provider may use
# (session affinity for prompt caching, request correlation); never credentials.
_FORWARDED = frozenset(
    {
        "openai-beta", "originator", "session_id", "session-id", "conversation_id", "thread-id",
        "x-client-request-id", "x-codex-window-id", "x-codex-turn-metadata",
        "x-codex-beta-features", "x-openai-subagent",
    }
)  # fmt: skip

_encoder = msgspec.json.Encoder()


class OpenAIResponsesCodec:
    style: Style = "openai-responses"
    forwarded_headers: frozenset[str] = _FORWARDED
    # the Responses API has no stop parameter: the gateway cuts answers itself (stop_sequences.py)
    takes_stop_sequences = False

    # ------------------------------------------------------------------ client side

    def requires_same_style(self, req: Request) -> str | None:
        return requires_responses_provider(req)

    def decode_request(self, body: Any, target: RequestTarget) -> Request:
        return request_from_wire(body, target)

    def encode_response(self, resp: Response, req: Request) -> bytes:
        return _encoder.encode(response_to_wire(resp, req))

    def stream_encoder(self, req: Request) -> ResponsesStreamEncoder:
        return ResponsesStreamEncoder(req)

    def encode_error(self, err: GatewayError) -> tuple[int, bytes]:
        return err.status, _encoder.encode(error_to_wire(err))

    def encode_models(self, models: list[ModelInfo]) -> bytes:
        return _CHAT.encode_models(models)

    # ------------------------------------------------------------------ provider side

    def upstream_url(self, base_url: str, model: str, stream: bool) -> str:
        return base_url.rstrip("/") + "/responses"

    def auth_headers(self, api_key: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {api_key}")] if api_key else []

    def encode_request(self, req: Request, model: str) -> dict[str, Any]:
        return request_to_wire(req, model)

    def passthrough_body(self, body: dict[str, Any], model: str) -> dict[str, Any] | None:
        # response.completed always carries usage: nothing to add for the gateway's accounting
        return {**body, "model": model} if body.get("model") != model else None

    def passthrough_filter(self, req: Request) -> Callable[[SSEEvent], bool] | None:
        return None

    def decode_response(self, body: bytes) -> Response:
        return response_from_wire(provider_object(body))

    def stream_decoder(self) -> ResponsesStreamDecoder:
        return ResponsesStreamDecoder()

    def decode_error(self, status: int, body: bytes) -> tuple[str, str | None]:
        return decode_error_body(body)


def requires_responses_provider(req: Request) -> str | None:
    """Why this request can only be served by an OpenAI Responses provider, or None.

    ``previous_response_id``, ``conversation`` and a stored ``prompt`` name state OpenAI keeps;
    ``item_reference`` and ``compaction`` input items stand for history only OpenAI can read.
    Translated for another style, the model would silently miss that context, so the gateway
    should route such a request to a Responses provider or refuse it (400).
    """
    if req.style != STYLE:
        return None
    for key in STATEFUL_FIELDS:
        if req.extra.get(key):
            return f"'{key}' refers to state stored by OpenAI; only an OpenAI Responses provider can serve it"
    for m in req.messages:
        for p in m.content:
            if isinstance(p, OpaquePart) and p.style == STYLE and p.data.get("type") in _STATEFUL_ITEMS:
                return (
                    f"an input item of type '{p.data.get('type')}' refers to history stored or encrypted "
                    "by OpenAI; only an OpenAI Responses provider can serve it"
                )
    return None


# ====================================================================== responses


def response_from_wire(obj: dict[str, Any]) -> Response:
    output = obj.get("output")
    if not isinstance(output, list):
        err = obj.get("error")
        if isinstance(err, dict) and err.get("message"):
            raise UpstreamProtocol(f"upstream error: {err['message']}", provider="")
        raise UpstreamProtocol("responses answer without output", provider="")
    if obj.get("status") == "failed":
        err = loose_object(obj.get("error"))
        raise UpstreamProtocol(
            f"upstream response failed: {err.get('message') or 'no reason given'}", provider=""
        )
    parts: list[Part] = []
    refused = False
    for item in output:
        if not isinstance(item, dict):
            continue
        part = part_from_item(item)
        if part is not None:
            parts.append(part)
        if item.get("type") == "message" and any(
            isinstance(c, dict) and c.get("type") == "refusal" for c in item.get("content") or []
        ):
            refused = True
    has_calls = any(isinstance(p, ToolCallPart) for p in parts)
    stop = stop_reason_from_wire(obj, has_calls)
    if refused and stop == "end_turn":
        stop = "refusal"
    created = obj.get("created_at")
    return Response(
        id=str(obj.get("id") or ""),
        model=str(obj.get("model") or ""),
        content=parts,
        stop_reason=stop,
        usage=usage_from_wire(obj.get("usage")),
        created=int(created) if isinstance(created, int | float) else 0,
    )


def response_to_wire(resp: Response, req: Request) -> dict[str, Any]:
    rid = response_id(resp.id)
    tools = ClientTools.of(req)
    output: list[dict[str, Any]] = []
    used: set[str] = set()
    for part in resp.content:
        kind = tools.kind(part)
        if kind is None:
            continue
        item = item_for_part(part, output_item_id(part, rid, kind, len(output), used), tools)
        if item is not None:
            output.append(item)
    return Envelope.of(req).response(
        resp_id=rid,
        model=resp.model or req.model,
        created=resp.created or int(time.time()),
        status=status_for(resp.stop_reason),
        output=output,
        usage=resp.usage,
        stop=resp.stop_reason,
    )


CODEC = OpenAIResponsesCodec()
