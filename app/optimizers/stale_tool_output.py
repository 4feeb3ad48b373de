"""Extra stage, stale tool output (lossy, off by default): old results that later turns made moot
shrink to a stub naming their size and hash.

A tool result is stale when, before the checkpoint described below,
* the same call (tool name and arguments) ran again: the newer output is the one that counts;
* the same file was read again (same path argument, or a listing of the same path with
  overlapping lines): e.g. re-read after an edit;
* it is longer than ``long_chars`` and more than ``long_after_turns`` turns older than the
  checkpoint.
It then becomes ``[stale tool output: 5120 chars, 96 lines, sha256:..., <why>]``; the result
keeps its call id, so call/result pairing holds. Results with images are left alone.

Prefix stability, and why checkpoints: staleness is known only later, so rewriting a result as
soon as it went stale would change an old message on every turn and miss the provider's prompt
cache each time. Instead the stage only looks at the messages before a checkpoint: the
``keep_recent_turns``-th newest assistant turn, rounded down to a multiple of ``every_turns``
turns. Everything it does is a function of the messages before that checkpoint, so the
optimized prefix stays byte-identical from turn to turn and changes once every ``every_turns``
turns (one cache write then, fewer tokens for every turn after). The newest turns are never
touched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import msgspec

from app.canonical import Message, Request, Response, TextPart, ToolCallPart, ToolResultPart
from app.optimizers.file_bodies import find_bodies
from app.optimizers.tool_paths import path_argument
from app.pipeline import RequestContext

NAME = "stale_tool_output"


@dataclass(frozen=True, slots=True)
class StaleSettings:
    keep_recent_turns: int = 4  # the newest assistant turns (and what follows) are never touched
    every_turns: int = 8  # the checkpoint moves this many turns at a time
    long_chars: int = 4000  # a result this long ...
    long_after_turns: int = 12  # ... this many turns before the checkpoint is stubbed anyway


@dataclass(slots=True)
class _Result:
    msg: int
    part: int
    turn: int  # assistant turns before it
    call_key: str
    path: str
    lines: tuple[int, int] | None


class StaleToolOutput:
    name = NAME

    def __init__(self, settings: StaleSettings) -> None:
        self._s = settings

    async def apply(self, req: Request, ctx: RequestContext) -> Request | Response:
        cut, cut_turn = checkpoint(req.messages, self._s)
        if cut <= 0:
            return req
        stale = self._stale(req.messages[:cut], cut_turn)
        if not stale:
            return req
        messages = list(req.messages)
        for (i, j), why in sorted(stale.items()):
            m = messages[i]
            part = m.content[j]
            assert isinstance(part, ToolResultPart)
            text = "\n".join(c.text for c in part.content if isinstance(c, TextPart))
            stub = _stub(text, why)
            if len(stub) >= len(text):
                continue
            content = list(m.content)
            content[j] = msgspec.structs.replace(part, content=[TextPart(stub)])
            messages[i] = msgspec.structs.replace(m, content=content)
            ctx.saved(NAME, text, stub)
        if all(a is b for a, b in zip(messages, req.messages, strict=True)):
            return req
        ctx.decide(NAME, f"checkpoint at message {cut}")
        return msgspec.structs.replace(req, messages=messages)

    def _stale(self, messages: list[Message], cut_turn: int) -> dict[tuple[int, int], str]:
        results = _results(messages)
        out: dict[tuple[int, int], str] = {}
        for k, r in enumerate(results):
            for later in results[k + 1 :]:
                if r.call_key and later.call_key == r.call_key:
                    out[(r.msg, r.part)] = f"the same call ran again in message {later.msg}"
                    break
                if r.path and later.path == r.path and _overlap(r.lines, later.lines):
                    out[(r.msg, r.part)] = f"{r.path} was read again in message {later.msg}"
                    break
            else:
                part = messages[r.msg].content[r.part]
                assert isinstance(part, ToolResultPart)
                size = sum(len(c.text) for c in part.content if isinstance(c, TextPart))
                if size > self._s.long_chars and cut_turn - r.turn > self._s.long_after_turns:
                    out[(r.msg, r.part)] = f"older than {self._s.long_after_turns} turns"
        return out


def checkpoint(messages: list[Message], s: StaleSettings) -> tuple[int, int]:
    """(message index, assistant turns before it): only messages before it may be changed."""
    assistant = [i for i, m in enumerate(messages) if m.role == "assistant"]
    turns = (len(assistant) - s.keep_recent_turns) // max(1, s.every_turns) * max(1, s.every_turns)
    if turns <= 0:
        return 0, 0
    return assistant[turns], turns


def _results(messages: list[Message]) -> list[_Result]:
    calls: dict[str, ToolCallPart] = {}
    out: list[_Result] = []
    turn = 0
    for i, m in enumerate(messages):
        if m.role == "assistant":
            turn += 1
            calls.update((p.id, p) for p in m.content if isinstance(p, ToolCallPart))
            continue
        for j, p in enumerate(m.content):
            if not isinstance(p, ToolResultPart) or "content" in p.extra:
                continue
            if not p.content or not all(isinstance(c, TextPart) for c in p.content):
                continue
            call = calls.get(p.tool_call_id)
            key = f"{call.name}\0{call.arguments.strip()}" if call is not None else ""
            path = path_argument(call.arguments) if call is not None else ""
            lines = None
            text = "\n".join(c.text for c in p.content if isinstance(c, TextPart))
            bodies = find_bodies(text, listings=True, min_lines=5, hint_path=path)
            if bodies:
                b = bodies[0]
                path = b.path or path
                if b.first_line is not None and b.last_line is not None:
                    lines = (b.first_line, b.last_line)
            out.append(_Result(i, j, turn, key, path, lines))
    return out


def _overlap(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool:
    if a is None or b is None:
        return True  # a whole-file read: any later read of the file supersedes it
    return a[0] <= b[1] and b[0] <= a[1]


def _stub(text: str, why: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    lines = text.count("\n") + 1
    return f"[stale tool output: {len(text)} chars, {lines} lines, sha256:{digest}; {why}]"
