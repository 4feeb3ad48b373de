"""Forward walks over a history, resumed where the previous turn's walk left off.

Dedup and boilerplate strip walk the messages in order, carrying what they have seen; by the
pipeline's prefix-stability rule, what they do to message k depends on the system prompt and
messages 0..k alone. An agent resends its whole history every turn, so turn N+1 starts with
turn N's messages: walking them again gives the same outputs and the same state. A ``WalkMemo``
keeps, per conversation, a checkpoint a few messages short of the end of the last walk (the
newest messages are the ones a client still edits: Claude Code moves its ``cache_control``
marks there) — the inputs up to it, what the walk made of each, the savings each one reported,
and the walk's state at that point — and the next walk whose messages start with those inputs
resumes from it. Only messages after the checkpoint are walked again.

The outputs do not depend on the memo: a resumed walk returns exactly what a full walk would
(the tests compare both on recorded agent sessions). Matching is by equality of the canonical
messages (identity first, then a C-level field comparison, ~0.1 ms for a 50k-token history), so
nothing but equal content ever shares a checkpoint. Bounded by the number of conversations kept
and by the characters their checkpoints hold.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from app.canonical import FilePart, ImagePart, Message, ReasoningPart, TextPart, ToolResultPart, part_chars
from app.pipeline import RequestContext

S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)
Saved = tuple[str, str]  # (removed, added), in the order the walk reported them

# the last messages of a history are left out of its checkpoint: a client may still change them
# on the next turn (moved cache marks, a reminder appended to the newest user message)
TAIL = 4


class Walker(Protocol[S_co]):
    """One forward walk over a request's messages, with a state that can be set aside."""

    def message(self, m: Message, i: int, saved: list[Saved]) -> Message:
        """Message ``i`` as it goes upstream (the same object when unchanged); each replacement
        made is appended to ``saved``."""
        ...

    def snapshot(self) -> S_co:
        """The state after the messages walked so far, as a value later steps never change."""
        ...


@dataclass(slots=True)
class Checkpoint(Generic[S]):
    head: object  # what the walk depends on besides the messages (the system prompt)
    inputs: list[Message]  # messages 0..n-1 as walked
    outputs: list[Message]  # what the walk made of each
    savings: list[list[Saved]]  # what each one reported
    state: S  # after message n-1
    chars: int
    changed: bool = False  # whether any output differs from its input


@dataclass(slots=True)
class WalkResult:
    messages: list[Message] | None  # None: no message changed
    replaced: int  # replacements made, resumed ones included


class WalkMemo(Generic[S]):
    def __init__(self, max_walks: int = 32, max_chars: int = 4_000_000, tail: int = TAIL) -> None:
        self.max_walks = max_walks
        self.max_chars = max_chars
        self.tail = tail
        self._walks: list[Checkpoint[S]] = []  # oldest first
        self._chars = 0
        # the event loop is the only caller today; the lock keeps the list whole if a stage
        # is ever run from a worker thread
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._walks)

    def find(self, head: object, messages: Sequence[Message]) -> Checkpoint[S] | None:
        """The longest checkpoint whose head and inputs start this history."""
        with self._lock:
            walks = list(self._walks)
        best: Checkpoint[S] | None = None
        for cp in reversed(walks):
            n = len(cp.inputs)
            if n > len(messages) or (best is not None and n <= len(best.inputs)):
                continue
            # cheapest first: the first message tells conversations apart, then the rest
            if cp.inputs[0] == messages[0] and cp.head == head and cp.inputs == list(messages[:n]):
                best = cp
        if best is not None:
            with self._lock:
                if best in self._walks:  # most recently used last
                    self._walks.remove(best)
                    self._walks.append(best)
        return best

    def keep(self, cp: Checkpoint[S], replaces: Checkpoint[S] | None) -> None:
        with self._lock:
            if replaces is not None and replaces in self._walks:
                self._walks.remove(replaces)  # the same conversation, a turn behind
                self._chars -= replaces.chars
            self._walks.append(cp)
            self._chars += cp.chars
            while self._walks and (len(self._walks) > self.max_walks or self._chars > self.max_chars):
                old = self._walks.pop(0)
                self._chars -= old.chars

    def walk(
        self,
        head: object,
        messages: Sequence[Message],
        fresh: Callable[[], Walker[S]],
        resume: Callable[[S], Walker[S]],
        ctx: RequestContext,
        name: str,
    ) -> WalkResult:
        """Walks ``messages`` (resuming from a checkpoint where one matches), reports every
        saving to ``ctx`` under ``name`` in message order, and checkpoints the new walk."""
        # a history no longer than the tail has nothing a checkpoint would save
        cp = self.find(head, messages) if len(messages) > self.tail else None
        start = 0
        replaced = 0
        outputs: list[Message] = []
        savings: list[list[Saved]] = []
        if cp is None:
            walker = fresh()
        else:
            start = len(cp.inputs)
            walker = resume(cp.state)
            outputs.extend(cp.outputs)
            savings.extend(cp.savings)
        stop = max(start, len(messages) - self.tail)
        new_cp: Checkpoint[S] | None = None
        for i in range(start, len(messages)):
            if i == stop and stop > start:
                new_cp = self._checkpoint(head, cp, messages, outputs, savings, walker.snapshot(), start)
            saved: list[Saved] = []
            outputs.append(walker.message(messages[i], i, saved))
            savings.append(saved)
        if new_cp is None and stop > start and stop == len(messages):
            new_cp = self._checkpoint(head, cp, messages, outputs, savings, walker.snapshot(), start)
        if new_cp is not None:
            self.keep(new_cp, cp)
        for saved in savings:
            for removed, added in saved:
                ctx.saved(name, removed, added)
                replaced += 1
        # the resumed outputs are the checkpoint's objects, equal to but not the same as this
        # request's: whether they changed is what the checkpoint says
        changed = (cp is not None and cp.changed) or any(
            o is not m for o, m in zip(outputs[start:], messages[start:], strict=True)
        )
        return WalkResult(outputs if changed else None, replaced)

    def _checkpoint(
        self,
        head: object,
        cp: Checkpoint[S] | None,
        messages: Sequence[Message],
        outputs: list[Message],
        savings: list[list[Saved]],
        state: S,
        start: int,
    ) -> Checkpoint[S]:
        stop = len(outputs)
        # the resumed part keeps the old checkpoint's message objects: one copy per conversation
        inputs = (cp.inputs if cp is not None else []) + list(messages[start:stop])
        added = sum(_chars(m) for m in messages[start:stop])
        changed = (cp is not None and cp.changed) or any(
            o is not m for o, m in zip(outputs[start:stop], messages[start:stop], strict=True)
        )
        chars = (cp.chars if cp is not None else 0) + added
        return Checkpoint(
            head, inputs, outputs[:stop], [list(s) for s in savings[:stop]], state, chars, changed
        )


def _chars(m: Message) -> int:
    """What a kept message holds: what its parts say (``part_chars``) plus the reasoning and
    inline data they carry, which cost memory too."""
    n = 0
    for p in m.content:
        n += part_chars(p)
        if isinstance(p, ReasoningPart):
            n += len(p.text)
        elif isinstance(p, ImagePart | FilePart):
            n += len(p.data or "")
        elif isinstance(p, ToolResultPart):
            n += sum(len(c.data or "") for c in p.content if not isinstance(c, TextPart))
    return n
