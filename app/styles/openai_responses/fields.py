"""OpenAI Responses wire pieces shared by the codec and its stream classes: usage, stop reasons,
item ids, tool definitions, output items and the ``Response`` envelope.

The output items built here are the ones both the non-streamed answer and the stream's
``response.output_item.done`` events carry, so a streamed answer and a non-streamed one describe
the same items with the same ids.
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.canonical import (
    ImagePart,
    OpaquePart,
    OpaqueTool,
    Part,
    ReasoningPart,
    Request,
    ResponseFormat,
    StopReason,
    Style,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolDef,
    Usage,
    place_opaque_tools,
)
from app.styles import artifacts, conversions, ids
from app.styles.json_fields import loose_object
from app.styles.openai_responses import tool_search

STYLE: Style = "openai-responses"

# canonical stop reason -> incomplete_details.reason (every other reason is status "completed")
INCOMPLETE_REASON: dict[StopReason, str] = {
    "max_tokens": "max_output_tokens",
    "content_filter": "content_filter",
}
STOP_FOR_INCOMPLETE: dict[str, StopReason] = {
    "max_output_tokens": "max_tokens",
    "content_filter": "content_filter",
    "max_messages": "max_tokens",
    "steered": "pause",  # stopped at a safe boundary so a successor response can continue
}

# A tool inside a ``namespace`` tool travels as one flat function named ``<namespace>__<name>`` for
# styles without namespaces; the flat name is split again for the Responses client.
NAMESPACE_SEP = "__"

# what each kind of output item's id starts with, as OpenAI issues them
_PREFIX = {
    "message": "msg",
    "reasoning": "rs",
    "function_call": "fc",
    "custom_tool_call": "ctc",
    "tool_search_call": "tsc",
}
_IMAGE_FORMATS = frozenset({"png", "webp", "jpeg", "gif"})

_encoder = msgspec.json.Encoder()


# ====================================================================== usage and stop reasons


def usage_from_wire(u: Any) -> Usage:
    if not isinstance(u, dict):
        return Usage()
    inp = loose_object(u.get("input_tokens_details"))
    out = loose_object(u.get("output_tokens_details"))
    return Usage(
        input_tokens=_int(u.get("input_tokens")),
        output_tokens=_int(u.get("output_tokens")),
        cache_read_tokens=_int(inp.get("cached_tokens")),
        cache_write_tokens=_int(inp.get("cache_write_tokens")),
        reasoning_tokens=_int(out.get("reasoning_tokens")),
    )


def usage_to_wire(u: Usage) -> dict[str, Any]:
    return {
        "input_tokens": u.input_tokens,
        "input_tokens_details": {
            "cached_tokens": u.cache_read_tokens,
            "cache_write_tokens": u.cache_write_tokens,
        },
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.input_tokens + u.output_tokens,
    }


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def stop_reason_from_wire(obj: dict[str, Any], has_calls: bool) -> StopReason:
    """The canonical stop reason of a Response object (``status`` + ``incomplete_details``)."""
    if obj.get("status") == "incomplete":
        reason = loose_object(obj.get("incomplete_details")).get("reason")
        return STOP_FOR_INCOMPLETE.get(str(reason), "max_tokens")
    return "tool_use" if has_calls else "end_turn"


def error_code(status: int) -> str:
    """A ``ResponseError.code`` (the SDK accepts only its own list) for a gateway status."""
    return "rate_limit_exceeded" if status == 429 else "server_error"


# ====================================================================== namespaces and ids


def flat_name(namespace: Any, name: str) -> str:
    # a deferred top-level function may come back with its own name as the namespace
    if not isinstance(namespace, str) or not namespace or namespace == name:
        return name
    return f"{namespace}{NAMESPACE_SEP}{name}"


def namespace_tools(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The function and custom tools inside a ``namespace`` tool definition."""
    tools = data.get("tools")
    return [t for t in tools if isinstance(t, dict)] if isinstance(tools, list) else []


def namespaced_names(opaque_tools: list[OpaqueTool]) -> dict[str, tuple[str, str]]:
    """flat name -> (namespace, name) for every tool of the request's namespace tools."""
    out: dict[str, tuple[str, str]] = {}
    for t in opaque_tools:
        if t.style != STYLE or t.data.get("type") != "namespace" or not isinstance(t.data.get("name"), str):
            continue
        ns = t.data["name"]
        for inner in namespace_tools(t.data):
            if isinstance(inner.get("name"), str):
                out[flat_name(ns, inner["name"])] = (ns, inner["name"])
    return out


def response_id(raw: str) -> str:
    """The Responses id of an answer: the upstream's own when it is one, else made from it and a
    nonce of this answer, so that neither it nor the item ids derived from it repeat across turns
    when a provider repeats its own id (or sends none)."""
    if raw.startswith("resp_"):
        return raw
    return ids.derived("resp_", raw, ids.nonce())


def item_id(resp_id: str, kind: str, index: int) -> str:
    """A gateway-made output item id, unique per item: ``msg_<response>_<output index>``."""
    return f"{_PREFIX.get(kind, 'item')}_{resp_id.removeprefix('resp_')}_{index}"


# ====================================================================== tools


def tool_to_wire(t: ToolDef, same: bool = False) -> dict[str, Any]:
    """A function or custom tool; ``same``: the request came from a Responses client, whose
    own tool fields (``defer_loading``, ``output_schema``, ...) are written back."""
    if t.kind == "custom":
        out: dict[str, Any] = {**t.extra} if same else {}
        out.update(type="custom", name=t.name)
        if t.description:
            out["description"] = t.description
        if t.format is not None:
            out["format"] = t.format
        return out
    out = {
        **(t.extra if same else {}),
        "type": "function",
        "name": t.name,
        "parameters": t.parameters or {"type": "object", "properties": {}},
        # Responses applies strict mode to compatible schemas when strict is omitted; tools of
        # other styles were written for non-strict calling
        "strict": t.strict if t.strict is not None else False,
    }
    if t.description:
        out["description"] = t.description
    return out


def tools_to_wire(req: Request) -> list[dict[str, Any]]:
    """The request's tools in Responses form. A Responses client's own built-in and namespace
    tools come back as given; the flat functions standing in for namespace members are then
    left out (the namespace tool carries them), and every tool keeps its place in the list."""
    out: list[dict[str, Any]] = []
    same = req.style == STYLE
    flattened = namespaced_names(req.opaque_tools) if same else {}
    # the tool_search declaration and the tools it loaded reach a Responses provider in their
    # own form (the opaque declaration, the tool_search_output item), not as functions
    out.extend(
        tool_to_wire(t, same)
        for t in req.tools
        if t.name not in flattened and not (same and tool_search.is_stand_in(t))
    )
    return place_opaque_tools(out, req.opaque_tools, STYLE)


def tool_choice_to_wire(tc: ToolChoice, req: Request) -> Any:
    if tc.mode == "tool" and tc.name:
        custom = tc.name in conversions.custom_tool_names(req.tools)
        return {"type": "custom" if custom else "function", "name": tc.name}
    if tc.allowed:
        return {
            "type": "allowed_tools",
            "mode": "required" if tc.mode == "required" else "auto",
            "tools": [{"type": "function", "name": n} for n in tc.allowed],
        }
    return tc.mode if tc.mode != "tool" else "required"


def text_format_to_wire(rf: ResponseFormat) -> dict[str, Any]:
    if rf.type != "json_schema":
        return {"type": rf.type}
    out: dict[str, Any] = {"type": "json_schema", "name": rf.name or "response", "schema": rf.schema or {}}
    if rf.strict is not None:
        out["strict"] = rf.strict
    if rf.description:
        out["description"] = rf.description
    return out


# ====================================================================== output items


def output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item: str, text: str, status: str = "completed") -> dict[str, Any]:
    content = [output_text(text)] if status == "completed" else []
    return {"id": item, "type": "message", "role": "assistant", "status": status, "content": content}


def reasoning_item(item: str, text: str, encrypted: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": item,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}] if text else [],
    }
    if encrypted is not None:
        out["encrypted_content"] = encrypted
    return out


def image_item(item: str, part: ImagePart) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item, "type": "image_generation_call", "status": "completed"}
    out["result"] = part.data
    fmt = (part.media_type or "").removeprefix("image/")
    if fmt in _IMAGE_FORMATS:
        out["output_format"] = fmt
    return out


class ClientTools(msgspec.Struct):
    """What a Responses client declared, deciding how a canonical tool call is shown to it:
    as a ``custom_tool_call`` (free-form tools) or a ``function_call``, inside its namespace."""

    custom: frozenset[str]
    functions: frozenset[str]
    namespaces: dict[str, tuple[str, str]]
    tool_search: bool = False  # the client runs its own tool search (Codex)

    @classmethod
    def of(cls, req: Request) -> ClientTools:
        namespaces = namespaced_names(req.opaque_tools)
        for t in req.tools:  # tools a client tool search loaded from a namespace
            ns, name = t.extra.get("namespace"), t.extra.get("name")
            if tool_search.is_stand_in(t) and isinstance(ns, str) and isinstance(name, str):
                namespaces[t.name] = (ns, name)
        return cls(
            custom=conversions.custom_tool_names(req.tools),
            functions=frozenset(t.name for t in req.tools if t.kind == "function"),
            namespaces=namespaces,
            tool_search=req.style == STYLE and tool_search.declared(req.opaque_tools),
        )

    def is_search(self, call: ToolCallPart) -> bool:
        return self.tool_search and call.name == tool_search.NAME

    def is_custom(self, call: ToolCallPart) -> bool:
        # another style returns a custom tool's call as a function call with {"input": ...}
        return call.name in self.custom or (call.kind == "custom" and call.name not in self.functions)

    def kind(self, part: Part) -> str | None:
        """The output item type ``part`` becomes (None: it is not shown to this client)."""
        if isinstance(part, TextPart):
            return "message"
        if isinstance(part, ReasoningPart):
            return "reasoning"
        if isinstance(part, ToolCallPart):
            if self.is_search(part):
                return "tool_search_call"
            return "custom_tool_call" if self.is_custom(part) else "function_call"
        if isinstance(part, ImagePart):
            return "image_generation_call" if part.data else None
        if isinstance(part, OpaquePart):
            return str(part.data.get("type")) if part.style == STYLE else None
        return None

    def call_item(self, item: str, call: ToolCallPart, status: str = "completed") -> dict[str, Any]:
        if self.is_search(call):
            return tool_search.call_item(item, call, status)
        ns, name = self.namespaces.get(call.name, (None, call.name))
        if self.is_custom(call):
            text = (
                call.arguments
                if call.kind == "custom"
                else conversions.custom_input_from_arguments(call.arguments)
            )
            out: dict[str, Any] = {"id": item, "type": "custom_tool_call", "call_id": call.id, "name": name}
            out["input"] = text
        else:
            args = call.arguments
            if call.kind == "custom":
                args = conversions.arguments_from_custom_input(args)
            out = {"id": item, "type": "function_call", "call_id": call.id, "name": name}
            out["arguments"] = args or "{}"  # Responses clients parse arguments as JSON
            out["status"] = status
        if ns is not None:
            out["namespace"] = ns
        return out


def item_for_part(part: Part, item: str, tools: ClientTools) -> dict[str, Any] | None:
    """The finished output item for one canonical part (None: not shown to a Responses client)."""
    if isinstance(part, TextPart):
        return message_item(item, part.text)
    if isinstance(part, ReasoningPart):
        return reasoning_item(item, part.text, encrypted_for_client(part))
    if isinstance(part, ToolCallPart):
        return tools.call_item(item, part)
    if isinstance(part, ImagePart):
        return image_item(item, part) if part.data else None
    if isinstance(part, OpaquePart) and part.style == STYLE:
        return part.data
    return None


def native_item_id(part: Part) -> str | None:
    """The id OpenAI gave this part's item, when a Responses provider issued it."""
    if isinstance(part, ReasoningPart) and part.origin == STYLE:
        return part.item_id
    if isinstance(part, ToolCallPart):
        return part.item_id
    if isinstance(part, OpaquePart) and part.style == STYLE and isinstance(part.data.get("id"), str):
        return str(part.data["id"])
    return None


def output_item_id(part: Part, resp_id: str, kind: str, index: int, used: set[str]) -> str:
    """The id of the output item at ``index``: OpenAI's own when it issued the part, else
    gateway-made; never one already used in this answer (the SDK refuses duplicates)."""
    native = native_item_id(part)
    out = native if native and native not in used else item_id(resp_id, kind, index)
    used.add(out)
    return out


def encrypted_for_client(part: ReasoningPart) -> str | None:
    """``encrypted_content`` for a Responses client: native when OpenAI issued it; otherwise a
    token (``app.styles.artifacts``) even without a signature, so the reasoning keeps its origin
    when the client echoes it (DeepSeek-style upstreams want their reasoning text back)."""
    if part.origin == STYLE or part.origin is None:
        return part.signature
    return artifacts.wrap(part)


# ====================================================================== the Response envelope


class Envelope(msgspec.Struct):
    """The request parameters a Response object echoes (computed once per answer)."""

    fields: dict[str, Any]

    @classmethod
    def of(cls, req: Request) -> Envelope:
        extra = req.extra if req.style == STYLE else {}
        tc = extra.get("tool_choice")
        if tc is None:
            tc = tool_choice_to_wire(req.tool_choice, req) if req.tool_choice else "auto"
        text = dict(extra["text"]) if isinstance(extra.get("text"), dict) else {}
        text["format"] = text_format_to_wire(req.response_format or ResponseFormat())
        reasoning: dict[str, Any] | None = None
        if req.reasoning is not None:
            reasoning = {"effort": req.reasoning.effort, "summary": req.reasoning.summary}
        store = extra.get("store")
        fields: dict[str, Any] = {
            "instructions": "\n\n".join(p.text for p in req.system) if req.system else None,
            "max_output_tokens": req.max_tokens,
            "parallel_tool_calls": req.parallel_tool_calls if req.parallel_tool_calls is not None else True,
            "temperature": req.temperature,
            "top_p": req.top_p,
            "tool_choice": tc,
            "tools": tools_to_wire(req),
            "text": text,
            "reasoning": reasoning,
            "store": store if isinstance(store, bool) else False,
            "metadata": extra.get("metadata") if isinstance(extra.get("metadata"), dict) else {},
            "previous_response_id": extra.get("previous_response_id"),
            "prompt_cache_key": req.prompt_cache_key,
            "safety_identifier": req.user,
            "service_tier": extra.get("service_tier") or "default",
            "truncation": extra.get("truncation") or "disabled",
            "background": extra.get("background") is True,
        }
        return cls(fields)

    def response(
        self,
        *,
        resp_id: str,
        model: str,
        created: int,
        status: str,
        output: list[dict[str, Any]],
        usage: Usage | None = None,
        stop: StopReason | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        reason = INCOMPLETE_REASON.get(stop) if stop is not None else None
        return {
            "id": resp_id,
            "object": "response",
            "created_at": created,
            "status": status,
            "error": error,
            "incomplete_details": {"reason": reason} if reason else None,
            "model": model,
            "output": output,
            **self.fields,
            "usage": usage_to_wire(usage) if usage is not None else None,
        }


def status_for(stop: StopReason) -> str:
    return "incomplete" if stop in INCOMPLETE_REASON else "completed"


def encode(obj: Any) -> bytes:
    return _encoder.encode(obj)


# ====================================================================== output items -> parts


def message_text(item: dict[str, Any]) -> tuple[str, bool]:
    """(text of a message item, whether it was a refusal)."""
    texts: list[str] = []
    refusal = False
    content = item.get("content")
    for c in content if isinstance(content, list) else []:
        if not isinstance(c, dict):
            continue
        if c.get("type") == "refusal" and isinstance(c.get("refusal"), str):
            texts.append(c["refusal"])
            refusal = True
        elif isinstance(c.get("text"), str):
            texts.append(c["text"])
    return "".join(texts), refusal


def reasoning_text(item: dict[str, Any]) -> str:
    """Summary texts, then raw reasoning texts (open-weight models), as one text: each non-empty
    segment separated by a blank line (the stream decoder joins its deltas the same way)."""
    segments: list[str] = []
    for key in ("summary", "content"):
        value = item.get(key)
        for s in value if isinstance(value, list) else []:
            if isinstance(s, dict) and isinstance(s.get("text"), str) and s["text"]:
                segments.append(s["text"])
    return "\n\n".join(segments)


def part_from_item(item: dict[str, Any]) -> Part | None:
    """The canonical part of one finished output item (None: an empty message)."""
    kind = item.get("type")
    if kind == "message":
        text, _ = message_text(item)
        return TextPart(text) if text else None
    if kind == "reasoning":
        enc = item.get("encrypted_content")
        return ReasoningPart(
            text=reasoning_text(item),
            signature=enc if isinstance(enc, str) and enc else None,
            origin=STYLE,
            item_id=str(item.get("id") or "") or None,
        )
    if kind in ("function_call", "custom_tool_call"):
        custom = kind == "custom_tool_call"
        args = item.get("input" if custom else "arguments")
        if not isinstance(args, str):
            args = "" if args is None else _encoder.encode(args).decode()
        return ToolCallPart(
            id=str(item.get("call_id") or item.get("id") or ""),
            name=flat_name(item.get("namespace"), str(item.get("name") or "")),
            arguments=args,
            kind="custom" if custom else "function",
            item_id=str(item.get("id") or "") or None,
        )
    return OpaquePart(STYLE, item)
