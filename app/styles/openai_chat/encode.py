"""OpenAI Chat Completions requests: canonical ``Request`` -> wire JSON (provider side)."""

from __future__ import annotations

from typing import Any

from app.canonical import (
    CacheControl,
    FilePart,
    ImagePart,
    Message,
    OpaquePart,
    Part,
    ReasoningPart,
    Request,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolDef,
    ToolResultPart,
)
from app.errors import BadRequest
from app.styles import conversions
from app.styles.json_fields import (
    data_url,
)


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


def _client_mark(cc: CacheControl | None) -> CacheControl | None:
    """The client's own breakpoint (OpenRouter forwards it to Claude); the gateway's are for
    Anthropic upstreams only (OpenAI itself refuses unknown fields)."""
    return None if cc is None or cc.added else cc


def _text_content(parts: list[TextPart]) -> str | list[dict[str, Any]]:
    if any(_client_mark(p.cache_control) for p in parts):
        return [_text_part(p) for p in parts]
    return "\n\n".join(p.text for p in parts) if len(parts) != 1 else parts[0].text


def _text_part(p: TextPart) -> dict[str, Any]:
    return conversions.with_cache_control({"type": "text", "text": p.text}, _client_mark(p.cache_control))


def _user_content(parts: list[Part], source_style: str) -> str | list[dict[str, Any]]:
    if len(parts) == 1 and isinstance(parts[0], TextPart) and not _client_mark(parts[0].cache_control):
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
    fn = {"name": t.name}
    # A function without parameters stays without them: Chat Completions defines an omitted
    # `parameters` as an empty parameter list, and same-style traffic (Qwen Code's parameter-less
    # tools) must reach the provider as the client sent it.
    if t.parameters is not None:
        fn["parameters"] = t.parameters
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
