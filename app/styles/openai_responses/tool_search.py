"""Codex's client-executed ``tool_search``, offered to providers of every style.

Codex declares ``{"type": "tool_search", "execution": "client", "description", "parameters"}``: a
tool *the client runs* (it searches Codex's deferred tools), not a hosted one. In canonical form:

* the declaration is kept whole for a Responses provider (an ``OpaqueTool``) and stands in as an
  ordinary function ``tool_search`` (same description and parameters) for every other provider;
* a ``tool_search_call`` item in the history is a ``ToolCallPart`` named ``tool_search`` whose
  arguments are the item's ``arguments`` object as JSON text;
* a ``tool_search_output`` item is that call's ``ToolResultPart``: for another provider its text
  lists the tools the search loaded, and those tools join the request's tools (flattened as
  ``namespace__name`` when namespaced) so the model can call them; a Responses provider gets the
  item itself back (``ToolResultPart.extra``) and none of the stand-ins;
* a call of ``tool_search`` answered by any provider reaches a Responses client that declared the
  tool as a ``tool_search_call`` item (``execution: client``), which Codex runs.

Hosted (server-executed) tool search stays a Responses-only built-in tool.
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.canonical import OpaqueTool, TextPart, ToolCallPart, ToolDef, ToolResultPart

NAME = "tool_search"
LOADED_BY = "loaded_by"  # ToolDef.extra marker of a tool that a search loaded
ITEM = "responses_item"  # ToolResultPart.extra key holding the client's own output item
_DEFAULT_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"query": {"type": "string", "description": "What to search the deferred tools for."}},
    "required": ["query"],
}
_encoder = msgspec.json.Encoder()


def is_client_search(tool: dict[str, Any]) -> bool:
    return tool.get("type") == NAME and tool.get("execution") == "client"


def declared(opaque_tools: list[OpaqueTool]) -> bool:
    """Whether the request offers a client-executed tool search."""
    return any(t.style == "openai-responses" and is_client_search(t.data) for t in opaque_tools)


def stand_in(tool: dict[str, Any]) -> ToolDef:
    """The function other providers see for Codex's tool search."""
    params = tool.get("parameters")
    description = tool.get("description")
    return ToolDef(
        name=NAME,
        description=description if isinstance(description, str) else "Search the client's deferred tools.",
        parameters=params if isinstance(params, dict) else _DEFAULT_PARAMETERS,
        extra={LOADED_BY: "declaration"},
    )


def is_stand_in(tool: ToolDef) -> bool:
    """A tool a Responses provider must not get as a function (the declaration or a loaded tool
    stands for it there)."""
    return LOADED_BY in tool.extra


def call_from_item(item: dict[str, Any], call_id: str, item_id: str | None) -> ToolCallPart:
    args = item.get("arguments")
    text = args if isinstance(args, str) else _encoder.encode(args if args is not None else {}).decode()
    return ToolCallPart(call_id, NAME, text, item_id=item_id)


def result_from_item(item: dict[str, Any], call_id: str, tools: list[ToolDef]) -> ToolResultPart:
    """The output as a tool result whose text names what was loaded (for another provider)."""
    lines = [f"- {t.name}: {(t.description or '').strip()[:200]}".rstrip(": ") for t in tools]
    text = "Tools loaded and now available to call:\n" + "\n".join(lines) if lines else "No tools matched."
    return ToolResultPart(call_id, [TextPart(text)], name=NAME, extra={ITEM: item})


def call_item(item_id: str, call: ToolCallPart, status: str = "completed") -> dict[str, Any]:
    """A ``tool_search_call`` output item for the client that runs the search."""
    try:
        args = msgspec.json.decode(call.arguments) if call.arguments.strip() else {}
    except msgspec.DecodeError:
        args = {"query": call.arguments}
    return {
        "id": item_id,
        "type": "tool_search_call",
        "call_id": call.id,
        "execution": "client",
        "arguments": args,
        "status": status,
    }
