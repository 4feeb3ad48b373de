"""The property provider prompt caches need: turn N's optimized request is, byte for byte, the
start of turn N+1's optimized request (cache markers aside: providers match content, not
markers), for every stage and all of them together."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import msgspec
import pytest

from app.canonical import Request
from app.config.schema import OptimizersConfig
from app.observability.tokens import TokenCounter
from app.optimizers import build_token_savers
from app.optimizers.stale_tool_output import StaleSettings, checkpoint
from app.pipeline import Stage
from app.replay.blocks import BlockCutter
from app.replay.load import load_conversations
from tests.optimizers.conversation import agent_turns, code, ctx_for, listing, run

# recorded agent traffic, when the machine has it (FRUGAL_TRACE_DIR, else the shared data folder
# beside the checkout); the conversations built in tests/optimizers/conversation.py always run
_TRACE_DIR = Path(
    os.environ.get("FRUGAL_TRACE_DIR") or Path(__file__).resolve().parents[3] / "shared/data/traces"
)
TRACES = sorted(_TRACE_DIR.glob("*.jsonl"))
_ALL = OptimizersConfig(
    stale_tool_output=True,
    stale_keep_recent_turns=2,
    stale_every_turns=3,
    stale_long_chars=500,
    stale_long_after_turns=2,
)
STAGES = build_token_savers(_ALL)
STALE = StaleSettings(keep_recent_turns=2, every_turns=3, long_chars=500, long_after_turns=2)


def _synthetic() -> list[Request]:
    a = listing("src/app.py", 1, code(60))
    b = listing("src/app.py", 30, code(90)[29:])
    obs = [a, "ran", b, a, "<system-reminder>note " * 10 + "</system-reminder>", a, "x" * 900, b, a, "done"]
    return agent_turns(obs)


def _cases() -> list[tuple[str, list[Request]]]:
    cases = [("synthetic", _synthetic())]
    cases += [(c.name, c.requests) for c in load_conversations(str(p) for p in TRACES)]
    return cases


def _stages_under_test() -> list[tuple[str, list[Stage]]]:
    return [(s.name, [s]) for s in STAGES] + [("all", list(STAGES))]


@pytest.mark.parametrize(
    "stage_name,stages", _stages_under_test(), ids=lambda v: v if isinstance(v, str) else ""
)
async def test_turn_n_is_a_byte_identical_prefix_of_turn_n_plus_1(
    stage_name: str, stages: list[Stage]
) -> None:
    cutter = BlockCutter("anthropic", "claude-sonnet-4-0", TokenCounter())
    checked = 0
    for name, turns in _cases():
        for before, after in itertools.pairwise(turns):
            n = len(before.messages)
            if after.messages[:n] != before.messages or after.system != before.system:
                continue  # the client itself rewrote its history: nothing to keep stable
            if stage_name in ("stale_tool_output", "all") and (
                checkpoint(before.messages, STALE) != checkpoint(after.messages[: len(after.messages)], STALE)
            ):
                continue  # the stale checkpoint moved: the one planned rewrite (see its module)
            opt_before = await run(stages, before, ctx_for())
            opt_after = await run(stages, after, ctx_for())
            assert _plain(opt_after.messages[:n]) == _plain(opt_before.messages), name
            # and on the wire: the previous turn's whole prefix reappears block for block
            last = cutter.cut(opt_before)[-1].prefix
            assert last in {b.prefix for b in cutter.cut(opt_after)}, name
            checked += 1
    assert checked > 5


def _plain(messages: object) -> bytes:
    """The messages as bytes without cache markers."""
    raw = msgspec.to_builtins(messages)

    def strip(node: object) -> object:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "cache_control"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return msgspec.json.encode(strip(raw))
