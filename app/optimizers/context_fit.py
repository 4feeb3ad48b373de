"""Context fit (``optimizers.context_fit``, off by default): a conversation that would not fit the
target model's context window has its oldest middle turns summarised by the cheap tier instead of
failing with a context-length error.

What is kept: the system prompt, the first user message (the task) and the most recent messages
filling ``keep_share`` of the window. What is replaced: everything between, by one assistant
message ``[Summary of N earlier messages] ...``. The cut always lands on a user message that is
not a tool result, so no tool call is separated from its result.

Summaries are cached by the hash of what they replace, and the cut point of a conversation is
sticky: the next turn reuses the same cut (and so the same summary and a byte-identical prefix,
which keeps the provider's prompt cache hitting) until it no longer fits; only then is a new,
later cut summarised. The summarising call is billed like any other (an attempt of kind
``context-fit``); if it fails, the request goes on unchanged and the provider decides.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

import msgspec

from app.canonical import Message, Request, Response, TextPart, ToolCallPart, ToolResultPart
from app.errors import UpstreamError
from app.pipeline import RequestContext
from app.reliability.fallback import Dispatcher
from app.routing.routes import Route

log = logging.getLogger("frugal.context_fit")
V = TypeVar("V")
NAME = "context_fit"
_encoder = msgspec.json.Encoder()

# context windows in tokens by model name pattern (first match wins); config adds its own first
DEFAULT_WINDOWS: tuple[tuple[str, int], ...] = (
    ("*claude*", 200_000),
    ("*gpt-4.1*", 1_000_000),
    ("*gpt-5*", 400_000),
    ("*gemini*", 1_000_000),
    ("*o3*", 200_000),
    ("*o4*", 200_000),
    ("*gpt-4o*", 128_000),
    ("*", 128_000),
)
SUMMARY_PROMPT = (
    "Summarise the conversation excerpt below for the assistant that will continue it. Keep every "
    "fact still needed: the task, decisions made, files and functions touched and how, commands run "
    "and their outcomes, errors seen, and what remains to do. Be concise; no preamble."
)


def estimate_tokens(messages: list[Message], system: list[TextPart]) -> int:
    """Four characters a token: a decision that must not run a tokenizer over 200k tokens."""
    return len(_encoder.encode(messages)) // 4 + sum(len(p.text) for p in system) // 4


def _transcript(messages: list[Message]) -> str:
    lines: list[str] = []
    for m in messages:
        for p in m.content:
            if isinstance(p, TextPart):
                lines.append(f"{m.role}: {p.text}")
            elif isinstance(p, ToolCallPart):
                lines.append(f"{m.role} called {p.name}({p.arguments[:2000]})")
            elif isinstance(p, ToolResultPart):
                text = " ".join(c.text for c in p.content if isinstance(c, TextPart))
                lines.append(f"tool result: {text[:4000]}")
    return "\n".join(lines)


def _safe_cut(messages: list[Message], index: int) -> bool:
    m = messages[index]
    return m.role == "user" and not any(isinstance(p, ToolResultPart) for p in m.content)


@dataclass(frozen=True, slots=True)
class FitSettings:
    fill_share: float = 0.8  # act when the estimate is over this share of the window
    keep_share: float = 0.5  # recent messages kept whole: up to this share of the window
    windows: tuple[tuple[str, int], ...] = DEFAULT_WINDOWS


class ContextFit:
    name = NAME

    def __init__(
        self,
        dispatcher: Dispatcher,
        summariser: Route | None,
        settings: FitSettings,
        *,
        max_cached: int = 1000,
    ) -> None:
        self.dispatcher = dispatcher
        self.summariser = summariser
        self.settings = settings
        self._summaries: OrderedDict[str, str] = OrderedDict()  # hash of the replaced part -> text
        self._cuts: OrderedDict[str, int] = OrderedDict()  # conversation -> sticky cut index
        self._max = max_cached

    def window(self, model: str) -> int:
        for pattern, tokens in self.settings.windows:
            if fnmatch.fnmatch(model.lower(), pattern.lower()):
                return tokens
        return DEFAULT_WINDOWS[-1][1]

    async def apply(self, req: Request, ctx: RequestContext) -> Request | Response:
        if ctx.resolution is None or len(req.messages) < 4:
            return req
        window = min(self.window(step.model) for step in ctx.resolution.route.steps)
        limit = int(window * self.settings.fill_share)
        if estimate_tokens(req.messages, req.system) <= limit:
            return req
        conv = hashlib.sha256(_encoder.encode(req.messages[:1]) + _encoder.encode(req.system)).hexdigest()
        cut = self._cut(req, conv, window, limit)
        if cut is None:
            ctx.decide(NAME, "over the window, no safe cut")
            return req
        replaced = req.messages[1:cut]
        key = hashlib.sha256(_encoder.encode(replaced)).hexdigest()
        summary = self._summaries.get(key)
        if summary is None:
            summary = await self._summarise(replaced, self.summariser or ctx.resolution.route, ctx)
            if summary is None:
                return req
            self._remember(self._summaries, key, summary)
        self._remember(self._cuts, conv, cut)
        note = f"[Summary of {len(replaced)} earlier messages, written by the gateway to fit the context]\n"
        messages = [req.messages[0], Message("assistant", [TextPart(note + summary)]), *req.messages[cut:]]
        ctx.saved(NAME, _transcript(replaced), note + summary)
        ctx.decide(NAME, f"summarised messages 1-{cut - 1}")
        return msgspec.structs.replace(req, messages=messages)

    def _cut(self, req: Request, conv: str, window: int, limit: int) -> int | None:
        """The first message kept whole: the sticky cut when the request still fits with it,
        else the earliest safe cut that leaves at most ``keep_share`` of the window behind it."""
        msgs = req.messages
        sticky = self._cuts.get(conv)
        if sticky is not None and sticky < len(msgs) and _safe_cut(msgs, sticky):
            tail = estimate_tokens(msgs[sticky:], req.system)
            if tail + 2000 <= limit:
                return sticky
        keep = int(window * self.settings.keep_share)
        for i in range(2, len(msgs)):
            if _safe_cut(msgs, i) and estimate_tokens(msgs[i:], req.system) <= keep:
                return i
        return None

    async def _summarise(self, replaced: list[Message], route: Route, ctx: RequestContext) -> str | None:
        ask = Request(
            model=route.name,
            style="openai-chat",
            system=[TextPart(SUMMARY_PROMPT)],
            messages=[Message("user", [TextPart(_transcript(replaced))])],
            max_tokens=2000,
        )
        first = len(ctx.attempts)
        provider, model, step_model, style = ctx.provider, ctx.model, ctx.step_model, ctx.provider_style
        try:
            done = await self.dispatcher.complete(ask, route, ctx, {}, None)
        except UpstreamError as exc:
            log.warning("context fit: the summary call failed (%s); sending the request as it is", exc.reason)
            ctx.decide(NAME, f"summary failed: {exc.reason}")
            return None
        finally:
            for a in ctx.attempts[first:]:
                a.kind = "context-fit"
            ctx.provider, ctx.model, ctx.step_model, ctx.provider_style = provider, model, step_model, style
        for a in ctx.attempts[first:]:
            if a.outcome == "ok":
                a.usage = done.response.usage
        text = "".join(p.text for p in done.response.content if isinstance(p, TextPart)).strip()
        return text or None

    def _remember(self, table: OrderedDict[str, V], key: str, value: V) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self._max:
            table.popitem(last=False)
