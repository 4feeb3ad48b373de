"""OpenAI Chat Completions (``POST /v1/chat/completions``) <-> canonical model.

Wire reference: the official ``openai`` SDK types (``openai/types/chat``). Beyond OpenAI itself
this style is spoken by OpenRouter, vLLM, Ollama, LM Studio, DeepSeek and most local servers,
so the decoder also accepts their reasoning fields (``reasoning_content``, ``reasoning``).

Mappings worth knowing (README, "Style conversion"):

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
    StopReason,
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
    req_str,
    split_data_url,
    str_list,
)
from app.styles.openai_chat_fields import (
    FINISH_REASON,
    STOP_REASON,
    tool_call_to_wire,
    usage_from_wire,
    usage_to_wire,
)
from app.styles.openai_chat_stream import ChatStreamDecoder, ChatStreamEncoder, usage_frame_filter
from app.styles.sse import SSEEvent

STYLE = "openai-chat"

_KNOWN_FIELDS = frozenset(
    {
        "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "stream",
        "stream_options", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k",
        "stop", "seed", "presence_penalty", "frequency_penalty", "response_format",
        "reasoning_effort", "reasoning", "user", "safety_identifier", "prompt_cache_key",
        "functions", "function_call",
    }
)  # fmt: skip

_EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh", "max"})

_encoder = msgspec.json.Encoder()


class OpenAIChatCodec:
    style: Style = "openai-chat"
    forwarded_headers: frozenset[str] = frozenset()
    takes_stop_sequences = True

    # ------------------------------------------------------------------ client side

    def requires_same_style(self, req: Request) -> str | None:
        return None  # everything this style says can be translated

    def decode_request(self, body: Any, target: RequestTarget) -> Request:
        obj = as_object(body, "body")
        model = target.model or req_str(obj, "model", "")
        raw_messages = obj.get("messages")
        if raw_messages is None:
            raise BadRequest("messages: required field is missing")
        raw_messages = as_list(raw_messages, "messages")
        if not raw_messages:
            raise BadRequest("messages: must contain at least one message")
        system, messages = _decode_messages(raw_messages)

        tools, opaque_tools = _decode_tools(obj)
        stream = opt_bool(obj, "stream", "") or False
        stream_opts = opt_object(obj, "stream_options", "") or {}
        max_tokens = opt_int(obj, "max_completion_tokens", "")
        if max_tokens is None:
            max_tokens = opt_int(obj, "max_tokens", "")
        extra = {k: v for k, v in obj.items() if k not in _KNOWN_FIELDS}
        return Request(
            model=model,
            messages=messages,
            style="openai-chat",
            system=system,
            tools=tools,
            opaque_tools=opaque_tools,
            tool_choice=_decode_tool_choice(obj),
            parallel_tool_calls=opt_bool(obj, "parallel_tool_calls", ""),
            stream=stream,
            stream_usage=bool(stream_opts.get("include_usage")),
            max_tokens=max_tokens,
            temperature=opt_float(obj, "temperature", ""),
            top_p=opt_float(obj, "top_p", ""),
            top_k=opt_int(obj, "top_k", ""),
            stop=str_list(obj, "stop", ""),
            seed=opt_int(obj, "seed", ""),
            presence_penalty=opt_float(obj, "presence_penalty", ""),
            frequency_penalty=opt_float(obj, "frequency_penalty", ""),
            response_format=_decode_response_format(obj),
            reasoning=_decode_reasoning(obj),
            user=opt_str(obj, "safety_identifier", "") or opt_str(obj, "user", ""),
            prompt_cache_key=opt_str(obj, "prompt_cache_key", ""),
            extra=extra,
        )

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
        try:
            obj = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            raise UpstreamProtocol(f"invalid JSON from upstream: {exc}", provider="") from None
        if not isinstance(obj, dict):
            raise UpstreamProtocol("upstream answer is not a JSON object", provider="")
        return response_from_wire(obj)

    def stream_decoder(self) -> ChatStreamDecoder:
        return ChatStreamDecoder()

    def decode_error(self, status: int, body: bytes) -> tuple[str, str | None]:
        return decode_error_body(body)


# ====================================================================== requests: wire -> canonical


def _decode_messages(raw: list[Any]) -> tuple[list[TextPart], list[Message]]:
    system: list[TextPart] = []
    messages: list[Message] = []
    names: dict[str, str] = {}
    leading = True
    for i, item in enumerate(raw):
        path = f"messages[{i}]"
        m = as_object(item, path)
        role = m.get("role")
        if role in ("system", "developer"):
            parts = _decode_text_content(m.get("content"), f"{path}.content")
            if leading:
                system.extend(parts)
            else:
                messages.append(Message("system", list(parts)))
            continue
        leading = False
        if role == "user":
            messages.append(
                Message(
                    "user",
                    _decode_user_content(m.get("content"), f"{path}.content"),
                    name=opt_str(m, "name", path),
                )
            )
        elif role == "assistant":
            msg = _decode_assistant(m, path)
            for p in msg.content:
                if isinstance(p, ToolCallPart):
                    names[p.id] = p.name
            messages.append(msg)
        elif role == "tool":
            call_id = artifacts.split_id(req_str(m, "tool_call_id", path))[0]
            content = _decode_tool_content(m.get("content"), f"{path}.content")
            messages.append(Message("tool", [ToolResultPart(call_id, content, name=names.get(call_id))]))
        elif role == "function":  # legacy function-calling result
            name = req_str(m, "name", path)
            content = _decode_tool_content(m.get("content"), f"{path}.content")
            call_id = _legacy_call_id(messages, name)
            messages.append(Message("tool", [ToolResultPart(call_id, content, name=name)]))
        else:
            raise BadRequest(
                f"{path}.role: expected one of system, developer, user, assistant, tool, got {role!r}"
            )
    return system, messages


def _legacy_call_id(messages: list[Message], name: str) -> str:
    for m in reversed(messages):
        for p in m.content:
            if isinstance(p, ToolCallPart) and p.name == name:
                return p.id
    return f"call_{name}"


def _decode_text_content(content: Any, path: str) -> list[TextPart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)]
    parts: list[TextPart] = []
    for j, item in enumerate(as_list(content, path)):
        p = as_object(item, f"{path}[{j}]")
        kind = p.get("type")
        if kind in ("text", "input_text", "output_text", "refusal"):
            key = "refusal" if kind == "refusal" else "text"
            parts.append(TextPart(req_str(p, key, f"{path}[{j}]"), cache_control=_cache_control(p)))
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
        if kind == "text":
            parts.append(TextPart(req_str(p, "text", ppath), cache_control=_cache_control(p)))
        elif kind == "image_url":
            image = p.get("image_url")
            if isinstance(image, str):
                image = {"url": image}
            image = as_object(image, f"{ppath}.image_url")
            url = req_str(image, "url", f"{ppath}.image_url")
            detail = opt_str(image, "detail", f"{ppath}.image_url")
            inline = split_data_url(url)
            if inline:
                parts.append(
                    ImagePart(
                        data=inline[1], media_type=inline[0], detail=detail, cache_control=_cache_control(p)
                    )
                )
            else:
                parts.append(ImagePart(url=url, detail=detail, cache_control=_cache_control(p)))
        elif kind == "file":
            f = as_object(p.get("file"), f"{ppath}.file")
            file_data = opt_str(f, "file_data", f"{ppath}.file")
            inline = split_data_url(file_data) if file_data else None
            parts.append(
                FilePart(
                    data=inline[1] if inline else file_data,
                    media_type=inline[0] if inline else None,
                    file_id=opt_str(f, "file_id", f"{ppath}.file"),
                    filename=opt_str(f, "filename", f"{ppath}.file"),
                    cache_control=_cache_control(p),
                )
            )
        elif isinstance(kind, str):
            # input_audio and future part types: kept for Chat upstreams only
            parts.append(OpaquePart("openai-chat", p))
        else:
            raise fail(f"{ppath}.type", "a content part type", kind)
    return parts


def _decode_tool_content(content: Any, path: str) -> list[TextPart | ImagePart | FilePart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)]
    out: list[TextPart | ImagePart | FilePart] = []
    for p in _decode_user_content(content, path):
        if isinstance(p, TextPart | ImagePart | FilePart):
            out.append(p)
    return out


def _decode_assistant(m: dict[str, Any], path: str) -> Message:
    parts: list[Part] = []
    reasoning = m.get("reasoning_content")
    if reasoning is None and isinstance(m.get("reasoning"), str):
        reasoning = m.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        parts.append(ReasoningPart(text=reasoning, origin="openai-chat"))
    parts.extend(_decode_text_content(m.get("content"), f"{path}.content"))
    refusal = m.get("refusal")
    if isinstance(refusal, str) and refusal:
        parts.append(TextPart(refusal))
    for k, tc in enumerate(opt_list(m, "tool_calls", path)):
        tpath = f"{path}.tool_calls[{k}]"
        t = as_object(tc, tpath)
        call_id, carried = artifacts.split_id(req_str(t, "id", tpath))
        if carried:
            # the first call's artifacts opened the turn (Anthropic wants its thinking first)
            if k == 0:
                parts[0:0] = carried
            else:
                parts.extend(carried)
        if t.get("type") == "custom":
            c = as_object(t.get("custom"), f"{tpath}.custom")
            parts.append(
                ToolCallPart(
                    call_id,
                    req_str(c, "name", f"{tpath}.custom"),
                    opt_str(c, "input", f"{tpath}.custom") or "",
                    kind="custom",
                )
            )
            continue
        fn = as_object(t.get("function"), f"{tpath}.function")
        args = fn.get("arguments", "")
        if isinstance(args, dict):  # some clients send an object instead of JSON text
            args = msgspec.json.encode(args).decode()
        elif not isinstance(args, str):
            raise fail(f"{tpath}.function.arguments", "a string", args)
        parts.append(ToolCallPart(call_id, req_str(fn, "name", f"{tpath}.function"), args))
    fc = m.get("function_call")
    if isinstance(fc, dict) and isinstance(fc.get("name"), str):
        parts.append(ToolCallPart(f"call_{fc['name']}", fc["name"], str(fc.get("arguments") or "")))
    return Message("assistant", parts, name=opt_str(m, "name", path))


def _cache_control(p: dict[str, Any]) -> CacheControl | None:
    cc = p.get("cache_control")
    if isinstance(cc, dict):
        ttl = cc.get("ttl")
        return CacheControl(type=str(cc.get("type", "ephemeral")), ttl=ttl if isinstance(ttl, str) else None)
    return None


def _decode_tools(obj: dict[str, Any]) -> tuple[list[ToolDef], list[OpaqueTool]]:
    tools: list[ToolDef] = []
    opaque: list[OpaqueTool] = []
    for i, item in enumerate(opt_list(obj, "tools", "")):
        path = f"tools[{i}]"
        t = as_object(item, path)
        kind = t.get("type", "function")
        if kind == "function":
            fn = as_object(t.get("function"), f"{path}.function")
            params = opt_object(fn, "parameters", f"{path}.function")
            tools.append(
                ToolDef(
                    name=req_str(fn, "name", f"{path}.function"),
                    description=opt_str(fn, "description", f"{path}.function"),
                    parameters=params,
                    strict=opt_bool(fn, "strict", f"{path}.function"),
                    cache_control=_cache_control(t),
                )
            )
        elif kind == "custom":
            c = as_object(t.get("custom"), f"{path}.custom")
            tools.append(
                ToolDef(
                    name=req_str(c, "name", f"{path}.custom"),
                    description=opt_str(c, "description", f"{path}.custom"),
                    kind="custom",
                    format=opt_object(c, "format", f"{path}.custom"),
                )
            )
        else:
            opaque.append(OpaqueTool("openai-chat", t))
    for i, item in enumerate(opt_list(obj, "functions", "")):  # legacy
        fn = as_object(item, f"functions[{i}]")
        tools.append(
            ToolDef(
                name=req_str(fn, "name", f"functions[{i}]"),
                description=opt_str(fn, "description", f"functions[{i}]"),
                parameters=opt_object(fn, "parameters", f"functions[{i}]"),
            )
        )
    return tools, opaque


def _decode_tool_choice(obj: dict[str, Any]) -> ToolChoice | None:
    tc = obj.get("tool_choice", obj.get("function_call"))
    if tc is None:
        return None
    if isinstance(tc, str):
        if tc in ("auto", "none", "required"):
            return ToolChoice(tc)  # type: ignore[arg-type]
        raise BadRequest(f"tool_choice: expected auto, none, required or an object, got {tc!r}")
    t = as_object(tc, "tool_choice")
    kind = t.get("type")
    if kind == "function" or (kind is None and isinstance(t.get("name"), str)):
        fn: dict[str, Any] = t["function"] if isinstance(t.get("function"), dict) else t
        return ToolChoice("tool", name=req_str(fn, "name", "tool_choice.function"))
    if kind == "custom":
        c = as_object(t.get("custom"), "tool_choice.custom")
        return ToolChoice("tool", name=req_str(c, "name", "tool_choice.custom"))
    if kind == "allowed_tools":
        a = as_object(t.get("allowed_tools"), "tool_choice.allowed_tools")
        names: list[str] = []
        for j, item in enumerate(opt_list(a, "tools", "tool_choice.allowed_tools")):
            it = as_object(item, f"tool_choice.allowed_tools.tools[{j}]")
            inner = it.get("function") or it.get("custom") or it
            if isinstance(inner, dict) and isinstance(inner.get("name"), str):
                names.append(inner["name"])
        mode = "required" if a.get("mode") == "required" else "auto"
        return ToolChoice(mode, allowed=names)  # type: ignore[arg-type]
    raise BadRequest(f"tool_choice.type: unsupported value {kind!r}")


def _decode_response_format(obj: dict[str, Any]) -> ResponseFormat | None:
    rf = opt_object(obj, "response_format", "")
    if rf is None:
        return None
    kind = rf.get("type")
    if kind == "text":
        return ResponseFormat("text")
    if kind == "json_object":
        return ResponseFormat("json_object")
    if kind == "json_schema":
        js = as_object(rf.get("json_schema"), "response_format.json_schema")
        return ResponseFormat(
            "json_schema",
            schema=opt_object(js, "schema", "response_format.json_schema"),
            name=opt_str(js, "name", "response_format.json_schema"),
            strict=opt_bool(js, "strict", "response_format.json_schema"),
            description=opt_str(js, "description", "response_format.json_schema"),
        )
    raise BadRequest(f"response_format.type: expected text, json_object or json_schema, got {kind!r}")


def _decode_reasoning(obj: dict[str, Any]) -> ReasoningConfig | None:
    effort = obj.get("reasoning_effort")
    r = obj.get("reasoning")  # OpenRouter's form: {effort, max_tokens, enabled, exclude}
    if effort is None and not isinstance(r, dict):
        return None
    if effort is not None and effort not in _EFFORTS:
        raise BadRequest(f"reasoning_effort: unsupported value {effort!r}")
    cfg = ReasoningConfig(effort=effort)
    if isinstance(r, dict):
        if r.get("effort") in _EFFORTS and effort is None:
            cfg.effort = r["effort"]
        if isinstance(r.get("max_tokens"), int):
            cfg.budget_tokens = r["max_tokens"]
        if r.get("enabled") is False:
            cfg.mode = "disabled"
        if r.get("exclude") is True:
            cfg.include_thoughts = False
    if cfg.effort == "none":
        cfg.mode = "disabled"
    return cfg


# ====================================================================== requests: canonical -> wire


def request_to_wire(req: Request, model: str) -> dict[str, Any]:
    out: dict[str, Any] = {"model": model, "messages": _encode_messages(req)}
    if req.style == "openai-chat":
        out.update(req.extra)
    if req.tools or req.opaque_tools:
        tools = [_encode_tool(t) for t in req.tools]
        tools += [t.data for t in req.opaque_tools if t.style == "openai-chat"]
        if tools:
            out["tools"] = tools
    if req.tool_choice is not None and req.tools:
        out["tool_choice"] = _encode_tool_choice(req.tool_choice)
    if req.parallel_tool_calls is not None and req.tools:
        out["parallel_tool_calls"] = req.parallel_tool_calls
    if req.stream:
        out["stream"] = True
        # usage is always requested so the gateway can count tokens; the client's stream only
        # carries the usage chunk when it asked for it (ChatStreamEncoder)
        out["stream_options"] = {"include_usage": True}
    if req.max_tokens is not None:
        out["max_tokens"] = req.max_tokens
    for key, value in (
        ("temperature", req.temperature),
        ("top_p", req.top_p),
        ("seed", req.seed),
        ("presence_penalty", req.presence_penalty),
        ("frequency_penalty", req.frequency_penalty),
        ("prompt_cache_key", req.prompt_cache_key),
        ("user", req.user),
    ):
        if value is not None:
            out[key] = value
    if req.top_k is not None and req.style == "openai-chat":
        out["top_k"] = req.top_k
    if req.stop:
        out["stop"] = req.stop
    rf = req.response_format
    if rf is not None and rf.type != "text":
        if rf.type == "json_object":
            out["response_format"] = {"type": "json_object"}
        else:
            js: dict[str, Any] = {"name": rf.name or "response", "schema": rf.schema or {}}
            if rf.strict is not None:
                js["strict"] = rf.strict
            if rf.description:
                js["description"] = rf.description
            out["response_format"] = {"type": "json_schema", "json_schema": js}
    if req.reasoning is not None:
        effort = conversions.effort_for(req.reasoning)
        if effort is not None and effort != "none":
            out["reasoning_effort"] = effort
    return out


def _encode_messages(req: Request) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if req.system:
        out.append({"role": "system", "content": _text_content(req.system)})
    custom = conversions.custom_tool_names(req.tools)
    for m in req.messages:
        if m.role == "system":
            out.append(
                {
                    "role": "system",
                    "content": _text_content([p for p in m.content if isinstance(p, TextPart)]),
                }
            )
        elif m.role == "user":
            msg: dict[str, Any] = {"role": "user", "content": _user_content(m.content, req.style)}
            if m.name:
                msg["name"] = m.name
            out.append(msg)
        elif m.role == "assistant":
            out.append(_encode_assistant(m, custom))
        else:
            out.extend(_encode_tool_results(m))
    return out


def _text_content(parts: list[TextPart]) -> str | list[dict[str, Any]]:
    if any(p.cache_control for p in parts):
        return [_text_part(p) for p in parts]
    return "\n\n".join(p.text for p in parts) if len(parts) != 1 else parts[0].text


def _text_part(p: TextPart) -> dict[str, Any]:
    d: dict[str, Any] = {"type": "text", "text": p.text}
    if p.cache_control is not None:
        # written out field by field: to_builtins would omit the default "ephemeral" type
        cc: dict[str, Any] = {"type": p.cache_control.type}
        if p.cache_control.ttl:
            cc["ttl"] = p.cache_control.ttl
        d["cache_control"] = cc
    return d


def _user_content(parts: list[Part], source_style: str) -> str | list[dict[str, Any]]:
    if len(parts) == 1 and isinstance(parts[0], TextPart) and parts[0].cache_control is None:
        return parts[0].text
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, TextPart):
            out.append(_text_part(p))
        elif isinstance(p, ImagePart):
            out.append(_image_part(p))
        elif isinstance(p, FilePart):
            out.append(_file_part(p))
        elif isinstance(p, OpaquePart):
            if p.style != "openai-chat":
                raise BadRequest(
                    f"a '{p.data.get('type')}' content block cannot be sent to an OpenAI Chat provider"
                )
            out.append(p.data)
        else:
            raise BadRequest(f"a {type(p).__name__} cannot appear in a user message")
    return out


def _image_part(p: ImagePart) -> dict[str, Any]:
    if p.data is not None:
        url = data_url(p.media_type or "image/png", p.data)
    elif p.url is not None:
        url = p.url
    else:
        raise BadRequest("an image given by provider file id cannot be sent to an OpenAI Chat provider")
    image: dict[str, Any] = {"url": url}
    if p.detail:
        image["detail"] = p.detail
    return {"type": "image_url", "image_url": image}


def _file_part(p: FilePart) -> dict[str, Any]:
    f: dict[str, Any] = {}
    if p.data is not None:
        f["file_data"] = data_url(p.media_type or "application/pdf", p.data)
    elif p.file_id is not None:
        f["file_id"] = p.file_id
    else:
        raise BadRequest("a document given by URL cannot be sent to an OpenAI Chat provider")
    if p.filename:
        f["filename"] = p.filename
    elif p.data is not None:
        f["filename"] = "document.pdf" if (p.media_type or "").endswith("pdf") else "document"
    return {"type": "file", "file": f}


def _encode_assistant(m: Message, custom: frozenset[str]) -> dict[str, Any]:
    texts = [p.text for p in m.content if isinstance(p, TextPart)]
    msg: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    reasoning = [
        p.text for p in m.content if isinstance(p, ReasoningPart) and p.origin == "openai-chat" and p.text
    ]
    if reasoning:
        msg["reasoning_content"] = "".join(reasoning)
    calls = [p for p in m.content if isinstance(p, ToolCallPart)]
    if calls:
        msg["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {
                    "name": c.name,
                    "arguments": (
                        conversions.arguments_from_custom_input(c.arguments)
                        if c.kind == "custom" and c.name in custom
                        else c.arguments or "{}"
                    ),
                },
            }
            for c in calls
        ]
    if m.name:
        msg["name"] = m.name
    return msg


def _encode_tool_results(m: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    trailing_media: list[dict[str, Any]] = []
    for p in m.content:
        if isinstance(p, ToolResultPart):
            texts = [c.text for c in p.content if isinstance(c, TextPart)]
            media = [c for c in p.content if not isinstance(c, TextPart)]
            text = "\n".join(texts)
            if p.is_error and not text.startswith("Error"):
                text = f"Error: {text}" if text else "Error"
            if media:
                text += f"\n[{len(media)} attachment(s) follow in the next message]"
                trailing_media.append(
                    {"type": "text", "text": f"Attachments returned by tool call {p.tool_call_id}:"}
                )
                trailing_media.extend(
                    _image_part(c) if isinstance(c, ImagePart) else _file_part(c) for c in media
                )
            out.append({"role": "tool", "tool_call_id": p.tool_call_id, "content": text})
        elif isinstance(p, TextPart):
            trailing_media.append(_text_part(p))
    if trailing_media:
        out.append({"role": "user", "content": trailing_media})
    return out


def _encode_tool(t: ToolDef) -> dict[str, Any]:
    if t.kind == "custom":
        fn: dict[str, Any] = {"name": t.name, "parameters": conversions.custom_tool_as_function(t)}
        if t.description:
            fn["description"] = t.description
        return {"type": "function", "function": fn}
    fn = {"name": t.name, "parameters": t.parameters or {"type": "object", "properties": {}}}
    if t.description:
        fn["description"] = t.description
    if t.strict is not None:
        fn["strict"] = t.strict
    return {"type": "function", "function": fn}


def _encode_tool_choice(tc: ToolChoice) -> Any:
    if tc.mode == "tool" and tc.name:
        return {"type": "function", "function": {"name": tc.name}}
    if tc.allowed:
        return {
            "type": "allowed_tools",
            "allowed_tools": {
                "mode": "required" if tc.mode == "required" else "auto",
                "tools": [{"type": "function", "function": {"name": n}} for n in tc.allowed],
            },
        }
    return tc.mode if tc.mode != "tool" else "required"


# ====================================================================== responses


def response_from_wire(obj: dict[str, Any]) -> Response:
    choices = obj.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UpstreamProtocol("chat completion without choices", provider="")
    choice = choices[0]
    msg = loose_object(choice.get("message"))
    parts: list[Part] = []
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
        parts.append(ToolCallPart(str(tc.get("id") or f"call_{len(parts)}"), str(fn.get("name", "")), args))
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
        "id": resp.id or "chatcmpl-gateway",
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
