"""Size limits (lossy, off unless set): cut an over-long system prompt, user message or tool
result to a configured number of characters, with a visible marker where text was removed, and
give a request without ``max_tokens`` a default one.

The seed gateway's ``SYSTEM_MAX_CHARS``, ``USER_MSG_MAX_CHARS``, ``TOOL_RESULT_MAX_CHARS`` and
``DEFAULT_MAX_TOKENS``. A cut keeps the head and the tail (two thirds / one third): the start of
a file or log says what it is, its end holds the error or the result. What happens to a message
depends on that message alone, so a cut message comes out byte for byte the same on every later
turn and the provider's prompt cache still hits. Tool calls, images and reasoning are never cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import msgspec

from app.canonical import Message, Part, Request, Response, TextPart, ToolResultPart
from app.pipeline import RequestContext

NAME = "limits"
P = TypeVar("P", bound=Part)


@dataclass(frozen=True, slots=True)
class Limits:
    system_max_chars: int = 0  # 0: no limit
    user_msg_max_chars: int = 0
    tool_result_max_chars: int = 0
    default_max_tokens: int = 0

    @property
    def any(self) -> bool:
        return any((self.system_max_chars, self.user_msg_max_chars, self.tool_result_max_chars,
                    self.default_max_tokens))  # fmt: skip


def cut(text: str, limit: int) -> tuple[str, str, str]:
    """``text`` within ``limit`` characters (the marker included, when the limit leaves room for
    it), the part removed, and the marker put in its place."""
    if len(text) <= limit:
        return text, "", ""
    marker = f"\n[... {len(text) - limit:,} characters cut by the gateway (limit {limit:,}) ...]\n"
    room = max(0, limit - len(marker))
    head = room * 2 // 3
    tail = room - head
    removed = text[head : len(text) - tail]
    return text[:head] + marker + (text[len(text) - tail :] if tail else ""), removed, marker


class SizeLimits:
    name = NAME

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    async def apply(self, req: Request, ctx: RequestContext) -> Request | Response:
        lim = self.limits
        changes: dict[str, object] = {}
        if lim.system_max_chars and req.system:
            system = self._cut_parts(req.system, lim.system_max_chars, ctx)
            if system is not None:
                changes["system"] = system
        messages = self._messages(req.messages, ctx)
        if messages is not None:
            changes["messages"] = messages
        if lim.default_max_tokens and req.max_tokens is None:
            changes["max_tokens"] = lim.default_max_tokens
            ctx.decide(NAME, f"max_tokens defaulted to {lim.default_max_tokens}")
        return msgspec.structs.replace(req, **changes) if changes else req

    def _messages(self, messages: list[Message], ctx: RequestContext) -> list[Message] | None:
        lim = self.limits
        out: list[Message] | None = None
        for i, msg in enumerate(messages):
            parts: list[Part] | None = None
            if msg.role == "system" and lim.system_max_chars:
                parts = self._cut_parts(msg.content, lim.system_max_chars, ctx)
            elif msg.role == "user":
                parts = self._user_parts(msg.content, lim.user_msg_max_chars, ctx)
            elif msg.role == "tool":
                parts = self._user_parts(msg.content, lim.tool_result_max_chars, ctx)
            if parts is not None and out is None:
                out = list(messages[:i])
            if out is not None:
                out.append(msgspec.structs.replace(msg, content=parts) if parts is not None else msg)
        return out

    def _user_parts(self, parts: list[Part], text_limit: int, ctx: RequestContext) -> list[Part] | None:
        """A user message's text cut to ``text_limit``, its tool results to theirs."""
        lim = self.limits
        out: list[Part] | None = None
        for i, part in enumerate(parts):
            new: Part = part
            if isinstance(part, TextPart) and text_limit:
                new = self._cut_text(part, text_limit, ctx)
            elif isinstance(part, ToolResultPart) and lim.tool_result_max_chars:
                content = self._cut_parts(part.content, lim.tool_result_max_chars, ctx)
                if content is not None:
                    new = msgspec.structs.replace(part, content=content)
            if new is not part and out is None:
                out = list(parts[:i])
            if out is not None:
                out.append(new)
        return out

    def _cut_parts(self, parts: list[P], limit: int, ctx: RequestContext) -> list[P] | None:
        """Text parts cut so that together they stay within ``limit`` (each part keeps its share
        of the budget in order: the first parts first)."""
        total = sum(len(p.text) for p in parts if isinstance(p, TextPart))
        if total <= limit:
            return None
        budget = limit
        out: list[P] = []
        for p in parts:
            if isinstance(p, TextPart):
                new = self._cut_text(p, max(0, budget), ctx)
                budget -= len(new.text)
                out.append(new)  # type: ignore[arg-type]
            else:
                out.append(p)
        return out

    @staticmethod
    def _cut_text(part: TextPart, limit: int, ctx: RequestContext) -> TextPart:
        text, removed, marker = cut(part.text, limit)
        if not removed:
            return part
        ctx.saved(NAME, removed, marker)
        return msgspec.structs.replace(part, text=text)
