"""Stage 2, prompt-cache annotation: let the provider's prompt cache see the stable prefix.

Anthropic caches only up to explicit ``cache_control`` breakpoints (at most 4 per request) and,
from each breakpoint, looks back at most 20 content blocks for an earlier entry. Without
breakpoints an Anthropic upstream bills every token of every turn in full. This stage places
the missing breakpoints, keeping (and counting) the client's own:

1. the end of the newest message (the rolling breakpoint: writes this turn's prefix);
2. the end of the message the previous request ended with (the last non-assistant message
   before the newest assistant turn): an exact hit on what the previous turn wrote, however
   many blocks this turn added (tool calls in parallel easily add more than 20);
3. the end of the system prompt and 4. the last tool: still hits when the client rewrote an
   early message (a "turns left" counter, a timestamp) and broke the conversation prefix.

Anthropic matches the prefix *without* the breakpoint markers (a rolling breakpoint moves every
turn and still hits), so moving the markers keeps turn N's prefix cacheable inside turn N+1.

The stage runs before the provider is chosen; it reads the route's steps: the markers go on the
canonical request when a step speaks Anthropic Messages (the Anthropic codec writes them as
``cache_control``; OpenAI Chat writes them too, which OpenRouter forwards to Claude; Responses
and Gemini drop them). For OpenAI-style steps it sets a stable ``prompt_cache_key`` (unless the
client set one) from the project and the prefix that opens the conversation (tools, system,
first message), so OpenAI routes turns of one conversation to the same cache. Gemini caches
implicitly and needs nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TypeVar

import msgspec

from app.canonical import (
    CacheControl,
    FilePart,
    ImagePart,
    Message,
    Part,
    Request,
    Response,
    Style,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    part_chars,
)
from app.memo import IdentityMemo
from app.pipeline import RequestContext

NAME = "prompt_cache"
MAX_BREAKPOINTS = 4  # Anthropic refuses a request with more
MIN_CACHEABLE_CHARS = 4 * 1024  # ~1,024 tokens, the shortest prompt either provider caches
_MARK = CacheControl(added=True)
_encoder = msgspec.json.Encoder(order="sorted")
T = TypeVar("T")
_OPENAI: frozenset[Style] = frozenset({"openai-chat", "openai-responses"})


class PromptCacheAnnotation:
    """``tier_styles``: the styles of the tier routes, which an ``auto`` request may still move to
    (tier selection runs later); ``scenario_styles``: those of scenario targets, which any request
    may move to. Annotating for a style the request ends up not using costs nothing: codecs
    without prompt-cache markers drop them."""

    name = NAME

    def __init__(
        self, tier_styles: frozenset[Style] = frozenset(), scenario_styles: frozenset[Style] = frozenset()
    ) -> None:
        self.tier_styles = tier_styles
        self.scenario_styles = scenario_styles

    async def apply(self, req: Request, ctx: RequestContext) -> Request | Response:
        styles = _target_styles(ctx) | self.scenario_styles
        if ctx.resolution is not None and ctx.resolution.source == "auto":
            styles |= self.tier_styles
        if not styles & (_OPENAI | {"anthropic-messages"}) or _chars(req) < MIN_CACHEABLE_CHARS:
            # neither provider caches a prompt under 1,024 tokens: leave it, so a same-style
            # client's own bytes still pass through untouched
            return req
        out = req
        added = 0
        if "anthropic-messages" in styles:
            out, added = _annotate(out)
        if styles & _OPENAI and not out.prompt_cache_key:
            out = msgspec.structs.replace(out, prompt_cache_key=cache_key(ctx.project.name, req))
        if out is not req:
            ctx.decide(NAME, f"{added} breakpoints added")
        return out


def _chars(req: Request) -> int:
    """A cheap size of the prompt (characters of its text), enough to tell tiny from cacheable."""
    n = sum(len(p.text) for p in req.system)
    n += sum(len(t.description or "") + len(t.name) for t in req.tools)
    for m in req.messages:
        for p in m.content:
            n += part_chars(p)
            if n >= MIN_CACHEABLE_CHARS:
                return n
    return n


def _target_styles(ctx: RequestContext) -> set[Style]:
    if ctx.resolution is None:
        return set()
    return {s.provider.style for s in ctx.resolution.route.steps}


def cache_key(project: str, req: Request) -> str:
    """Stable for every turn of one conversation of one project (its opening prefix)."""
    h = hashlib.sha256(project.encode())
    h.update(_encoder.encode([t.name for t in req.tools]))
    for p in req.system:
        h.update(p.text.encode("utf-8", "surrogatepass"))
    if req.messages:
        h.update(_encoder.encode(_without_marks(req.messages[0])))
    return f"frugal-{h.hexdigest()[:24]}"


def _without_marks(m: Message) -> Message:
    return msgspec.structs.replace(m, content=[_unmark(p) for p in m.content])


def _unmark(p: Part) -> Part:
    if isinstance(p, TextPart | ImagePart | FilePart | ToolCallPart | ToolResultPart) and p.cache_control:
        return msgspec.structs.replace(p, cache_control=None)
    return p


# --------------------------------------------------------------------------- Anthropic breakpoints


# breakpoints per message: the history's messages come back turn after turn as the same objects
_MARKS: IdentityMemo[int] = IdentityMemo()


def count_breakpoints(req: Request) -> int:
    n = sum(1 for t in req.tools if t.cache_control is not None)
    n += sum(1 for p in req.system if p.cache_control is not None)
    for m in req.messages:
        marks = _MARKS.get(m)
        if marks is None:
            marks = sum(1 for p in m.content if _marked(p))
            _MARKS.put(m, marks)
        n += marks
    if isinstance(req.extra.get("cache_control"), dict):
        n += 1  # Anthropic's top-level automatic breakpoint takes a slot too
    return n


def _marked(p: Part) -> bool:
    if isinstance(p, ToolResultPart):
        return p.cache_control is not None or any(c.cache_control is not None for c in p.content)
    return isinstance(p, TextPart | ImagePart | FilePart | ToolCallPart) and p.cache_control is not None


def annotate(req: Request) -> Request:
    """``req`` with breakpoints added in priority order while fewer than 4 are set."""
    return _annotate(req)[0]


def _annotate(req: Request) -> tuple[Request, int]:
    """``annotate``, and how many breakpoints it added (one walk over the request, not three)."""
    budget = MAX_BREAKPOINTS - count_breakpoints(req)
    if budget <= 0:
        return req, 0
    added = 0
    messages = list(req.messages)
    changed = False
    for idx in _message_targets(messages):
        if budget == 0:
            break
        marked = _mark_message(messages[idx])
        if marked is not None:
            messages[idx] = marked
            budget -= 1
            added += 1
            changed = True
    system = req.system
    if budget and system and not any(p.cache_control for p in system):
        k = _last_index(system, lambda p: bool(p.text.strip()))
        if k is not None:
            system = [*system[:k], msgspec.structs.replace(system[k], cache_control=_MARK), *system[k + 1 :]]
            budget -= 1
            added += 1
            changed = True
    tools = req.tools
    if budget and tools and not any(t.cache_control for t in tools):
        tools = [*tools[:-1], msgspec.structs.replace(tools[-1], cache_control=_MARK)]
        added += 1
        changed = True
    if not changed:
        return req, 0
    return msgspec.structs.replace(req, messages=messages, system=system, tools=tools), added


def _message_targets(messages: list[Message]) -> list[int]:
    """The newest message, then the one the previous request ended with."""
    if not messages:
        return []
    targets = [len(messages) - 1]
    last_assistant = _last_index(messages, lambda m: m.role == "assistant")
    if last_assistant is not None:
        prev = _last_index(messages[:last_assistant], lambda m: m.role != "assistant")
        if prev is not None and prev not in targets:
            targets.append(prev)
    return targets


def _mark_message(m: Message) -> Message | None:
    """``m`` with a breakpoint on its last markable part; None when it has one or none can go.

    A system message inside the conversation is folded into a user turn by the Anthropic codec
    (its marker would be lost), and thinking blocks cannot carry one."""
    if m.role == "system" or any(_marked(p) for p in m.content):
        return None
    k = _last_index(m.content, _markable)
    if k is None:
        return None
    content = list(m.content)
    content[k] = msgspec.structs.replace(content[k], cache_control=_MARK)
    return msgspec.structs.replace(m, content=content)


def _markable(p: Part) -> bool:
    if isinstance(p, TextPart):
        return bool(p.text.strip())  # an empty text block is dropped on the wire
    return isinstance(p, ImagePart | FilePart | ToolCallPart | ToolResultPart)


def _last_index(items: Sequence[T], ok: Callable[[T], bool]) -> int | None:
    for k in range(len(items) - 1, -1, -1):
        if ok(items[k]):
            return k
    return None
