"""Canonical ``Request`` -> Anthropic Messages request body (the provider side of the codec).

Anthropic is the strictest of the four styles; what this module does so any canonical request is
accepted (README, "Style conversion"):

* ``max_tokens`` is required: 4096 when unset, or ``budget + 4096`` when thinking needs room;
* thinking: ``enabled`` with ``budget_tokens`` from ``conversions.budget_for`` (at least 1024,
  below ``max_tokens``; no room -> thinking off), ``adaptive`` only when an Anthropic client
  asked for it, ``disabled`` when asked; ``output_config.effort`` only for Anthropic clients.
  Thinking is switched off for the request (rather than failing it) when the conversation's
  open tool turn comes from an assistant message that does not start with a signed thinking
  block (history from another provider: Anthropic answers 400 otherwise), and when a tool call
  is forced (Anthropic refuses forced tool use with enabled thinking);
* sampling: ``temperature``/``top_p``/``top_k`` are sent only for Anthropic clients (Anthropic
  deprecated them: models after Opus 4.6 answer 400 to any non-default value, and 4.5 models
  to temperature with top_p, so another style's defaults must not fail every call); with
  thinking on, temperature and top_k are dropped and top_p kept only if >= 0.95;
* roles: consecutive same-role turns merge; tool results become user turns whose
  ``tool_result`` blocks come first; a conversation that does not start with a user turn gets
  a ``Continue.`` user turn first; empty and whitespace-only text blocks (which Anthropic
  refuses) are dropped, then empty turns; a final assistant prefill loses trailing whitespace;
* a mid-conversation system message stays a native ``role: "system"`` message when an Anthropic
  client sent it for this very model right after a user turn; otherwise it is wrapped as
  ``<system-reminder>`` user text in place (older models and Anthropic-compatible servers
  reject the role; hoisting it into ``system`` would break the prompt cache);
* reasoning: only ``anthropic-messages`` parts with a signature go back (text and signature
  verbatim, ``redacted_thinking`` for redacted ones); every other origin's reasoning is dropped;
* ``json_schema`` -> ``output_config.format``; ``json_object`` has no native form: a one-line
  instruction is appended to the system prompt;
* tool choice ``required`` -> ``any``; an ``allowed`` list keeps only those tools; custom
  (free-form) tools become one-string-parameter functions;
* images: data -> base64, URL -> url, file id -> file (Anthropic file ids only); documents:
  PDF -> base64/url/file, ``text/*`` -> plain text; other document types are a BadRequest;
* opaque parts/tools of style ``anthropic-messages`` pass verbatim; another style's are dropped
  from assistant turns and tools, and are a BadRequest in user turns;
* ``seed``, penalties, ``prompt_cache_key`` have no Anthropic equivalent and are dropped;
  whitespace-only stop sequences (which Anthropic rejects) are dropped.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from app.canonical import (
    FilePart,
    ImagePart,
    Message,
    OpaquePart,
    Part,
    ReasoningPart,
    Request,
    TextPart,
    ToolCallPart,
    ToolDef,
    ToolResultPart,
    place_opaque_tools,
)
from app.errors import BadRequest
from app.memo import IdentityMemo
from app.styles import conversions
from app.styles.anthropic.fields import STYLE, tool_input
from app.styles.conversions import with_cache_control

DEFAULT_MAX_TOKENS = 4096
MIN_THINKING_BUDGET = 1024
JSON_OBJECT_INSTRUCTION = "Respond with a single valid JSON object and nothing else."
START_TEXT = "Continue."  # the user turn put before a conversation that starts otherwise

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def request_to_wire(req: Request, model: str) -> dict[str, Any]:
    same_style = req.style == STYLE
    out: dict[str, Any] = {"model": model}
    if same_style:
        out.update(req.extra)
    messages = _encode_messages(req, native_system=same_style and model == req.model)
    out["messages"] = messages
    system = _encode_system(req)
    if system:
        out["system"] = system
    tools = _encode_tools(req)
    if tools:
        out["tools"] = tools
    tool_choice = _encode_tool_choice(req) if tools else None
    if tool_choice is not None:
        out["tool_choice"] = tool_choice
    thinking = _encode_thinking(req, out, messages)
    _encode_sampling(req, out, thinking=thinking)
    _encode_output_config(req, out)
    stop = [s for s in req.stop if s.strip()]
    if stop:
        out["stop_sequences"] = stop
    if req.user:
        out["metadata"] = {**(out.get("metadata") or {}), "user_id": req.user}
    if req.stream:
        out["stream"] = True
    else:
        out.pop("stream", None)
    return out


def count_tokens_body(req: Request, model: str | None = None) -> dict[str, Any]:
    """The body of ``POST /v1/messages/count_tokens`` for ``req`` (the fields that endpoint
    takes: model, system, messages, tools, thinking, tool_choice)."""
    wire = request_to_wire(req, model or req.model)
    keep = ("model", "system", "messages", "tools", "thinking", "tool_choice")
    return {k: wire[k] for k in keep if k in wire}


# ====================================================================== generation settings


def _encode_thinking(req: Request, out: dict[str, Any], messages: list[dict[str, Any]]) -> bool:
    """Writes ``thinking`` and ``max_tokens``; True when the request has thinking on."""
    out.pop("thinking", None)  # a native form kept in extra is re-read below
    out["max_tokens"] = DEFAULT_MAX_TOKENS if req.max_tokens is None else req.max_tokens
    cfg = req.reasoning
    if cfg is None:
        return False
    display: dict[str, Any] = {}
    if cfg.include_thoughts is not None:
        display["display"] = "summarized" if cfg.include_thoughts else "omitted"
    if cfg.mode == "disabled" or cfg.effort == "none":
        out["thinking"] = {"type": "disabled"}
        return False
    if cfg.mode == "adaptive" and req.style == STYLE:
        # the model decides per turn, so no signed block is required before a tool call
        native = req.extra.get("thinking")
        out["thinking"] = native if isinstance(native, dict) else {"type": "adaptive", **display}
        return True
    if cfg.mode is None and (req.style == STYLE or (cfg.effort is None and cfg.budget_tokens is None)):
        return False  # no thinking asked (an Anthropic client sent only output_config.effort)
    budget = max(conversions.budget_for(cfg) or 0, MIN_THINKING_BUDGET)
    if req.max_tokens is None:
        out["max_tokens"] = max(DEFAULT_MAX_TOKENS, budget + DEFAULT_MAX_TOKENS)
    else:
        # the client's cap includes thinking (as OpenAI's max_completion_tokens does): the
        # budget shrinks to fit under it, and thinking goes when even the minimum does not fit
        budget = min(budget, req.max_tokens - 1)
    forced = out.get("tool_choice", {}).get("type") in ("any", "tool")
    if budget < MIN_THINKING_BUDGET or forced or _open_tool_turn_unsigned(messages):
        out["thinking"] = {"type": "disabled"}  # documented degradation, instead of a 400
        return False
    out["thinking"] = {"type": "enabled", "budget_tokens": budget, **display}
    return True


def _open_tool_turn_unsigned(messages: list[dict[str, Any]]) -> bool:
    """True when the conversation ends with tool results answering an assistant message that
    does not start with a thinking block: Anthropic refuses that with thinking enabled."""
    messages = [m for m in messages if m["role"] != "system"]
    if len(messages) < 2 or messages[-1]["role"] != "user":
        return False
    last = messages[-1]["content"]
    if not (isinstance(last, list) and last and last[0].get("type") == "tool_result"):
        return False
    prev = messages[-2]
    if prev["role"] != "assistant" or not isinstance(prev["content"], list) or not prev["content"]:
        return False
    return prev["content"][0].get("type") not in ("thinking", "redacted_thinking")


def _encode_sampling(req: Request, out: dict[str, Any], *, thinking: bool) -> None:
    if req.style != STYLE:
        for key in ("temperature", "top_p", "top_k"):
            out.pop(key, None)
        return
    if req.temperature is not None and not thinking:
        out["temperature"] = req.temperature
    if req.top_k is not None and not thinking:
        out["top_k"] = req.top_k
    if req.top_p is not None and (not thinking or req.top_p >= 0.95):
        out["top_p"] = req.top_p


def _encode_output_config(req: Request, out: dict[str, Any]) -> None:
    oc: dict[str, Any] = dict(req.extra.get("output_config") or {}) if req.style == STYLE else {}
    out.pop("output_config", None)
    cfg = req.reasoning
    if req.style == STYLE and cfg is not None and cfg.effort is not None and cfg.effort != "none":
        oc["effort"] = cfg.effort
    rf = req.response_format
    if rf is not None and rf.type == "json_schema":
        oc["format"] = {"type": "json_schema", "schema": rf.schema or {"type": "object"}}
    if oc:
        out["output_config"] = oc


def _encode_system(req: Request) -> list[dict[str, Any]]:
    blocks = [_text_block(p) for p in req.system if p.text.strip()]
    rf = req.response_format
    if rf is not None and rf.type == "json_object":
        blocks.append({"type": "text", "text": JSON_OBJECT_INSTRUCTION})
    return blocks


# ====================================================================== tools


def _encode_tools(req: Request) -> list[dict[str, Any]]:
    tc = req.tool_choice
    allowed = set(tc.allowed) if tc is not None and tc.allowed else None
    out = [_encode_tool(t, req.style == STYLE) for t in req.tools if allowed is None or t.name in allowed]
    return place_opaque_tools(out, req.opaque_tools, STYLE)


def _encode_tool(t: ToolDef, same_style: bool) -> dict[str, Any]:
    if t.kind == "custom":
        schema = conversions.custom_tool_as_function(t)
    elif t.parameters:
        schema = t.parameters if t.parameters.get("type") == "object" else {**t.parameters, "type": "object"}
    else:
        schema = _EMPTY_SCHEMA
    tool: dict[str, Any] = {"name": t.name}
    if t.description:
        tool["description"] = t.description
    tool["input_schema"] = schema
    if t.strict is not None:
        tool["strict"] = t.strict
    if same_style:
        tool.update(t.extra)
    return with_cache_control(tool, t.cache_control)


def _encode_tool_choice(req: Request) -> dict[str, Any] | None:
    tc = req.tool_choice
    parallel_off = req.parallel_tool_calls is False
    if tc is None:
        return {"type": "auto", "disable_parallel_tool_use": True} if parallel_off else None
    if tc.mode == "none":
        return {"type": "none"}
    if tc.mode == "tool" and tc.name:
        out: dict[str, Any] = {"type": "tool", "name": tc.name}
    elif tc.mode == "required" and tc.allowed and len(tc.allowed) == 1:
        out = {"type": "tool", "name": tc.allowed[0]}
    else:
        out = {"type": "any" if tc.mode in ("required", "tool") else "auto"}
    if parallel_off:
        out["disable_parallel_tool_use"] = True
    return out


# ====================================================================== messages


def _encode_messages(req: Request, *, native_system: bool) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    merged: list[dict[str, Any]] = []  # turns made of several messages' blocks
    same_style = req.style == STYLE
    for m in req.messages:
        if m.role == "system":
            _add_system_turn(turns, m, native_system=native_system)
        else:
            role = "assistant" if m.role == "assistant" else "user"
            _add_turn(turns, role, _message_blocks(m, same_style), merged)
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": [{"type": "text", "text": START_TEXT}]})
    for t in merged:
        if t["role"] == "user":
            t["content"].sort(key=_results_first)  # each message's own blocks come sorted
    content = turns[-1]["content"]
    last = content[-1] if content else {}
    if turns[-1]["role"] == "assistant" and last.get("type") == "text":
        # a prefill ending in whitespace is refused ("final assistant content cannot end with
        # trailing whitespace"); a copy: the block may be remembered for the message
        content[-1] = {**last, "text": last["text"].rstrip()}
    return turns


# (same style?, blocks) per canonical message: a conversation's history is encoded once, not on
# every turn. The blocks are shared: turns copy the lists and never change a block.
_BLOCKS: IdentityMemo[tuple[bool, list[dict[str, Any]]]] = IdentityMemo()


def _message_blocks(m: Message, same_style: bool) -> list[dict[str, Any]]:
    known = _BLOCKS.get(m)
    if known is not None and known[0] == same_style:
        return known[1]
    if m.role == "assistant":
        blocks = _assistant_blocks(m.content)
    else:
        blocks = _tool_blocks(m.content, same_style) if m.role == "tool" else _user_blocks(m.content)
        blocks.sort(key=_results_first)
    _BLOCKS.put(m, (same_style, blocks))
    return blocks


def _results_first(block: dict[str, Any]) -> bool:
    """Sort key: Anthropic wants a user turn's tool_result blocks before anything else in it."""
    return block.get("type") != "tool_result"


def _user_blocks(parts: list[Part]) -> list[dict[str, Any]]:
    return [_user_block(p) for p in parts if _has_content(p)]


def _add_turn(
    turns: list[dict[str, Any]],
    role: str,
    blocks: list[dict[str, Any]],
    merged: list[dict[str, Any]] | None = None,
) -> None:
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
        if merged is not None and (not merged or merged[-1] is not turns[-1]):
            merged.append(turns[-1])
    else:
        turns.append({"role": role, "content": list(blocks)})


def _add_system_turn(turns: list[dict[str, Any]], m: Message, *, native_system: bool) -> None:
    texts = [p for p in m.content if isinstance(p, TextPart) and p.text.strip()]
    if native_system and turns and turns[-1]["role"] == "user":
        content: list[dict[str, Any]] = [_text_block(p) for p in texts]
        content += [p.data for p in m.content if isinstance(p, OpaquePart) and p.style == STYLE]
        if content or m.extra:
            turns.append({**m.extra, "role": "system", "content": content})
        return
    if texts:
        body = "\n\n".join(p.text for p in texts)
        _add_turn(turns, "user", [{"type": "text", "text": f"<system-reminder>\n{body}\n</system-reminder>"}])


def _text_block(p: TextPart) -> dict[str, Any]:
    return with_cache_control({"type": "text", "text": p.text}, p.cache_control)


def _has_content(p: Part) -> bool:
    """Anthropic rejects empty and whitespace-only text blocks; they carry nothing."""
    return not (isinstance(p, TextPart) and not p.text.strip())


def _user_block(p: Part) -> dict[str, Any]:
    if isinstance(p, TextPart):
        return _text_block(p)
    if isinstance(p, ImagePart):
        return _image_block(p)
    if isinstance(p, FilePart):
        return _document_block(p)
    if isinstance(p, OpaquePart):
        if p.style != STYLE:
            raise BadRequest(
                f"a '{p.data.get('type')}' content block cannot be sent to an Anthropic provider"
            )
        return p.data
    if isinstance(p, ToolResultPart):
        return _tool_result_block(p, same_style=False)
    raise BadRequest(f"a {type(p).__name__} cannot appear in a user message for an Anthropic provider")


def _image_block(p: ImagePart) -> dict[str, Any]:
    if p.data is not None:
        src: dict[str, Any] = {"type": "base64", "media_type": p.media_type or "image/png", "data": p.data}
    elif p.url is not None:
        src = {"type": "url", "url": p.url}
    elif p.file_id is not None:
        src = {"type": "file", "file_id": p.file_id}
    else:
        raise BadRequest("an image part without data, url or file id")
    return with_cache_control({"type": "image", "source": src}, p.cache_control)


def _document_block(p: FilePart) -> dict[str, Any]:
    media = p.media_type or "application/pdf"
    if p.data is not None:
        if media == "application/pdf":
            src: dict[str, Any] = {"type": "base64", "media_type": media, "data": p.data}
        elif media.startswith("text/"):
            text = _b64_text(p.data)
            if text is None:
                raise BadRequest(f"a {media} document whose data is not base64 UTF-8 text")
            src = {"type": "text", "media_type": "text/plain", "data": text}
        else:
            raise BadRequest(
                f"a {media} document cannot be sent to an Anthropic provider (PDF and plain text only)"
            )
    elif p.url is not None:
        src = {"type": "url", "url": p.url}
    elif p.file_id is not None:
        src = {"type": "file", "file_id": p.file_id}
    else:
        raise BadRequest("a document part without data, url or file id")
    block: dict[str, Any] = {"type": "document", "source": src}
    if p.filename:
        block["title"] = p.filename
    return with_cache_control(block, p.cache_control)


def _b64_text(data: str) -> str | None:
    try:
        return base64.b64decode(data, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def _assistant_blocks(parts: list[Part]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, TextPart):
            if _has_content(p):
                out.append(_text_block(p))
        elif isinstance(p, ReasoningPart):
            block = _thinking_block(p)
            if block is not None:
                out.append(block)
        elif isinstance(p, ToolCallPart):
            block = {"type": "tool_use", "id": safe_id(p.id), "name": p.name, "input": tool_input(p)}
            out.append(with_cache_control(block, p.cache_control))
        elif isinstance(p, OpaquePart):
            if p.style == STYLE:
                out.append(p.data)
        elif isinstance(p, ImagePart | FilePart):
            out.append(_user_block(p))
    return out


def _thinking_block(p: ReasoningPart) -> dict[str, Any] | None:
    if p.origin != STYLE or not p.signature:
        return None  # only Anthropic verifies (and accepts) Anthropic thinking
    if p.redacted:
        return {"type": "redacted_thinking", "data": p.signature}
    return {"type": "thinking", "thinking": p.text, "signature": p.signature}


def _tool_blocks(parts: list[Part], same_style: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, ToolResultPart):
            out.append(_tool_result_block(p, same_style=same_style))
        elif _has_content(p):
            out.append(_user_block(p))
    return out


def _tool_result_block(p: ToolResultPart, *, same_style: bool) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": safe_id(p.tool_call_id)}
    native = p.extra.get("content") if same_style else None
    if native is not None:
        block["content"] = native
    elif len(p.content) == 1 and isinstance(p.content[0], TextPart) and p.content[0].cache_control is None:
        block["content"] = p.content[0].text
    elif p.content:
        block["content"] = [_user_block(c) for c in p.content if _has_content(c)]
    if p.is_error:
        block["is_error"] = True
    if same_style:
        block.update({k: v for k, v in p.extra.items() if k != "content"})
    return with_cache_control(block, p.cache_control)


def safe_id(call_id: str) -> str:
    """Anthropic tool ids match ``^[a-zA-Z0-9_-]+$``; other providers' ids may not."""
    if call_id and not _ID_UNSAFE.search(call_id):
        return call_id
    return _ID_UNSAFE.sub("_", call_id) or "toolu_missing"
