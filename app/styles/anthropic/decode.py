"""Anthropic Messages request bodies from clients -> canonical ``Request`` (the client side of
the codec; the mappings are listed in ``app.styles.anthropic.codec``)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

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
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolDef,
    ToolResultPart,
)
from app.errors import BadRequest
from app.styles import artifacts
from app.styles.anthropic.fields import STYLE, json_text
from app.styles.base import RequestTarget
from app.styles.conversions import cache_control_from_wire
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
    str_list,
)

_KNOWN_FIELDS = frozenset(
    {
        "model", "messages", "system", "tools", "tool_choice", "thinking", "output_config",
        "metadata", "stop_sequences", "temperature", "top_p", "top_k", "max_tokens", "stream",
    }
)  # fmt: skip
_TOOL_FIELDS = frozenset({"name", "description", "input_schema", "strict", "cache_control", "type"})
_EFFORTS = frozenset({"low", "medium", "high", "xhigh", "max"})
_DISPLAY_THOUGHTS = {"summarized": True, "omitted": False}


def request_from_wire(body: Any, target: RequestTarget) -> Request:
    obj = as_object(body, "body")
    model = target.model or req_str(obj, "model", "")
    raw_messages = obj.get("messages")
    if raw_messages is None:
        raise BadRequest("messages: required field is missing")
    raw_messages = as_list(raw_messages, "messages")
    if not raw_messages:
        raise BadRequest("messages: must contain at least one message")
    system = _decode_system(obj.get("system"), "system")
    messages = _decode_messages(raw_messages)
    while messages and _plain_system(messages[0]):
        system.extend(p for p in messages.pop(0).content if isinstance(p, TextPart))
    tools, opaque_tools = _decode_tools(obj)
    tool_choice, parallel = _decode_tool_choice(obj)
    extra = {k: v for k, v in obj.items() if k not in _KNOWN_FIELDS}
    reasoning, response_format = _decode_reasoning(obj, extra)
    metadata = opt_object(obj, "metadata", "") or {}
    if set(metadata) - {"user_id"}:
        extra["metadata"] = {k: v for k, v in metadata.items() if k != "user_id"}
    stream = target.stream if target.stream is not None else bool(opt_bool(obj, "stream", ""))
    return Request(
        model=model,
        messages=messages,
        style=STYLE,
        system=system,
        tools=tools,
        opaque_tools=opaque_tools,
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        stream=stream,
        max_tokens=opt_int(obj, "max_tokens", ""),
        temperature=opt_float(obj, "temperature", ""),
        top_p=opt_float(obj, "top_p", ""),
        top_k=opt_int(obj, "top_k", ""),
        stop=str_list(obj, "stop_sequences", ""),
        response_format=response_format,
        reasoning=reasoning,
        user=opt_str(metadata, "user_id", "metadata"),
        extra=extra,
    )


def _plain_system(m: Message) -> bool:
    """A system message that can join ``Request.system``: text only, no per-turn settings."""
    return m.role == "system" and not m.extra and all(isinstance(p, TextPart) for p in m.content)


def _decode_system(raw: Any, path: str) -> list[TextPart]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [TextPart(raw)] if raw else []
    parts: list[TextPart] = []
    for j, item in enumerate(as_list(raw, path)):
        b = as_object(item, f"{path}[{j}]")
        if b.get("type") != "text":
            raise BadRequest(f"{path}[{j}].type: expected 'text', got {b.get('type')!r}")
        parts.append(TextPart(req_str(b, "text", f"{path}[{j}]"), cache_control=cache_control_from_wire(b)))
    return parts


def _decode_messages(raw: list[Any]) -> list[Message]:
    messages: list[Message] = []
    names: dict[str, str] = {}
    for i, item in enumerate(raw):
        known: DecodedElement | None = HISTORY.decoded(item, STYLE)
        if known is not None and known.fits(names):
            messages.extend(known.messages)  # the same element as an earlier turn's: same result
            names.update(known.calls)
            continue
        decoded = _decode_message(item, f"messages[{i}]", names)
        messages.extend(decoded)
        HISTORY.remember(item, STYLE, DecodedElement.of(decoded))
    return messages


def _decode_message(item: Any, path: str, names: dict[str, str]) -> list[Message]:
    m = as_object(item, path)
    role = m.get("role")
    content = m.get("content")
    cpath = f"{path}.content"
    if role == "user":
        return _decode_user_turn(content, cpath, names)
    if role == "assistant":
        parts = _decode_assistant_content(content, cpath)
        for p in parts:
            if isinstance(p, ToolCallPart):
                names[p.id] = p.name
        return [Message("assistant", parts)]
    if role == "system":
        parts = _decode_blocks(content, cpath, _system_block)
        extra = {k: v for k, v in m.items() if k not in ("role", "content")}
        return [Message("system", parts, extra=extra)]
    raise BadRequest(f"{path}.role: expected one of user, assistant, system, got {role!r}")


def _decode_blocks(content: Any, path: str, decode: Callable[[dict[str, Any], str], Part]) -> list[Part]:
    if content is None:
        raise BadRequest(f"{path}: required field is missing")
    if isinstance(content, str):
        return [TextPart(content)]
    return [
        decode(as_object(b, f"{path}[{j}]"), f"{path}[{j}]") for j, b in enumerate(as_list(content, path))
    ]


def _system_block(b: dict[str, Any], path: str) -> Part:
    if b.get("type") == "text":
        return TextPart(req_str(b, "text", path), cache_control=cache_control_from_wire(b))
    return OpaquePart(STYLE, b)  # tool addition/removal blocks of the per-turn-control beta


def _decode_user_turn(content: Any, path: str, names: dict[str, str]) -> list[Message]:
    """A user turn: its tool results become a role ``tool`` message, the rest a user message
    after it (Anthropic puts results first; this also accepts them anywhere in the turn)."""
    if content is None:
        raise BadRequest(f"{path}: required field is missing")
    if isinstance(content, str):
        return [Message("user", [TextPart(content)])]
    results: list[Part] = []
    others: list[Part] = []
    for j, item in enumerate(as_list(content, path)):
        bpath = f"{path}[{j}]"
        b = as_object(item, bpath)
        if b.get("type") == "tool_result":
            results.append(_decode_tool_result(b, bpath, names))
        else:
            others.append(_user_block(b, bpath))
    out: list[Message] = []
    if results:
        out.append(Message("tool", results))
    if others or not results:
        out.append(Message("user", others))
    return out


def _user_block(b: dict[str, Any], path: str) -> Part:
    kind = b.get("type")
    if kind == "text":
        return TextPart(req_str(b, "text", path), cache_control=cache_control_from_wire(b))
    if kind == "image":
        return _decode_image(b, path) or OpaquePart(STYLE, b)
    if kind == "document":
        return _decode_document(b, path) or OpaquePart(STYLE, b)
    if kind in ("thinking", "redacted_thinking", "tool_use"):
        return _assistant_block(b, path)
    if not isinstance(kind, str):
        raise fail(f"{path}.type", "a content block type", kind)
    return OpaquePart(STYLE, b)


def _decode_image(b: dict[str, Any], path: str) -> ImagePart | None:
    src = as_object(b.get("source"), f"{path}.source")
    cc = cache_control_from_wire(b)
    kind = src.get("type")
    if kind == "base64":
        return ImagePart(
            data=req_str(src, "data", f"{path}.source"),
            media_type=opt_str(src, "media_type", f"{path}.source"),
            cache_control=cc,
        )
    if kind == "url":
        return ImagePart(url=req_str(src, "url", f"{path}.source"), cache_control=cc)
    if kind == "file":
        return ImagePart(file_id=req_str(src, "file_id", f"{path}.source"), cache_control=cc)
    return None


def _decode_document(b: dict[str, Any], path: str) -> FilePart | None:
    src = as_object(b.get("source"), f"{path}.source")
    cc = cache_control_from_wire(b)
    title = opt_str(b, "title", path)
    kind = src.get("type")
    spath = f"{path}.source"
    if kind == "base64":
        media = opt_str(src, "media_type", spath) or "application/pdf"
        return FilePart(data=req_str(src, "data", spath), media_type=media, filename=title, cache_control=cc)
    if kind == "text":
        text = req_str(src, "data", spath)
        return FilePart(
            data=base64.b64encode(text.encode()).decode(),
            media_type=opt_str(src, "media_type", spath) or "text/plain",
            filename=title,
            cache_control=cc,
        )
    if kind == "url":
        return FilePart(url=req_str(src, "url", spath), filename=title, cache_control=cc)
    if kind == "file":
        return FilePart(file_id=req_str(src, "file_id", spath), filename=title, cache_control=cc)
    return None  # content-sourced documents have no canonical form


def _decode_assistant_content(content: Any, path: str) -> list[Part]:
    return _decode_blocks(content, path, _assistant_block)


def _assistant_block(b: dict[str, Any], path: str) -> Part:
    kind = b.get("type")
    if kind == "text":
        return TextPart(req_str(b, "text", path), cache_control=cache_control_from_wire(b))
    if kind == "thinking":
        sig = opt_str(b, "signature", path) or None
        return artifacts.from_client(sig, opt_str(b, "thinking", path) or "", STYLE)
    if kind == "redacted_thinking":
        data = req_str(b, "data", path)
        part = artifacts.unwrap(data) if artifacts.is_wrapped(data) else None
        return part or ReasoningPart(signature=data, origin=STYLE, redacted=True)
    if kind == "tool_use":
        inp = b.get("input")
        if inp is not None and not isinstance(inp, dict):
            raise fail(f"{path}.input", "an object", inp)
        return ToolCallPart(
            id=req_str(b, "id", path),
            name=req_str(b, "name", path),
            arguments=json_text(inp if inp is not None else {}),
            cache_control=cache_control_from_wire(b),
        )
    if not isinstance(kind, str):
        raise fail(f"{path}.type", "a content block type", kind)
    return OpaquePart(STYLE, b)


def _decode_tool_result(b: dict[str, Any], path: str, names: dict[str, str]) -> ToolResultPart:
    call_id = req_str(b, "tool_use_id", path)
    content = b.get("content")
    parts: list[TextPart | ImagePart | FilePart] = []
    extra: dict[str, Any] = {k: b[k] for k in ("toolset_name",) if b.get(k) is not None}
    if isinstance(content, str):
        parts.append(TextPart(content))
    elif content is not None:
        native = False
        for j, item in enumerate(as_list(content, f"{path}.content")):
            cpath = f"{path}.content[{j}]"
            block = as_object(item, cpath)
            part = _result_block(block, cpath)
            if part is None:
                native = True
                part = TextPart(_result_block_text(block))
            parts.append(part)
        if native:
            extra["content"] = content
    return ToolResultPart(
        tool_call_id=call_id,
        content=parts,
        name=names.get(call_id),
        is_error=bool(opt_bool(b, "is_error", path)),
        cache_control=cache_control_from_wire(b),
        extra=extra,
    )


def _result_block(b: dict[str, Any], path: str) -> TextPart | ImagePart | FilePart | None:
    kind = b.get("type")
    if kind == "text":
        return TextPart(req_str(b, "text", path), cache_control=cache_control_from_wire(b))
    if kind == "image":
        return _decode_image(b, path)
    if kind == "document":
        return _decode_document(b, path)
    return None


def _result_block_text(b: dict[str, Any]) -> str:
    """Text standing in for a result block other styles cannot hold."""
    kind = b.get("type")
    if kind == "tool_reference":
        return f"Tool loaded: {b.get('tool_name')}"
    if kind == "search_result":
        texts = [c.get("text", "") for c in b.get("content") or [] if isinstance(c, dict)]
        return f"{b.get('title', '')} ({b.get('source', '')})\n" + "\n".join(str(t) for t in texts)
    return json_text(b)


def _decode_tools(obj: dict[str, Any]) -> tuple[list[ToolDef], list[OpaqueTool]]:
    tools: list[ToolDef] = []
    opaque: list[OpaqueTool] = []
    for i, item in enumerate(opt_list(obj, "tools", "")):
        path = f"tools[{i}]"
        t = as_object(item, path)
        kind = t.get("type")
        if kind is not None and kind != "custom":
            opaque.append(OpaqueTool(STYLE, t, index=i))  # web_search_*, bash_*, code_execution_*, ...
            continue
        tools.append(
            ToolDef(
                name=req_str(t, "name", path),
                description=opt_str(t, "description", path),
                parameters=opt_object(t, "input_schema", path),
                strict=opt_bool(t, "strict", path),
                cache_control=cache_control_from_wire(t),
                extra={k: v for k, v in t.items() if k not in _TOOL_FIELDS},
            )
        )
    return tools, opaque


def _decode_tool_choice(obj: dict[str, Any]) -> tuple[ToolChoice | None, bool | None]:
    tc = opt_object(obj, "tool_choice", "")
    if tc is None:
        return None, None
    kind = tc.get("type")
    parallel = False if opt_bool(tc, "disable_parallel_tool_use", "tool_choice") else None
    if kind == "auto":
        return ToolChoice("auto"), parallel
    if kind == "any":
        return ToolChoice("required"), parallel
    if kind == "none":
        return ToolChoice("none"), parallel
    if kind == "tool":
        return ToolChoice("tool", name=req_str(tc, "name", "tool_choice")), parallel
    raise BadRequest(f"tool_choice.type: expected auto, any, tool or none, got {kind!r}")


def _decode_reasoning(
    obj: dict[str, Any], extra: dict[str, Any]
) -> tuple[ReasoningConfig | None, ResponseFormat | None]:
    thinking = opt_object(obj, "thinking", "")
    oc = opt_object(obj, "output_config", "") or {}
    cfg: ReasoningConfig | None = None
    if thinking is not None:
        kind = thinking.get("type")
        display = thinking.get("display")
        cfg = ReasoningConfig(include_thoughts=_DISPLAY_THOUGHTS.get(display) if display else None)
        if kind == "enabled":
            cfg.mode = "enabled"
            cfg.budget_tokens = opt_int(thinking, "budget_tokens", "thinking")
        elif kind in ("adaptive", "between_tools"):
            cfg.mode = "adaptive"
            if kind == "between_tools":
                extra["thinking"] = thinking  # no canonical form: kept for Anthropic providers
        elif kind == "disabled":
            cfg.mode = "disabled"
        else:
            raise BadRequest(
                f"thinking.type: expected enabled, adaptive, between_tools or disabled, got {kind!r}"
            )
    effort = oc.get("effort")
    if effort is not None:
        if effort not in _EFFORTS:
            raise BadRequest(f"output_config.effort: unsupported value {effort!r}")
        cfg = cfg or ReasoningConfig()
        cfg.effort = effort
    rf: ResponseFormat | None = None
    fmt = opt_object(oc, "format", "output_config")
    if fmt is not None:
        if fmt.get("type") != "json_schema":
            raise BadRequest(f"output_config.format.type: expected 'json_schema', got {fmt.get('type')!r}")
        rf = ResponseFormat("json_schema", schema=opt_object(fmt, "schema", "output_config.format"))
    rest = {k: v for k, v in oc.items() if k not in ("effort", "format")}
    if rest:
        extra["output_config"] = rest
    return cfg, rf
