"""Stage 4, boilerplate strip: instruction blocks an IDE repeats verbatim, sent once.

IDE agents wrap context they re-inject on every turn in fixed tags: Claude Code's
``<system-reminder>``, Cline's and Roo's ``<environment_details>`` and ``<custom_instructions>``,
Cursor's ``<user_info>``, ``<rules>`` and ``<project_layout>``. When the block's text is exactly
one the request already holds earlier, the later copy says nothing new and becomes
``[repeated <tag> omitted]``. A block that changed (a new file list, a new time) is kept whole:
only verbatim repeats go, so nothing is lost.

The patterns are a config list (``optimizers.boilerplate_patterns``, regular expressions each
matching one whole block); ``DEFAULT_PATTERNS`` is the built-in set.

Prefix stability: a block in message k is dropped only when an identical one sits in the system
prompt or messages 0..k, so turn N's result is the same inside turn N+1. Assistant turns and
reasoning are read, never changed.
"""

from __future__ import annotations

import re

import msgspec

from app.canonical import FilePart, ImagePart, Message, Part, Request, Response, TextPart, ToolResultPart
from app.optimizers.walk_memo import Saved, WalkMemo
from app.pipeline import RequestContext

NAME = "boilerplate"

DEFAULT_PATTERNS: tuple[str, ...] = (
    # Claude Code, Cline/Roo, Cursor context blocks; the tag name is group 1 (used in the marker)
    r"<(system-reminder)>.*?</system-reminder>",
    r"<(environment_details)>.*?</environment_details>",
    r"<(custom_instructions)>.*?</custom_instructions>",
    r"<(user_info)>.*?</user_info>",
    r"<(rules)>.*?</rules>",
    r"<(project_layout)>.*?</project_layout>",
)


def compile_patterns(patterns: list[str] | tuple[str, ...]) -> list[re.Pattern[str]]:
    """Compiled once at start-up; a bad pattern raises ``re.error`` naming it."""
    return [re.compile(p, re.DOTALL) for p in patterns]


_META = frozenset("\\.^$*+?{}[]|()")


def literal_prefix(pattern: str) -> str:
    """The literal text every match of ``pattern`` starts with ("" when unsure): the characters
    before its first special one, less the last if a quantifier may repeat or drop it."""
    if _top_level_alternation(pattern):
        return ""  # "abc|def": a match may start with either
    i = 0
    while i < len(pattern) and pattern[i] not in _META:
        i += 1
    if i < len(pattern) and pattern[i] in "*?{":
        i -= 1
    return pattern[: max(i, 0)]


def _top_level_alternation(pattern: str) -> bool:
    depth = 0
    in_class = escaped = False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
    return False


class BoilerplateStrip:
    """Drops verbatim repeats of configured instruction blocks."""

    name = NAME

    def __init__(self, patterns: list[re.Pattern[str]]) -> None:
        self._patterns = patterns
        # a pattern can only match where its leading literal text occurs: most texts hold no "<"
        self._prefixes = [literal_prefix(p.pattern) for p in patterns]
        self._memo: WalkMemo[frozenset[str]] = WalkMemo()

    async def apply(self, req: Request, ctx: RequestContext) -> Request | Response:
        if not self._patterns:
            return req
        system = tuple(p.text for p in req.system)
        result = self._memo.walk(
            system,
            req.messages,
            lambda: self._walker(system),
            lambda seen: _Walker(self, set(seen)),
            ctx,
            NAME,
        )
        return req if result.messages is None else msgspec.structs.replace(req, messages=result.messages)

    def _walker(self, system: tuple[str, ...]) -> _Walker:
        seen: set[str] = set()
        for text in system:
            self._blocks(text, seen, [], strip=False)
        return _Walker(self, seen)

    def _message(self, m: Message, seen: set[str], saved: list[Saved]) -> Message:
        strip = m.role != "assistant"
        parts: list[Part] | None = None
        for j, p in enumerate(m.content):
            new: Part = p
            if isinstance(p, TextPart):
                text = self._blocks(p.text, seen, saved, strip=strip)
                if text is not p.text:
                    new = msgspec.structs.replace(p, text=text)
            elif isinstance(p, ToolResultPart) and strip and "content" not in p.extra:
                new = self._result(p, seen, saved)
            if new is not p and parts is None:
                parts = list(m.content[:j])
            if parts is not None:
                parts.append(new)
        return m if parts is None else msgspec.structs.replace(m, content=parts)

    def _result(self, p: ToolResultPart, seen: set[str], saved: list[Saved]) -> ToolResultPart:
        # (native Anthropic blocks in ``extra`` replace ``content`` on the wire: callers skip those)
        content: list[TextPart | ImagePart | FilePart] = []
        for c in p.content:
            if isinstance(c, TextPart):
                text = self._blocks(c.text, seen, saved, strip=True)
                content.append(c if text is c.text else msgspec.structs.replace(c, text=text))
            else:
                content.append(c)
        if all(a is b for a, b in zip(content, p.content, strict=True)):
            return p
        return msgspec.structs.replace(p, content=content)

    def _blocks(self, text: str, seen: set[str], saved: list[Saved], *, strip: bool) -> str:
        """``text`` with repeated blocks replaced (the same object when nothing was)."""
        spans: list[tuple[int, int, str]] = []
        for pat, prefix in zip(self._patterns, self._prefixes, strict=True):
            if prefix and prefix not in text:
                continue
            for m in pat.finditer(text):
                if m.end() > m.start():
                    spans.append((m.start(), m.end(), m.group(1) if pat.groups else "block"))
        if not spans:
            return text
        spans.sort()
        pieces: list[str] = []
        pos = covered = 0
        for start, end, tag in spans:
            if start < covered:
                continue  # overlapping matches of two patterns: the first one wins
            covered = end
            block = text[start:end]
            if block not in seen:
                seen.add(block)
                continue
            if not strip:
                continue
            marker = f"[repeated {tag} omitted]"
            if len(marker) >= len(block):
                continue
            pieces.append(text[pos:start])
            pieces.append(marker)
            pos = end
            saved.append((block, marker))
        if not pieces:
            return text
        pieces.append(text[pos:])
        return "".join(pieces)


class _Walker:
    """One request's walk: the blocks seen so far."""

    def __init__(self, stage: BoilerplateStrip, seen: set[str]) -> None:
        self._stage = stage
        self._seen = seen

    def message(self, m: Message, i: int, saved: list[Saved]) -> Message:
        return self._stage._message(m, self._seen, saved)

    def snapshot(self) -> frozenset[str]:
        return frozenset(self._seen)
