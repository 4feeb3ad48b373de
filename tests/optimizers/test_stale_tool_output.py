from __future__ import annotations

from app.canonical import Request, TextPart, ToolResultPart
from app.optimizers.stale_tool_output import StaleSettings, StaleToolOutput, checkpoint
from tests.optimizers.conversation import agent_turns, code, ctx_for, listing, run

SETTINGS = StaleSettings(keep_recent_turns=2, every_turns=2, long_chars=10_000, long_after_turns=50)


def _text(req: Request, i: int) -> str:
    part = req.messages[i].content[0]
    assert isinstance(part, ToolResultPart)
    return "".join(c.text for c in part.content if isinstance(c, TextPart))


async def test_a_rerun_command_and_a_reread_file_shrink_to_a_stub_but_recent_turns_never() -> None:
    test_out = "\n".join(f"test_{i} FAILED" for i in range(60))
    view = listing("src/app.py", 1, code(60))
    obs = [test_out, view, "edited", listing("src/app.py", 1, code(60, "v2")), test_out, "x", "y", "z"]
    calls = [
        ("bash", '{"cmd": "pytest"}'),
        ("open", '{"path": "src/app.py"}'),
        ("edit", "{}"),
        ("open", '{"path": "src/app.py", "line": 1}'),
        ("bash", '{"cmd": "pytest"}'),
        ("bash", '{"cmd": "ls"}'),
        ("bash", '{"cmd": "ls"}'),
        ("bash", '{"cmd": "ls"}'),
    ]
    req = agent_turns(obs, calls)[-1]
    ctx = ctx_for()
    out = await run([StaleToolOutput(SETTINGS)], req, ctx)
    assert _text(out, 2).startswith(f"[stale tool output: {len(test_out)} chars")  # re-run later
    assert "src/app.py was read again in message 8" in _text(out, 4)
    assert _text(out, 8) == _text(req, 8)  # the newest view stays
    # the last keep_recent turns are never touched, even the ls re-runs
    cut, _ = checkpoint(req.messages, SETTINGS)
    assert out.messages[cut:] == req.messages[cut:]
    assert ctx.savings["stale_tool_output"].removed


async def test_short_conversations_are_left_alone() -> None:
    req = agent_turns(["a" * 5000, "a" * 5000])[-1]
    assert await StaleToolOutput(SETTINGS).apply(req, ctx_for()) is req
