"""OpenAI Responses requests: wire JSON -> canonical ``Request`` (client side)."""

from __future__ import annotations

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
    ResponseFormat,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolDef,
    ToolResultPart,
)
from app.errors import BadRequest
from app.styles import artifacts
from app.styles.base import RequestTarget
from app.styles.json_fields import (
    as_list,
    as_object,
    fail,
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
from app.styles.openai_responses import tool_search
from app.styles.openai_responses.fields import (
    STYLE,
    flat_name,
    namespace_tools,
)

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
# fields naming state OpenAI holds: with one of them a request may carry no input at all
STATEFUL_FIELDS = ("previous_response_id", "conversation", "prompt")
_encoder = msgspec.json.Encoder()


def request_from_wire(body: Any, target: RequestTarget) -> Request:
    """A Responses request body -> canonical (BadRequest naming the path)."""
    obj = as_object(body, "body")
    model = target.model or req_str(obj, "model", "")
    system, messages, loaded = _decode_input(obj)
    tools, opaque_tools = _decode_tools(obj)
    known = {t.name for t in tools}
    tools += [t for t in loaded if t.name not in known]  # what a client tool search loaded
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


def _decode_input(obj: dict[str, Any]) -> tuple[list[TextPart], list[Message], list[ToolDef]]:
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
        if any(obj.get(k) for k in STATEFUL_FIELDS):
            return reader.system, reader.messages, reader.loaded
        raise BadRequest("input: required field is missing")
    if isinstance(raw, str):
        return reader.system, [*reader.messages, Message("user", [TextPart(raw)])], reader.loaded
    items = as_list(raw, "input")
    if not items and not any(obj.get(k) for k in STATEFUL_FIELDS):
        raise BadRequest("input: must contain at least one item")
    for i, item in enumerate(items):
        reader.add(item, f"input[{i}]")
    return reader.system, reader.messages, reader.loaded


class _InputReader:
    """Folds input items into canonical messages: consecutive assistant-side items make one
    assistant turn, consecutive outputs one tool turn."""

    def __init__(self) -> None:
        self.system: list[TextPart] = []
        self.messages: list[Message] = []
        self._names: dict[str, str] = {}
        self._leading = True
        self.loaded: list[ToolDef] = []  # tools a client-executed tool search loaded

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
        elif kind == "tool_search_call" and item.get("execution") == "client":
            call_id = opt_str(item, "call_id", path) or req_str(item, "id", path)
            self._names[call_id] = tool_search.NAME
            self._turn("assistant", tool_search.call_from_item(item, call_id, opt_str(item, "id", path)))
        elif kind == "tool_search_output" and item.get("execution") == "client":
            call_id = opt_str(item, "call_id", path) or req_str(item, "id", path)
            loaded = _loaded_tools(item, path)
            self.loaded.extend(loaded)
            self._turn("tool", tool_search.result_from_item(item, call_id, loaded))
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
        elif tool_search.is_client_search(t):
            # kept whole for a Responses provider; a function of the same name for the others
            opaque.append(OpaqueTool(STYLE, t, index=i))
            tools.append(tool_search.stand_in(t))
        elif kind == "namespace":
            # kept whole for a Responses provider; its members are also flat functions so
            # other styles can call them
            ns = req_str(t, "name", path)
            opaque.append(OpaqueTool(STYLE, t, index=i))
            for j, inner in enumerate(namespace_tools(t)):
                if inner.get("type") in ("function", "custom"):
                    tools.append(_decode_tool(inner, f"{path}.tools[{j}]", prefix=ns))
        elif isinstance(kind, str):
            opaque.append(OpaqueTool(STYLE, t, index=i))
        else:
            raise fail(f"{path}.type", "a tool type", kind)
    return tools, opaque


def _loaded_tools(item: dict[str, Any], path: str) -> list[ToolDef]:
    """The tools a ``tool_search_output`` loaded, as functions another provider can call
    (namespaced ones flattened), each marked so a Responses provider does not get them twice."""
    out: list[ToolDef] = []
    for i, raw in enumerate(opt_list(item, "tools", path)):
        tpath = f"{path}.tools[{i}]"
        t = as_object(raw, tpath)
        if t.get("type") == "namespace":
            ns: str | None = req_str(t, "name", tpath)
            members = [(inner, f"{tpath}.tools[{j}]") for j, inner in enumerate(namespace_tools(t))]
        else:
            ns, members = None, [(t, tpath)]
        for inner, ipath in members:
            if inner.get("type") in ("function", "custom"):
                tool = _decode_tool(inner, ipath, prefix=ns)
                marker: dict[str, Any] = {tool_search.LOADED_BY: "search"}
                if ns:
                    marker.update(namespace=ns, name=inner["name"])
                out.append(msgspec.structs.replace(tool, extra={**tool.extra, **marker}))
    return out


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
