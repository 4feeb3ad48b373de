"""Size limits and diff-first: what is cut, the marker, what is never touched, prefix stability."""

from __future__ import annotations

import msgspec

from app.auth import Project
from app.canonical import Message, ReasoningPart, Request, TextPart, ToolCallPart, ToolDef, ToolResultPart
from app.optimizers.diff_first import INSTRUCTION, DiffFirst
from app.optimizers.limits import Limits, SizeLimits, cut
from app.pipeline import RequestContext


def _ctx() -> RequestContext:
    return RequestContext("r", "openai-chat", Project("p"))


def test_cut_keeps_head_and_tail_within_the_limit_with_a_marker() -> None:
    text = "HEAD " + "x" * 5000 + " TAIL"
    out, removed, marker = cut(text, 1000)
    assert len(out) <= 1000 and out.startswith("HEAD ") and out.endswith(" TAIL")
    assert "characters cut by the gateway (limit 1,000)" in out and marker in out
    assert len(out) - len(marker) + len(removed) == len(text)
    assert cut("short", 1000) == ("short", "", "")
    assert cut("ünïcödé" * 400, 300)[0].count("cut by the gateway") == 1


def _conversation(big: str) -> list[Message]:
    return [
        Message("system", [TextPart("S" * 50)]),
        Message("user", [TextPart(big)]),
        Message(
            "assistant", [ReasoningPart("r" * 3000, signature="sig"), ToolCallPart("c1", "read", '{"a":1}')]
        ),
        Message("user", [ToolResultPart("c1", [TextPart("line\n" * 2000)])]),
    ]


async def test_each_kind_is_cut_to_its_own_limit_and_nothing_else_is_touched() -> None:
    stage = SizeLimits(Limits(system_max_chars=200, user_msg_max_chars=500, tool_result_max_chars=800))
    req = Request(
        model="m", messages=_conversation("u" * 3000), style="openai-chat", system=[TextPart("s" * 1000)]
    )
    ctx = _ctx()
    out = await stage.apply(req, ctx)
    assert isinstance(out, Request)
    assert len(out.system[0].text) <= 200
    assert out.messages[0] is req.messages[0]  # short system message untouched
    assert len(out.messages[1].content[0].text) <= 500  # type: ignore[union-attr]
    assert out.messages[2] is req.messages[2]  # reasoning and tool calls never cut
    result = out.messages[3].content[0]
    assert isinstance(result, ToolResultPart) and result.tool_call_id == "c1"
    assert len(result.content[0].text) <= 800  # type: ignore[union-attr]
    saving = ctx.savings["limits"]
    assert sum(map(len, saving.removed)) > 3000 + 800 + 8000
    assert req.messages[1].content[0].text == "u" * 3000  # type: ignore[union-attr]  # never mutated


async def test_a_request_within_limits_is_the_same_object_and_max_tokens_defaults() -> None:
    stage = SizeLimits(Limits(user_msg_max_chars=10_000))
    req = Request(model="m", messages=_conversation("small"), style="openai-chat")
    assert await stage.apply(req, _ctx()) is req
    stage = SizeLimits(Limits(default_max_tokens=4096))
    out = await stage.apply(req, _ctx())
    assert isinstance(out, Request) and out.max_tokens == 4096
    asked = msgspec.structs.replace(req, max_tokens=100)
    assert await stage.apply(asked, _ctx()) is asked


async def test_cut_messages_come_out_the_same_on_every_later_turn() -> None:
    stage = SizeLimits(Limits(user_msg_max_chars=300, tool_result_max_chars=300))
    history = _conversation("q" * 2000)
    turn1 = await stage.apply(Request(model="m", messages=history, style="openai-chat"), _ctx())
    later = [*history, Message("assistant", [TextPart("ok")]), Message("user", [TextPart("z" * 900)])]
    turn2 = await stage.apply(Request(model="m", messages=later, style="openai-chat"), _ctx())
    assert isinstance(turn1, Request) and isinstance(turn2, Request)
    enc = msgspec.json.encode
    assert enc(turn2.messages[: len(history)]) == enc(turn1.messages)


async def test_diff_first_appends_one_constant_instruction_unless_tools_do_the_editing() -> None:
    req = Request(model="m", messages=[Message("user", [TextPart("fix it")])], style="openai-chat",
                  system=[TextPart("client")])  # fmt: skip
    out = await DiffFirst().apply(req, _ctx())
    assert isinstance(out, Request) and [p.text for p in out.system] == ["client", INSTRUCTION]
    assert await DiffFirst().apply(out, _ctx()) is out  # already asked: not twice
    agent = msgspec.structs.replace(req, tools=[ToolDef("edit")])
    assert await DiffFirst().apply(agent, _ctx()) is agent
