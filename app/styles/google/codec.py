"""Google GenAI / Gemini API (``POST /v1beta/models/{model}:generateContent`` and
``:streamGenerateContent``) <-> canonical model.

Wire reference: the official ``google-genai`` SDK (``google/genai/types.py`` and the
``_..._to_mldev`` converters in ``models.py``, which show the camelCase JSON the REST API
receives). The API accepts camelCase and snake_case field names (the Python SDK sends
``mime_type``, ``thinking_budget`` inside nested objects), so the decoder reads both.

Client side (a Gemini client such as Gemini CLI calls the gateway):

* the model and the stream flag come from the URL (``RequestTarget``);
* ``contents`` roles ``user``/``function`` -> user and tool messages (``functionResponse``
  parts become ToolResultParts in a ``tool`` message, in place), ``model`` -> assistant;
* ``text`` with ``thought: true`` -> ReasoningPart; a ``thoughtSignature`` on any other part ->
  a text-less ReasoningPart just before it (unwrapped by ``artifacts.from_client``); Google's
  dummy signatures (``skip_thought_signature_validator``, which Gemini CLI injects itself) are
  dropped, the gateway re-adds them where needed;
* ``functionCall`` without ``id`` -> ``call_{content index}_{call index}``; a
  ``functionResponse`` pairs by id, else with the earliest unanswered call of the same name;
* ``functionResponse.response``: ``{"output"|"content"|"result": "<text>"}`` -> that text,
  ``{"error": x}`` -> an error result, any other object -> its JSON text; ``parts`` (images,
  files) -> result content;
* ``inlineData`` / ``fileData`` -> ImagePart (``image/*``) or FilePart; ``executableCode``,
  ``codeExecutionResult`` and unknown parts -> OpaquePart (Gemini providers only);
* ``parameters`` / ``parametersJsonSchema`` / ``responseSchema`` / ``responseJsonSchema``
  -> JSON Schema (``schema.to_json_schema``); ``googleSearch``, ``codeExecution``,
  ``urlContext``... tools -> OpaqueTool;
* ``functionCallingConfig`` AUTO -> auto, NONE -> none, ANY -> required (``tool`` when exactly
  one allowed name), VALIDATED -> auto; ``allowedFunctionNames`` -> ``allowed``;
* ``thinkingConfig``: ``thinkingBudget`` -1 -> adaptive, 0 -> disabled, N -> enabled with
  budget N; ``thinkingLevel`` -> effort; ``includeThoughts`` -> include_thoughts;
* ``responseMimeType: application/json`` -> json_object, with a schema -> json_schema;
* ``candidateCount``, ``responseModalities``, ``speechConfig``, ``safetySettings``,
  ``cachedContent``, ``labels`` and every other unknown field -> ``Request.extra`` (written back
  for Gemini providers only: other styles answer with one candidate and no safety settings).

Answers to Gemini clients (``fields.response_parts``, ``GoogleStreamEncoder``):

* reasoning text -> ``thought: true`` parts; every reasoning signature (native, or an
  ``artifacts`` token for other providers' artifacts) rides as ``thoughtSignature`` on the next
  non-thought part, because Gemini CLI drops thought parts from its history but keeps function
  calls with their signature (``SignaturePlacer``);
* finish: end_turn/tool_use/stop_sequence/pause -> STOP, max_tokens -> MAX_TOKENS,
  content_filter and refusal -> SAFETY, error -> MALFORMED_FUNCTION_CALL;
* usage: promptTokenCount = all prompt tokens, candidatesTokenCount = output - reasoning,
  thoughtsTokenCount = reasoning, cachedContentTokenCount = cache reads;
* streams: SSE (``alt=sse``) or the progressive JSON array (``stream_encoder(req, sse=False)``);
  a tool call goes out whole once its arguments are complete.

Provider side (the gateway calls a Gemini API): ``encode`` (request body),
``stream`` (answers and streams), ``schema`` (tool and response schemas).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec

from app.canonical import (
    Request,
    Response,
    Style,
)
from app.errors import GatewayError, UpstreamProtocol
from app.styles.base import ModelInfo, RequestTarget
from app.styles.google.decode import decode_request
from app.styles.google.encode import request_to_wire
from app.styles.google.fields import (
    FINISH_REASON,
    decode_error_body,
    encode_json,
    error_to_wire,
    response_parts,
    usage_to_wire,
)
from app.styles.google.stream import GoogleChunkDecoder, GoogleStreamEncoder, response_from_wire
from app.styles.sse import SSEEvent

_API_VERSION = re.compile(r"/v\d+(alpha|beta)?\d*$")

# Gemini's published limits, reported for gateway routes whose real limits the gateway does not know
DEFAULT_INPUT_LIMIT = 1_048_576
DEFAULT_OUTPUT_LIMIT = 65_536


class GoogleCodec:
    style: Style = "google-genai"
    forwarded_headers: frozenset[str] = frozenset()
    takes_stop_sequences = True

    # ------------------------------------------------------------------ client side

    def requires_same_style(self, req: Request) -> str | None:
        return None  # everything this style says can be translated

    def decode_request(self, body: Any, target: RequestTarget) -> Request:
        return decode_request(body, target)

    def encode_response(self, resp: Response, req: Request) -> bytes:
        return encode_json(response_to_wire(resp, req))

    def stream_encoder(self, req: Request, *, sse: bool = True) -> GoogleStreamEncoder:
        """``sse=False`` when the client called ``streamGenerateContent`` without ``alt=sse``."""
        return GoogleStreamEncoder(req, sse=sse)

    def json_stream_encoder(self, req: Request) -> GoogleStreamEncoder:
        """The gateway's hook for ``streamGenerateContent`` without ``alt=sse``."""
        return GoogleStreamEncoder(req, sse=False)

    def encode_error(self, err: GatewayError) -> tuple[int, bytes]:
        return err.status, encode_json(error_to_wire(err))

    def encode_models(self, models: list[ModelInfo]) -> bytes:
        return encode_json({"models": [model_to_wire(m) for m in models]})

    def encode_model(self, model: ModelInfo) -> bytes:
        """``GET /v1beta/models/{model}``."""
        return encode_json(model_to_wire(model))

    # ------------------------------------------------------------------ provider side

    def upstream_url(self, base_url: str, model: str, stream: bool) -> str:
        root = base_url.rstrip("/")
        if not _API_VERSION.search(root):
            root += "/v1beta"
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"{root}/models/{model.removeprefix('models/')}:{method}"

    def auth_headers(self, api_key: str) -> list[tuple[str, str]]:
        return [("x-goog-api-key", api_key)] if api_key else []

    def encode_request(self, req: Request, model: str) -> dict[str, Any]:
        return request_to_wire(req, model)

    def passthrough_body(self, body: dict[str, Any], model: str) -> dict[str, Any] | None:
        return None  # the model is in the URL, never in the body

    def passthrough_filter(self, req: Request) -> Callable[[SSEEvent], bool] | None:
        return None

    def decode_response(self, body: bytes) -> Response:
        try:
            obj = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            raise UpstreamProtocol(f"invalid JSON from upstream: {exc}", provider="") from None
        return response_from_wire(obj)

    def stream_decoder(self) -> GoogleChunkDecoder:
        return GoogleChunkDecoder()

    def decode_error(self, status: int, body: bytes) -> tuple[str, str | None]:
        return decode_error_body(body)


def response_to_wire(resp: Response, req: Request) -> dict[str, Any]:
    out: dict[str, Any] = {
        "candidates": [
            {
                "content": {"role": "model", "parts": response_parts(resp.content)},
                "finishReason": FINISH_REASON[resp.stop_reason],
                "index": 0,
            }
        ],
        "usageMetadata": usage_to_wire(resp.usage),
        "modelVersion": resp.model or req.model,
    }
    if resp.id:
        out["responseId"] = resp.id
    return out


def model_to_wire(m: ModelInfo) -> dict[str, Any]:
    return {
        "name": f"models/{m.id}",
        "baseModelId": m.id,
        "version": "001",
        "displayName": m.display_name or m.id,
        "description": f"Frugal Gateway route {m.id} ({m.owned_by})",
        "inputTokenLimit": DEFAULT_INPUT_LIMIT,
        "outputTokenLimit": DEFAULT_OUTPUT_LIMIT,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    }


CODEC = GoogleCodec()
