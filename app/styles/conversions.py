"""Conversion rules shared by several codecs: one place for each cross-style decision.

Every rule here is a documented degradation or mapping (README, "Style conversion"):
reasoning budgets <-> effort levels, custom (free-form) tools as one-string-parameter functions,
pairing tool results with the names of their calls.
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.canonical import CacheControl, Effort, Message, ReasoningConfig, ToolCallPart, ToolDef

# Token budgets that stand for each effort level when a style only takes one of the two.
# Anthropic's minimum thinking budget is 1024; the upper levels follow Anthropic's and Google's
# published guidance for "moderate" and "deep" thinking.
_BUDGET_FOR_EFFORT: dict[str, int] = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 24576,
    "max": 32768,
}


def budget_for(cfg: ReasoningConfig) -> int | None:
    """The thinking budget a budget-based style should use, or None for 'no thinking'."""
    if cfg.mode == "disabled" or cfg.effort == "none":
        return None
    if cfg.budget_tokens is not None:
        return cfg.budget_tokens
    if cfg.effort is not None:
        return _BUDGET_FOR_EFFORT[cfg.effort]
    return _BUDGET_FOR_EFFORT["medium"]


def effort_for(cfg: ReasoningConfig) -> Effort | None:
    """The effort level an effort-based style should use, or None to leave it unset."""
    if cfg.mode == "disabled":
        return "none"
    if cfg.effort is not None:
        return cfg.effort
    if cfg.budget_tokens is not None:
        b = cfg.budget_tokens
        if b <= 0:
            return "none"
        if b <= 2048:
            return "low"
        if b <= 8192:
            return "medium"
        return "high"
    return None


# A free-form tool (OpenAI Responses "custom" tool: raw text input, e.g. Codex's apply_patch)
# becomes, for styles without such tools, a function taking one string parameter.
CUSTOM_TOOL_PARAM = "input"


def custom_tool_as_function(tool: ToolDef) -> dict[str, Any]:
    """JSON Schema of the one-string-parameter function standing in for a custom tool."""
    desc = "The raw input for this tool, as plain text."
    fmt = tool.format or {}
    if fmt.get("type") == "grammar" and isinstance(fmt.get("definition"), str):
        desc += " It must follow this grammar (" + str(fmt.get("syntax", "")) + "):\n" + fmt["definition"]
    return {
        "type": "object",
        "properties": {CUSTOM_TOOL_PARAM: {"type": "string", "description": desc}},
        "required": [CUSTOM_TOOL_PARAM],
        "additionalProperties": False,
    }


def custom_input_from_arguments(arguments: str) -> str:
    """The raw input of a custom tool call that came back as a function call."""
    try:
        obj = msgspec.json.decode(arguments) if arguments else {}
    except msgspec.DecodeError:
        return arguments
    if isinstance(obj, dict) and isinstance(obj.get(CUSTOM_TOOL_PARAM), str):
        return str(obj[CUSTOM_TOOL_PARAM])
    return arguments


def arguments_from_custom_input(text: str) -> str:
    return msgspec.json.encode({CUSTOM_TOOL_PARAM: text}).decode()


def custom_tool_names(tools: list[ToolDef]) -> frozenset[str]:
    return frozenset(t.name for t in tools if t.kind == "custom")


def call_names(messages: list[Message]) -> dict[str, str]:
    """tool call id -> tool name, for every call in the conversation."""
    names: dict[str, str] = {}
    for m in messages:
        if m.role == "assistant":
            for p in m.content:
                if isinstance(p, ToolCallPart):
                    names[p.id] = p.name
    return names


def parse_arguments(arguments: str) -> dict[str, Any]:
    """Tool-call arguments as an object, for styles that send them as JSON objects.

    Models occasionally emit invalid JSON; it is kept under a single key instead of failing the
    whole conversation.
    """
    if not arguments.strip():
        return {}
    try:
        obj = msgspec.json.decode(arguments)
    except msgspec.DecodeError:
        return {"_raw_arguments": arguments}
    return obj if isinstance(obj, dict) else {"_value": obj}


# Anthropic's `cache_control` block field; OpenRouter passes the same shape on to Anthropic
# models, so the Chat codec reads and writes it too.


def cache_control_from_wire(block: dict[str, Any]) -> CacheControl | None:
    cc = block.get("cache_control")
    if isinstance(cc, dict):
        ttl = cc.get("ttl")
        return CacheControl(type=str(cc.get("type", "ephemeral")), ttl=ttl if isinstance(ttl, str) else None)
    return None


def with_cache_control(block: dict[str, Any], cc: CacheControl | None) -> dict[str, Any]:
    if cc is not None:
        # spelled out: CacheControl omits its default type, which Anthropic requires
        block["cache_control"] = {"type": cc.type, "ttl": cc.ttl} if cc.ttl else {"type": cc.type}
    return block
