"""OpenAI Chat Completions requests: wire JSON -> canonical ``Request`` (client side)."""

from __future__ import annotations

from typing import Any

import msgspec

from app.canonical import (
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
    Style,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolDef,
    ToolResultPart,
)
from app.errors import BadRequest
from app.styles import artifacts, conversions
from app.styles.base import RequestTarget
from app.styles.history_parse import HISTORY, DecodedElement
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

_STYLE: Style = "openai-chat"
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


def request_from_wire(body: Any, target: RequestTarget) -> Request:
    """A Chat Completions request body -> canonical (BadRequest naming the path)."""
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


def _decode_messages(raw: list[Any]) -> tuple[list[TextPart], list[Message]]:
    system: list[TextPart] = []
    messages: list[Message] = []
    names: dict[str, str] = {}
    leading = True
    for i, item in enumerate(raw):
        known: DecodedElement | None = HISTORY.decoded(item, _STYLE)
        if known is not None and known.fits(names):
            # the same element as an earlier turn's (user, assistant or tool): the same message
            leading = False
            messages.extend(known.messages)
            names.update(known.calls)
            continue
        path = f"messages[{i}]"
        m = as_object(item, path)
        role = m.get("role")
        if role in ("user", "assistant", "tool"):
            leading = False
            before = len(messages)
            _decode_turn(m, role, path, messages, names)
            HISTORY.remember(item, _STYLE, DecodedElement.of(messages[before:]))
            continue
        if role in ("system", "developer"):
            parts = _decode_text_content(m.get("content"), f"{path}.content")
            if leading:
                system.extend(parts)
            else:
                messages.append(Message("system", list(parts)))
            continue
        leading = False
        if role == "function":  # legacy function-calling result (its id depends on earlier turns)
            name = req_str(m, "name", path)
            content = _decode_tool_content(m.get("content"), f"{path}.content")
            call_id = _legacy_call_id(messages, name)
            messages.append(Message("tool", [ToolResultPart(call_id, content, name=name)]))
        else:
            raise BadRequest(
                f"{path}.role: expected one of system, developer, user, assistant, tool, got {role!r}"
            )
    return system, messages


def _decode_turn(
    m: dict[str, Any], role: str, path: str, messages: list[Message], names: dict[str, str]
) -> None:
    """A user, assistant or tool message, appended to ``messages``."""
    if role == "user":
        parts = _decode_user_content(m.get("content"), f"{path}.content")
        messages.append(Message("user", parts, name=opt_str(m, "name", path)))
    elif role == "assistant":
        msg = _decode_assistant(m, path)
        for p in msg.content:
            if isinstance(p, ToolCallPart):
                names[p.id] = p.name
        messages.append(msg)
    else:
        call_id = artifacts.split_id(req_str(m, "tool_call_id", path))[0]
        content = _decode_tool_content(m.get("content"), f"{path}.content")
        messages.append(Message("tool", [ToolResultPart(call_id, content, name=names.get(call_id))]))


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
            parts.append(
                TextPart(
                    req_str(p, key, f"{path}[{j}]"), cache_control=conversions.cache_control_from_wire(p)
                )
            )
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
            parts.append(
                TextPart(req_str(p, "text", ppath), cache_control=conversions.cache_control_from_wire(p))
            )
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
                        data=inline[1],
                        media_type=inline[0],
                        detail=detail,
                        cache_control=conversions.cache_control_from_wire(p),
                    )
                )
            else:
                parts.append(
                    ImagePart(url=url, detail=detail, cache_control=conversions.cache_control_from_wire(p))
                )
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
                    cache_control=conversions.cache_control_from_wire(p),
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
                    cache_control=conversions.cache_control_from_wire(t),
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
