"""OpenAI Responses API (``POST /v1/responses``) <-> canonical model.

Wire reference: the official ``openai`` SDK types (``openai/types/responses``). Codex CLI is the
client this codec is shaped for: ~40 KB requests with developer messages, function tools, a
free-form ``custom`` tool (apply_patch with a Lark grammar), ``namespace`` tools, ``reasoning``,
``include: ["reasoning.encrypted_content"]`` and ``store: false``.

Mappings worth knowing (README, "Style conversion"; every one is in
``/work/notes/styles/openai_responses.md``):

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
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from app.canonical import (
    CacheControl,
    FilePart,
    ImagePart,
    Message,
    OpaquePart,
    OpaqueTool,
    Part,
    ReasoningConfig,
    ReasoningPart,
    Request,
    Response,
    ResponseFormat,
    Style,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolDef,
    ToolResultPart,
)
from app.errors import BadRequest, GatewayError, UpstreamProtocol
from app.styles import artifacts, conversions
from app.styles.base import ModelInfo, RequestTarget
from app.styles.json_fields import (
    as_list,
    as_object,
    data_url,
    fail,
    loose_object,
    opt_bool,
    opt_float,
    opt_int,
    opt_list,
    opt_object,
    opt_str,
    provider_object,
    req_str,
    split_data_url,
    str_list,
)
from app.styles.openai_chat import CODEC as _CHAT
from app.styles.openai_chat import decode_error_body, error_to_wire
from app.styles.openai_responses_fields import (
    STYLE,
    ClientTools,
    Envelope,
    flat_name,
    item_for_part,
    namespace_tools,
    namespaced_names,
    output_item_id,
    part_from_item,
    response_id,
    status_for,
    stop_reason_from_wire,
    text_format_to_wire,
    tool_choice_to_wire,
    tools_to_wire,
    usage_from_wire,
)
from app.styles.openai_responses_stream import ResponsesStreamDecoder, ResponsesStreamEncoder
from app.styles.sse import SSEEvent

_KNOWN_FIELDS = frozenset(
    {
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "stream",
        "max_output_tokens", "temperature", "top_p", "text", "reasoning", "user",
        "safety_identifier", "prompt_cache_key", "stop",
    }
)  # fmt: skip

_TOOL_FIELDS = frozenset({"type", "name", "description", "parameters", "strict", "format"})
_EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh", "max"})
_SUMMARIES = frozenset({"auto", "concise", "detailed"})
_TOOL_CHOICE_MODES = frozenset({"auto", "none", "required"})

# Opaque input items answering an earlier call: they join the tool turn, every other opaque
# item (built-in tool calls, references, compaction) joins the assistant turn.
_OUTPUT_ITEMS = frozenset({"mcp_approval_response", "tool_search_output", "additional_tools"})

# Items and fields that point at state only OpenAI holds (see requires_responses_provider).
_STATEFUL_FIELDS = ("previous_response_id", "conversation", "prompt")
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
        obj = as_object(body, "body")
        model = target.model or req_str(obj, "model", "")
        system, messages = _decode_input(obj)
        tools, opaque_tools = _decode_tools(obj)
        extra = {k: v for k, v in obj.items() if k not in _KNOWN_FIELDS}
        tool_choice, raw_choice = _decode_tool_choice(obj)
        if raw_choice is not None:
            extra["tool_choice"] = raw_choice
        text = opt_object(obj, "text", "")
        if text and any(k != "format" for k in text):
            extra["text"] = {k: v for k, v in text.items() if k != "format"}
        reasoning = _decode_reasoning(obj, extra)
        stream = opt_bool(obj, "stream", "") or False
        return Request(
            model=model,
            messages=messages,
            style="openai-responses",
            system=system,
            tools=tools,
            opaque_tools=opaque_tools,
            tool_choice=tool_choice,
            parallel_tool_calls=opt_bool(obj, "parallel_tool_calls", ""),
            stream=stream,
            stream_usage=stream,  # response.completed always carries usage
            max_tokens=opt_int(obj, "max_output_tokens", ""),
            temperature=opt_float(obj, "temperature", ""),
            top_p=opt_float(obj, "top_p", ""),
            # not a Responses parameter: accepted for clients of other providers, never sent to
            # OpenAI (which refuses unknown parameters)
            stop=str_list(obj, "stop", ""),
            response_format=_decode_text_format(text),
            reasoning=reasoning,
            user=opt_str(obj, "safety_identifier", "") or opt_str(obj, "user", ""),
            prompt_cache_key=opt_str(obj, "prompt_cache_key", ""),
            extra=extra,
        )

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
    for key in _STATEFUL_FIELDS:
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


# ====================================================================== requests: wire -> canonical


def _decode_input(obj: dict[str, Any]) -> tuple[list[TextPart], list[Message]]:
    reader = _InputReader()
    instructions = obj.get("instructions")
    if isinstance(instructions, str):
        if instructions:
            reader.system.append(TextPart(instructions))
    elif isinstance(instructions, list):  # the form a Response object echoes
        for i, item in enumerate(instructions):
            reader.add(item, f"instructions[{i}]")
    elif instructions is not None:
        raise fail("instructions", "a string", instructions)
    raw = obj.get("input")
    if raw is None:
        if any(obj.get(k) for k in _STATEFUL_FIELDS):
            return reader.system, reader.messages
        raise BadRequest("input: required field is missing")
    if isinstance(raw, str):
        return reader.system, [*reader.messages, Message("user", [TextPart(raw)])]
    items = as_list(raw, "input")
    if not items and not any(obj.get(k) for k in _STATEFUL_FIELDS):
        raise BadRequest("input: must contain at least one item")
    for i, item in enumerate(items):
        reader.add(item, f"input[{i}]")
    return reader.system, reader.messages


class _InputReader:
    """Folds input items into canonical messages: consecutive assistant-side items make one
    assistant turn, consecutive outputs one tool turn."""

    def __init__(self) -> None:
        self.system: list[TextPart] = []
        self.messages: list[Message] = []
        self._names: dict[str, str] = {}
        self._leading = True

    def add(self, raw: Any, path: str) -> None:
        item = as_object(raw, path)
        kind = item.get("type")
        if kind is None:  # EasyInputMessage and ItemReference may omit their type
            kind = "message" if "role" in item else "item_reference" if "id" in item else None
        if kind == "message":
            self._message(item, path)
            return
        self._leading = False
        if kind in ("function_call", "custom_tool_call"):
            self._call(item, path, custom=kind == "custom_tool_call")
        elif kind in ("function_call_output", "custom_tool_call_output"):
            call_id = req_str(item, "call_id", path)
            self._turn(
                "tool",
                ToolResultPart(
                    call_id,
                    _decode_output(item.get("output"), f"{path}.output"),
                    name=self._names.get(call_id),
                    kind="custom" if kind == "custom_tool_call_output" else "function",
                ),
            )
        elif kind == "reasoning":
            part = _decode_reasoning_item(item, path)
            if part is not None:
                self._turn("assistant", part)
        elif isinstance(kind, str):
            is_output = kind.endswith("_output") or kind in _OUTPUT_ITEMS
            data = item if "type" in item else {"type": kind, **item}
            self._turn("tool" if is_output else "assistant", OpaquePart(STYLE, data))
        else:
            raise fail(f"{path}.type", "an input item type", kind)

    def _turn(self, role: str, part: Part) -> None:
        last = self.messages[-1] if self.messages else None
        if last is not None and last.role == role:
            last.content.append(part)
        else:
            self.messages.append(Message("assistant" if role == "assistant" else "tool", [part]))

    def _message(self, item: dict[str, Any], path: str) -> None:
        role = item.get("role")
        content = item.get("content")
        cpath = f"{path}.content"
        if role in ("system", "developer"):
            parts = _decode_text_content(content, cpath)
            if self._leading:
                self.system.extend(parts)
            else:
                self.messages.append(Message("system", list(parts)))
            return
        self._leading = False
        if role == "user":
            self.messages.append(Message("user", _decode_user_content(content, cpath)))
        elif role == "assistant":
            for part in _decode_assistant_content(content, cpath):
                self._turn("assistant", part)
        else:
            raise BadRequest(f"{path}.role: expected one of user, assistant, system, developer, got {role!r}")

    def _call(self, item: dict[str, Any], path: str, custom: bool) -> None:
        call_id = req_str(item, "call_id", path)
        name = flat_name(opt_str(item, "namespace", path), req_str(item, "name", path))
        if custom:
            args = opt_str(item, "input", path) or ""
        else:
            value = item.get("arguments", "")
            if isinstance(value, dict):  # some clients send an object instead of JSON text
                value = _encoder.encode(value).decode()
            elif not isinstance(value, str):
                raise fail(f"{path}.arguments", "a string", value)
            args = value
        self._names[call_id] = name
        self._turn(
            "assistant",
            ToolCallPart(
                call_id,
                name,
                args,
                kind="custom" if custom else "function",
                item_id=opt_str(item, "id", path),
            ),
        )


def _decode_reasoning_item(item: dict[str, Any], path: str) -> ReasoningPart | None:
    texts: list[str] = []
    for key in ("summary", "content"):
        for j, s in enumerate(opt_list(item, key, path)):
            entry = as_object(s, f"{path}.{key}[{j}]")
            text = req_str(entry, "text", f"{path}.{key}[{j}]")
            if text:
                texts.append(text)
    encrypted = opt_str(item, "encrypted_content", path)
    rid = opt_str(item, "id", path)
    if not texts and not encrypted and not rid:
        return None
    part = artifacts.from_client(encrypted, "\n\n".join(texts), STYLE)
    if part.origin == STYLE and part.item_id is None:
        part.item_id = rid
    return part


def _cache_control(p: dict[str, Any]) -> CacheControl | None:
    # Responses' explicit prompt-cache breakpoint; its TTLs (30m/12h) are not Anthropic's, so
    # only the position is kept
    return CacheControl() if isinstance(p.get("prompt_cache_breakpoint"), dict) else None


def _decode_text_content(content: Any, path: str) -> list[TextPart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)]
    parts: list[TextPart] = []
    for j, item in enumerate(as_list(content, path)):
        p = as_object(item, f"{path}[{j}]")
        kind = p.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append(TextPart(req_str(p, "text", f"{path}[{j}]"), cache_control=_cache_control(p)))
        else:
            raise BadRequest(f"{path}[{j}].type: expected a text part here, got {kind!r}")
    return parts


def _decode_user_content(content: Any, path: str) -> list[Part]:
    if content is None:
        raise BadRequest(f"{path}: required for user messages")
    if isinstance(content, str):
        return [TextPart(content)]
    parts: list[Part] = []
    for j, item in enumerate(as_list(content, path)):
        ppath = f"{path}[{j}]"
        p = as_object(item, ppath)
        kind = p.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append(TextPart(req_str(p, "text", ppath), cache_control=_cache_control(p)))
        elif kind == "input_image":
            parts.append(_decode_image(p, ppath))
        elif kind == "input_file":
            parts.append(_decode_file(p, ppath))
        elif isinstance(kind, str):
            # input_audio and future part types: kept for Responses upstreams only
            parts.append(OpaquePart(STYLE, p))
        else:
            raise fail(f"{ppath}.type", "a content part type", kind)
    return parts


def _decode_assistant_content(content: Any, path: str) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    parts: list[Part] = []
    for j, item in enumerate(as_list(content, path)):
        p = as_object(item, f"{path}[{j}]")
        kind = p.get("type")
        if kind in ("output_text", "input_text", "text"):
            text = req_str(p, "text", f"{path}[{j}]")
        elif kind == "refusal":
            text = req_str(p, "refusal", f"{path}[{j}]")
        else:
            parts.append(OpaquePart(STYLE, p))
            continue
        if text:
            parts.append(TextPart(text))
    return parts


def _decode_image(p: dict[str, Any], path: str) -> ImagePart:
    url = opt_str(p, "image_url", path)
    detail = opt_str(p, "detail", path)
    cc = _cache_control(p)
    if url:
        inline = split_data_url(url)
        if inline:
            return ImagePart(data=inline[1], media_type=inline[0], detail=detail, cache_control=cc)
        return ImagePart(url=url, detail=detail, cache_control=cc)
    file_id = opt_str(p, "file_id", path)
    if not file_id:
        raise BadRequest(f"{path}: an input_image needs image_url or file_id")
    return ImagePart(file_id=file_id, detail=detail, cache_control=cc)


def _decode_file(p: dict[str, Any], path: str) -> FilePart:
    filename = opt_str(p, "filename", path)
    cc = _cache_control(p)
    file_data = opt_str(p, "file_data", path)
    if file_data:
        inline = split_data_url(file_data)
        if inline:
            return FilePart(data=inline[1], media_type=inline[0], filename=filename, cache_control=cc)
        media = "application/pdf" if (filename or "").lower().endswith(".pdf") else None
        return FilePart(data=file_data, media_type=media, filename=filename, cache_control=cc)
    url = opt_str(p, "file_url", path)
    file_id = opt_str(p, "file_id", path)
    if not url and not file_id:
        raise BadRequest(f"{path}: an input_file needs file_data, file_url or file_id")
    return FilePart(url=url, file_id=file_id, filename=filename, cache_control=cc)


def _decode_output(output: Any, path: str) -> list[TextPart | ImagePart | FilePart]:
    if output is None:
        return []
    if isinstance(output, str):
        return [TextPart(output)] if output else []
    out: list[TextPart | ImagePart | FilePart] = []
    for p in _decode_user_content(output, path):
        if not isinstance(p, TextPart | ImagePart | FilePart):
            kind = p.data.get("type") if isinstance(p, OpaquePart) else type(p).__name__
            raise BadRequest(f"{path}: a '{kind}' part cannot be a tool output")
        out.append(p)
    return out


def _decode_tools(obj: dict[str, Any]) -> tuple[list[ToolDef], list[OpaqueTool]]:
    tools: list[ToolDef] = []
    opaque: list[OpaqueTool] = []
    for i, item in enumerate(opt_list(obj, "tools", "")):
        path = f"tools[{i}]"
        t = as_object(item, path)
        kind = t.get("type")
        if kind in ("function", "custom"):
            tools.append(_decode_tool(t, path, prefix=None))
        elif kind == "namespace":
            # kept whole for a Responses provider; its members are also flat functions so
            # other styles can call them
            ns = req_str(t, "name", path)
            opaque.append(OpaqueTool(STYLE, t))
            for j, inner in enumerate(namespace_tools(t)):
                if inner.get("type") in ("function", "custom"):
                    tools.append(_decode_tool(inner, f"{path}.tools[{j}]", prefix=ns))
        elif isinstance(kind, str):
            opaque.append(OpaqueTool(STYLE, t))
        else:
            raise fail(f"{path}.type", "a tool type", kind)
    return tools, opaque


def _decode_tool(t: dict[str, Any], path: str, prefix: str | None) -> ToolDef:
    name = flat_name(prefix, req_str(t, "name", path))
    # defer_loading, output_schema, allowed_callers, ...: for a Responses provider only
    extra = {k: v for k, v in t.items() if k not in _TOOL_FIELDS}
    if t.get("type") == "custom":
        return ToolDef(
            name=name,
            description=opt_str(t, "description", path),
            kind="custom",
            format=opt_object(t, "format", path),
            extra=extra,
        )
    return ToolDef(
        name=name,
        description=opt_str(t, "description", path),
        parameters=opt_object(t, "parameters", path),
        strict=opt_bool(t, "strict", path),
        extra=extra,
    )


def _decode_tool_choice(obj: dict[str, Any]) -> tuple[ToolChoice | None, Any]:
    """(canonical choice, the raw choice to keep in ``extra`` when canonical cannot say it)."""
    tc = obj.get("tool_choice")
    if tc is None:
        return None, None
    if isinstance(tc, str):
        if tc in _TOOL_CHOICE_MODES:
            return ToolChoice(tc), None  # type: ignore[arg-type]
        raise BadRequest(f"tool_choice: expected auto, none, required or an object, got {tc!r}")
    t = as_object(tc, "tool_choice")
    kind = t.get("type")
    if kind in ("function", "custom"):
        return ToolChoice("tool", name=req_str(t, "name", "tool_choice")), None
    if kind == "allowed_tools":
        names: list[str] = []
        builtin = False
        for j, item in enumerate(opt_list(t, "tools", "tool_choice")):
            it = as_object(item, f"tool_choice.tools[{j}]")
            if it.get("type") in ("function", "custom") and isinstance(it.get("name"), str):
                names.append(it["name"])
            else:
                builtin = True
        mode = "required" if t.get("mode") == "required" else "auto"
        return ToolChoice(mode, allowed=names or None), (t if builtin else None)  # type: ignore[arg-type]
    if isinstance(kind, str):
        # a built-in tool (web_search_preview, mcp, shell, apply_patch, ...): other styles let
        # the model choose among their tools
        return ToolChoice("auto"), t
    raise fail("tool_choice.type", "a string", kind)


def _decode_text_format(text: dict[str, Any] | None) -> ResponseFormat | None:
    fmt = opt_object(text, "format", "text") if text else None
    if fmt is None:
        return None
    kind = fmt.get("type")
    if kind in ("text", "json_object"):
        return ResponseFormat(kind)
    if kind == "json_schema":
        return ResponseFormat(
            "json_schema",
            schema=opt_object(fmt, "schema", "text.format"),
            name=opt_str(fmt, "name", "text.format"),
            strict=opt_bool(fmt, "strict", "text.format"),
            description=opt_str(fmt, "description", "text.format"),
        )
    raise BadRequest(f"text.format.type: expected text, json_object or json_schema, got {kind!r}")


def _decode_reasoning(obj: dict[str, Any], extra: dict[str, Any]) -> ReasoningConfig | None:
    r = opt_object(obj, "reasoning", "")
    if r is None:
        return None
    effort = r.get("effort")
    if effort is not None and effort not in _EFFORTS:
        raise BadRequest(f"reasoning.effort: unsupported value {effort!r}")
    summary = r.get("summary") or r.get("generate_summary")  # generate_summary: the old name
    if summary is not None and summary not in _SUMMARIES:
        raise BadRequest(f"reasoning.summary: expected auto, concise or detailed, got {summary!r}")
    rest = {k: v for k, v in r.items() if k not in ("effort", "summary", "generate_summary")}
    if rest:
        extra["reasoning"] = rest  # context, mode, ...: for a Responses upstream only
    cfg = ReasoningConfig(effort=effort, summary=summary, include_thoughts=True if summary else None)
    if effort == "none":
        cfg.mode = "disabled"
    return cfg


# ====================================================================== requests: canonical -> wire


def request_to_wire(req: Request, model: str) -> dict[str, Any]:
    same = req.style == STYLE
    out: dict[str, Any] = {"model": model}
    if same:
        out.update(req.extra)
    if req.system:
        out["instructions"] = "\n\n".join(p.text for p in req.system)
    out["input"] = _InputWriter(req, same).write()
    tools = tools_to_wire(req)
    if tools:
        out["tools"] = tools
        if req.tool_choice is not None and "tool_choice" not in out:
            out["tool_choice"] = tool_choice_to_wire(req.tool_choice, req)
        if req.parallel_tool_calls is not None:
            out["parallel_tool_calls"] = req.parallel_tool_calls
    else:
        out.pop("tool_choice", None)
    if req.stream:
        out["stream"] = True
    for key, value in (
        ("max_output_tokens", req.max_tokens),
        ("temperature", req.temperature),
        ("top_p", req.top_p),
        ("prompt_cache_key", req.prompt_cache_key),
        ("user", req.user),
    ):
        if value is not None:
            out[key] = value
    text = dict(out.pop("text", None) or {}) if same else {}
    if req.response_format is not None and (req.response_format.type != "text" or same):
        text["format"] = text_format_to_wire(req.response_format)
    if text:
        out["text"] = text
    reasoning = _reasoning_to_wire(req, same, out.pop("reasoning", None))
    if reasoning:
        out["reasoning"] = reasoning
    if not same:
        # the gateway replays history itself: nothing needs storing at OpenAI, and reasoning
        # comes back as encrypted_content to be sent with the next turn
        out["store"] = False
        if "effort" in reasoning or "summary" in reasoning:
            out["include"] = ["reasoning.encrypted_content"]
    return out


def _reasoning_to_wire(req: Request, same: bool, rest: Any) -> dict[str, Any]:
    cfg = req.reasoning
    out: dict[str, Any] = dict(rest) if same and isinstance(rest, dict) else {}
    if cfg is None:
        return out
    if same:
        if cfg.effort is not None:
            out["effort"] = cfg.effort
        if cfg.summary is not None:
            out["summary"] = cfg.summary
        return out
    effort = conversions.effort_for(cfg)
    # "none" is refused by older reasoning models: leave the model's default instead
    if effort is not None and effort != "none":
        out["effort"] = effort
    if (cfg.include_thoughts or cfg.summary) and cfg.mode != "disabled":
        out["summary"] = "auto"
    return out


class _InputWriter:
    """Canonical messages -> input items.

    Item ids: a ``reasoning`` item of OpenAI's own goes back with its id and encrypted content;
    the ``function_call``/``custom_tool_call`` items after it in the same turn keep their ids
    too (OpenAI checks that they belong together). Without such a reasoning item the ids are
    left out: OpenAI refuses a call id whose reasoning item is missing, and item ids minted by
    the gateway or the client mean nothing to it.
    """

    def __init__(self, req: Request, same: bool) -> None:
        self._req = req
        self._same = same
        self._custom = conversions.custom_tool_names(req.tools)
        self._namespaces = namespaced_names(req.opaque_tools) if same else {}
        # with store:false OpenAI cannot look an item up by id alone
        self._stored = same and req.extra.get("store") is not False
        self._call_kinds: dict[str, bool] = {}  # call id -> sent as custom_tool_call
        self._out: list[dict[str, Any]] = []

    def write(self) -> list[dict[str, Any]]:
        for m in self._req.messages:
            if m.role == "user":
                self._out.append({"type": "message", "role": "user", "content": self._content(m.content)})
            elif m.role == "system":
                texts = [p for p in m.content if isinstance(p, TextPart)]
                self._out.append({"type": "message", "role": "developer", "content": self._content(texts)})
            elif m.role == "assistant":
                self._assistant(m.content)
            else:
                self._tool_results(m.content)
        return self._out

    # ---------------------------------------------------------------- content parts

    def _content(self, parts: Sequence[Part]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for p in parts:
            if isinstance(p, TextPart):
                out.append(self._breakpoint({"type": "input_text", "text": p.text}, p.cache_control))
            elif isinstance(p, ImagePart):
                out.append(self._breakpoint(_image_to_wire(p), p.cache_control))
            elif isinstance(p, FilePart):
                out.append(self._breakpoint(_file_to_wire(p), p.cache_control))
            elif isinstance(p, OpaquePart):
                if p.style != STYLE:
                    kind = p.data.get("type")
                    raise BadRequest(
                        f"a '{kind}' content block cannot be sent to an OpenAI Responses provider"
                    )
                out.append(p.data)
            else:
                raise BadRequest(f"a {type(p).__name__} cannot appear in a user message")
        return out

    def _breakpoint(self, item: dict[str, Any], cc: CacheControl | None) -> dict[str, Any]:
        # only a Responses client's own breakpoints: models before gpt-5.6 refuse the field
        if cc is not None and self._same:
            item["prompt_cache_breakpoint"] = {"mode": "explicit"}
        return item

    # ---------------------------------------------------------------- assistant turns

    def _assistant(self, parts: list[Part]) -> None:
        keep_ids = False  # the last reasoning item of this turn went out with its id
        for i, p in enumerate(parts):
            if isinstance(p, ReasoningPart):
                item = self._reasoning(p, parts[i + 1 :])
                keep_ids = item is not None and "id" in item
                if item is not None:
                    self._out.append(item)
            elif isinstance(p, TextPart):
                if p.text:
                    self._out.append(
                        {
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": p.text}],
                        }
                    )
            elif isinstance(p, ToolCallPart):
                self._out.append(self._call(p, keep_ids))
            elif isinstance(p, OpaquePart) and p.style == STYLE:
                self._out.append(p.data)
            # images an assistant produced (Gemini) and other styles' blocks have no input form

    def _reasoning(self, p: ReasoningPart, rest: list[Part]) -> dict[str, Any] | None:
        if p.origin != STYLE or not p.item_id:
            return None  # another provider's reasoning means nothing to OpenAI
        if not any(not isinstance(q, ReasoningPart) for q in rest):
            return None  # OpenAI refuses a reasoning item without the item it led to
        item: dict[str, Any] = {
            "type": "reasoning",
            "id": p.item_id,
            "summary": [{"type": "summary_text", "text": p.text}] if p.text else [],
        }
        if p.signature:
            item["encrypted_content"] = p.signature
        elif not self._stored:
            return None  # neither the content nor a stored copy: "Item with id 'rs_...' not found"
        return item

    def _call(self, c: ToolCallPart, keep_ids: bool) -> dict[str, Any]:
        ns, name = self._namespaces.get(c.name, (None, c.name))
        custom = c.name in self._custom
        self._call_kinds[c.id] = custom
        if custom:
            text = c.arguments if c.kind == "custom" else conversions.custom_input_from_arguments(c.arguments)
            item: dict[str, Any] = {"type": "custom_tool_call", "call_id": c.id, "name": name, "input": text}
        else:
            args = c.arguments
            if c.kind == "custom":
                args = conversions.arguments_from_custom_input(args)
            item = {"type": "function_call", "call_id": c.id, "name": name, "arguments": args or "{}"}
        if ns is not None:
            item["namespace"] = ns
        if keep_ids and c.item_id:
            item["id"] = c.item_id
        return item

    # ---------------------------------------------------------------- tool turns

    def _tool_results(self, parts: list[Part]) -> None:
        trailing: list[Part] = []
        for p in parts:
            if isinstance(p, ToolResultPart):
                custom = self._call_kinds.get(p.tool_call_id, p.kind == "custom" and p.name in self._custom)
                self._out.append(
                    {
                        "type": "custom_tool_call_output" if custom else "function_call_output",
                        "call_id": p.tool_call_id,
                        "output": _tool_output(p),
                    }
                )
            elif isinstance(p, OpaquePart) and p.style == STYLE:
                self._out.append(p.data)
            elif isinstance(p, TextPart | ImagePart | FilePart):
                trailing.append(p)
        if trailing:
            self._out.append({"type": "message", "role": "user", "content": self._content(trailing)})


def _tool_output(p: ToolResultPart) -> str | list[dict[str, Any]]:
    # Responses has no error flag on outputs: the text says it, as in the Chat codec
    if all(isinstance(c, TextPart) for c in p.content):
        text = "\n".join(c.text for c in p.content if isinstance(c, TextPart))
        if p.is_error and not text.startswith("Error"):
            text = f"Error: {text}" if text else "Error"
        return text
    out: list[dict[str, Any]] = []
    if p.is_error:
        out.append({"type": "input_text", "text": "Error:"})
    for c in p.content:
        if isinstance(c, TextPart):
            out.append({"type": "input_text", "text": c.text})
        elif isinstance(c, ImagePart):
            out.append(_image_to_wire(c))
        else:
            out.append(_file_to_wire(c))
    return out


def _image_to_wire(p: ImagePart) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "input_image", "detail": p.detail or "auto"}
    if p.data is not None:
        out["image_url"] = data_url(p.media_type or "image/png", p.data)
    elif p.url is not None:
        out["image_url"] = p.url
    elif p.file_id is not None:
        out["file_id"] = p.file_id
    else:
        raise BadRequest("an image without data, URL or file id cannot be sent")
    return out


def _file_to_wire(p: FilePart) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "input_file"}
    if p.data is not None:
        out["file_data"] = data_url(p.media_type or "application/pdf", p.data)
        # OpenAI needs a filename beside inline file data
        out["filename"] = p.filename or (
            "document.pdf" if (p.media_type or "application/pdf").endswith("pdf") else "document"
        )
        return out
    if p.url is not None:
        out["file_url"] = p.url
    elif p.file_id is not None:
        out["file_id"] = p.file_id
    else:
        raise BadRequest("a document without data, URL or file id cannot be sent")
    if p.filename:
        out["filename"] = p.filename
    return out


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
    rid = response_id(resp.id, f"{resp.model}:{resp.created}")
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
