"""``conflict_resolution``: a step whose provider refuses a feature is retried without it.

A route step may name ``tools``, ``format`` and/or ``reasoning``. When that step answers 400/422
and the request used the feature, the step is tried once more with the feature removed
(``X-Gateway-Conflict-Resolution`` says what was dropped). Removing tools also turns earlier tool
calls and results into plain text, since providers refuse tool history without tool definitions.
"""

from __future__ import annotations

import msgspec

from app.canonical import Message, Part, ReasoningPart, Request, TextPart, ToolCallPart, ToolResultPart
from app.config import ConflictKind


def applicable(req: Request, kinds: tuple[ConflictKind, ...]) -> tuple[ConflictKind, ...]:
    """The conflict kinds of ``kinds`` that this request actually uses."""
    used: list[ConflictKind] = []
    for kind in kinds:
        if (
            (kind == "tools" and (req.tools or req.opaque_tools or _has_tool_history(req)))
            or (kind == "format" and req.response_format is not None and req.response_format.type != "text")
            or (kind == "reasoning" and (req.reasoning is not None or _has_reasoning(req)))
        ):
            used.append(kind)
    return tuple(used)


def without(req: Request, kinds: tuple[ConflictKind, ...]) -> Request:
    out = msgspec.structs.replace(req)
    if "tools" in kinds:
        out = msgspec.structs.replace(
            out,
            tools=[],
            opaque_tools=[],
            tool_choice=None,
            parallel_tool_calls=None,
            messages=[_tools_as_text(m) for m in out.messages],
        )
    if "format" in kinds:
        out = msgspec.structs.replace(out, response_format=None)
    if "reasoning" in kinds:
        out = msgspec.structs.replace(
            out,
            reasoning=None,
            messages=[
                msgspec.structs.replace(m, content=[p for p in m.content if not isinstance(p, ReasoningPart)])
                for m in out.messages
            ],
        )
    return out


def _has_tool_history(req: Request) -> bool:
    return any(isinstance(p, ToolCallPart | ToolResultPart) for m in req.messages for p in m.content)


def _has_reasoning(req: Request) -> bool:
    return any(isinstance(p, ReasoningPart) for m in req.messages for p in m.content)


def _tools_as_text(m: Message) -> Message:
    if not any(isinstance(p, ToolCallPart | ToolResultPart) for p in m.content):
        return m
    parts: list[Part] = []
    for p in m.content:
        if isinstance(p, ToolCallPart):
            parts.append(TextPart(f"[called tool {p.name} with {p.arguments or '{}'}]"))
        elif isinstance(p, ToolResultPart):
            text = "\n".join(c.text for c in p.content if isinstance(c, TextPart))
            label = "error" if p.is_error else "result"
            parts.append(TextPart(f"[tool {p.name or p.tool_call_id} {label}: {text}]"))
        else:
            parts.append(p)
    return Message("user" if m.role == "tool" else m.role, parts, m.name)
