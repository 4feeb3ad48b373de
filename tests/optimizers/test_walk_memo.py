"""A walk resumed from a checkpoint gives exactly what a full walk gives: the same messages, the
same savings in the same order, the same decisions — on recorded agent sessions and on the
histories the memo must not be fooled by (edited, shortened, interleaved, a newest message that
changes every request)."""

from __future__ import annotations

import random
from collections.abc import Callable

import msgspec
import pytest

from app.canonical import Message, Request, TextPart, ToolResultPart
from app.optimizers.boilerplate import DEFAULT_PATTERNS, BoilerplateStrip, compile_patterns
from app.optimizers.dedup import FileDedup
from app.optimizers.prompt_cache import PromptCacheAnnotation
from app.optimizers.walk_memo import Checkpoint, WalkMemo
from app.pipeline import RequestContext, Stage
from app.replay.load import load_conversations
from tests.optimizers.conversation import agent_turns, code, ctx_for, listing
from tests.optimizers.test_prefix_stability import TRACES

STAGES: dict[str, Callable[[], Stage]] = {
    "dedup": FileDedup,
    "boilerplate": lambda: BoilerplateStrip(compile_patterns(DEFAULT_PATTERNS)),
}


def _synthetic() -> list[Request]:
    a = listing("src/app.py", 1, code(60))
    b = listing("src/app.py", 30, code(90)[29:])
    c = listing("src/app.py", 1, code(60, salt="edited"))
    note = "<system-reminder>keep going " * 8 + "</system-reminder>"
    obs = [a, "ran", b, a, note, a, note + " x", c, b, a, note, "done", a]
    return agent_turns(obs)


def _conversations() -> list[tuple[str, list[Request]]]:
    out = [("synthetic", _synthetic())]
    out += [(c.name, c.requests) for c in load_conversations(str(p) for p in TRACES)]
    return out


async def _apply(stage: Stage, req: Request) -> tuple[bytes, object, dict[str, str]]:
    ctx = ctx_for()
    out = await stage.apply(req, ctx)
    assert isinstance(out, Request)
    savings = {k: (v.removed, v.added) for k, v in ctx.savings.items()}
    return msgspec.json.encode(out), savings, dict(ctx.decisions)


async def _same_as_fresh(stage: Stage, make: object, req: Request, why: str) -> None:
    assert callable(make)
    got = await _apply(stage, req)
    want = await _apply(make(), req)  # a new stage: an empty memo, the full walk
    assert got == want, why


def _with_nonce(req: Request, i: int) -> Request:
    """The newest message changes on every request (a reminder with a counter, as the bench
    sends): the checkpoint must stop short of it."""
    last = req.messages[-1]
    tail = Message(last.role, [*last.content, TextPart(f"<system-reminder>request {i}</system-reminder>")])
    return msgspec.structs.replace(req, messages=[*req.messages[:-1], tail])


@pytest.mark.parametrize("name", sorted(STAGES))
async def test_resumed_walks_equal_full_walks_turn_after_turn(name: str) -> None:
    make = STAGES[name]
    checked = 0
    for conv, turns in _conversations():
        stage = make()  # one stage for the whole conversation: every turn resumes the last
        for i, req in enumerate(turns):
            await _same_as_fresh(stage, make, req, f"{conv} turn {i}")
            await _same_as_fresh(stage, make, _with_nonce(req, i), f"{conv} turn {i} + nonce")
            checked += 1
    assert checked > 10


@pytest.mark.parametrize("name", sorted(STAGES))
async def test_interleaved_edited_and_shortened_histories(name: str) -> None:
    make = STAGES[name]
    stage = make()
    turns = _synthetic()
    rng = random.Random(7)
    requests: list[Request] = []
    for req in turns:
        requests.append(req)
        msgs = list(req.messages)
        if len(msgs) > 6:
            # an edit in the middle: the same history up to k, then different content
            k = rng.randrange(1, len(msgs) - 2)
            m = msgs[k]
            msgs[k] = Message(m.role, [*m.content, TextPart(listing("src/other.py", 1, code(30)))])
            requests.append(msgspec.structs.replace(req, messages=msgs))
            requests.append(msgspec.structs.replace(req, messages=list(req.messages[: len(msgs) // 2])))
    other = [msgspec.structs.replace(r, system=[TextPart("another agent")]) for r in turns]
    mixed = requests + other
    rng.shuffle(mixed)
    for i, req in enumerate(requests + mixed + requests[::-1]):
        await _same_as_fresh(stage, make, req, f"request {i}")


async def test_a_resumed_walk_does_not_change_the_checkpoint_it_started_from() -> None:
    """Two histories resume from one checkpoint and then view the same file differently: the
    second must not see the first one's views."""
    base = _synthetic()[5]
    stage = FileDedup()
    await _apply(stage, base)
    tail = [Message("user", [TextPart("x")])] * 4  # pushes the checkpoint to the end of ``base``
    first = msgspec.structs.replace(base, messages=[*base.messages, *tail])
    await _apply(stage, first)
    a = listing("src/app.py", 1, code(60, salt="A"))
    b = listing("src/app.py", 1, code(60, salt="B"))
    for text in (a, b, a):
        msgs = [*first.messages, Message("tool", [ToolResultPart("call_0", [TextPart(text)])]), *tail]
        req = msgspec.structs.replace(first, messages=msgs)
        await _same_as_fresh(stage, FileDedup, req, text[:40])


async def test_after_the_prompt_cache_marks_move() -> None:
    """The prompt-cache stage marks the newest messages before dedup sees them; the marks move
    every turn and resumed walks still match the full ones."""
    marks = PromptCacheAnnotation()
    dedup = FileDedup()
    for i, req in enumerate(_synthetic()):
        ctx = ctx_for()
        marked = await marks.apply(req, ctx)
        assert isinstance(marked, Request)
        await _same_as_fresh(dedup, FileDedup, marked, f"turn {i}")
    assert len(dedup._memo) == 1  # one conversation, one checkpoint


def test_bounded_by_conversations_and_characters() -> None:
    memo: WalkMemo[int] = WalkMemo(max_walks=3, max_chars=1000)
    msgs = [Message("user", [TextPart(str(i) * 100)]) for i in range(5)]
    for i in range(5):
        memo.keep(Checkpoint(i, [msgs[i]], [msgs[i]], [[]], 0, 100), None)
    assert len(memo) == 3
    assert memo.find(0, msgs) is None and memo.find(4, msgs[4:]) is not None
    memo.keep(Checkpoint("big", msgs, msgs, [[]] * 5, 0, 950), None)
    assert len(memo) == 1  # the characters bound evicts the oldest first


async def test_a_saving_is_reported_on_every_request_not_once() -> None:
    """The history resent on turn N+1 is sent again, so what the walk saved on it is saved
    again: the resumed savings are reported, not only the new ones."""
    stage = FileDedup()
    turns = _synthetic()
    counts = []
    for req in turns:
        ctx: RequestContext = ctx_for()
        await stage.apply(req, ctx)
        counts.append(len(ctx.savings["dedup"].removed) if "dedup" in ctx.savings else 0)
    assert counts == sorted(counts) and counts[-1] > 2
