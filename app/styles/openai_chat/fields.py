"""OpenAI Chat Completions wire pieces shared by the codec and its stream classes."""

from __future__ import annotations

from typing import Any

from app.canonical import StopReason, ToolCallPart, Usage
from app.styles import conversions
from app.styles.json_fields import loose_object

FINISH_REASON: dict[StopReason, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "refusal": "stop",
    "pause": "stop",
    "error": "stop",
}
STOP_REASON: dict[str, StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
    "end_turn": "end_turn",  # some OpenAI-compatible servers echo Anthropic's names
    "max_tokens": "max_tokens",
    "tool_use": "tool_use",
}


def usage_from_wire(u: Any) -> Usage:
    if not isinstance(u, dict):
        return Usage()
    pd = loose_object(u.get("prompt_tokens_details"))
    cd = loose_object(u.get("completion_tokens_details"))
    return Usage(
        input_tokens=int(u.get("prompt_tokens") or 0),
        output_tokens=int(u.get("completion_tokens") or 0),
        cache_read_tokens=int(pd.get("cached_tokens") or 0),
        cache_write_tokens=int(pd.get("cache_write_tokens") or 0),
        reasoning_tokens=int(cd.get("reasoning_tokens") or 0),
    )


def usage_to_wire(u: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    }
    if u.cache_write_tokens:
        out["prompt_tokens_details"]["cache_write_tokens"] = u.cache_write_tokens
    return out


def tool_call_to_wire(c: ToolCallPart, custom: frozenset[str]) -> dict[str, Any]:
    if c.name in custom:
        return {"id": c.id, "type": "custom", "custom": {"name": c.name, "input": _custom_input(c)}}
    args = c.arguments
    if c.kind == "custom":
        args = conversions.arguments_from_custom_input(args)
    return {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": args or "{}"}}


def _custom_input(c: ToolCallPart) -> str:
    return c.arguments if c.kind == "custom" else conversions.custom_input_from_arguments(c.arguments)
