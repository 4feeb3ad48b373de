from __future__ import annotations

from app.canonical import (
    CacheControl,
    Message,
    ReasoningPart,
    Request,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from app.optimizers.prompt_cache import PromptCacheAnnotation, count_breakpoints
from app.styles import codec_for
from tests.optimizers.conversation import agent_turns, ctx_for, run


def _wire_marks(req: Request) -> list[str]:
    body = codec_for("anthropic-messages").encode_request(req, "claude-sonnet-4-0")
    where = [f"tool:{t['name']}" for t in body.get("tools", []) if "cache_control" in t]
    where += ["system" for b in body.get("system", []) if isinstance(b, dict) and "cache_control" in b]
    for i, m in enumerate(body["messages"]):
        if isinstance(m["content"], list):
            where += [f"message:{i}:{b['type']}" for b in m["content"] if "cache_control" in b]
    return where


async def test_anthropic_upstream_gets_tools_system_and_two_rolling_breakpoints() -> None:
    req = agent_turns(["a", "b", "c"])[-1]
    out = await run([PromptCacheAnnotation()], req)
    assert count_breakpoints(out) == 4
    marks = _wire_marks(out)
    assert "tool:bash" in marks and "system" in marks
    n = len(codec_for("anthropic-messages").encode_request(out, "m")["messages"])
    assert f"message:{n - 1}:tool_result" in marks  # newest message
    assert f"message:{n - 3}:tool_result" in marks  # where the previous request ended


async def test_client_breakpoints_are_kept_counted_and_never_exceeded() -> None:
    mark = CacheControl()
    base = agent_turns(["a", "b"])[-1]
    # Claude Code style: three of its own (two system blocks and the newest message)
    last = base.messages[-1]
    result = last.content[0]
    assert isinstance(result, ToolResultPart)
    req = Request(
        model="m",
        style="anthropic-messages",
        system=[TextPart("x" * 3000, cache_control=mark), TextPart("y" * 3000, cache_control=mark)],
        messages=[
            *base.messages[:-1],
            Message("tool", [ToolResultPart(result.tool_call_id, result.content, cache_control=mark)]),
        ],
        tools=base.tools,
    )
    out = await run([PromptCacheAnnotation()], req)
    assert count_breakpoints(out) == 4
    assert out.system == req.system and out.messages[-1] == req.messages[-1]  # untouched
    full = Request(model="m", style="anthropic-messages", messages=out.messages, system=out.system)
    assert await PromptCacheAnnotation().apply(out, ctx_for()) is out  # already 4
    assert count_breakpoints(full) <= 4


async def test_reasoning_is_never_marked_and_stays_intact() -> None:
    thinking = ReasoningPart("hmm", signature="sig", origin="anthropic-messages")
    req = Request(
        model="m",
        style="anthropic-messages",
        messages=[Message("user", [TextPart("hi " * 2000)]), Message("assistant", [thinking])],
    )
    out = await run([PromptCacheAnnotation()], req)
    assert out.messages[1].content == [thinking]
    assert isinstance(out.messages[0].content[0], TextPart) and out.messages[0].content[0].cache_control


async def test_openai_upstream_gets_a_stable_prompt_cache_key_per_project_and_prefix() -> None:
    turns = agent_turns(["a", "b", "c"])
    stage = PromptCacheAnnotation()
    keys = {(await run([stage], t, ctx_for("openai-chat"))).prompt_cache_key for t in turns}
    assert len(keys) == 1 and next(iter(keys))
    other = await run([stage], turns[0], ctx_for("openai-chat", project="other"))
    assert other.prompt_cache_key not in keys
    out = await run([stage], turns[0], ctx_for("openai-chat"))
    assert count_breakpoints(out) == 0  # no markers for OpenAI


async def test_the_clients_own_prompt_cache_key_wins_and_gemini_gets_nothing() -> None:
    import msgspec

    req = msgspec.structs.replace(agent_turns(["a"])[0], prompt_cache_key="mine")
    assert await PromptCacheAnnotation().apply(req, ctx_for("openai-responses")) is req
    plain = agent_turns(["a"])[0]
    assert await PromptCacheAnnotation().apply(plain, ctx_for("google-genai")) is plain


async def test_a_conversation_that_starts_with_a_tool_call_still_gets_valid_markers() -> None:
    req = Request(
        model="m",
        style="openai-chat",
        messages=[
            Message("assistant", [ToolCallPart("c", "bash", "{}")]),
            Message("tool", [ToolResultPart("c", [TextPart("")])]),
        ],
    )
    out = await run([PromptCacheAnnotation()], req)
    body = codec_for("anthropic-messages").encode_request(out, "m")  # must encode without error
    assert body["messages"][-1]["content"][0]["type"] == "tool_result"


async def test_a_prompt_too_short_to_cache_is_left_as_sent() -> None:
    req = Request(model="m", style="openai-chat", messages=[Message("user", [TextPart("hi")])])
    for style in ("anthropic-messages", "openai-chat"):
        assert await PromptCacheAnnotation().apply(req, ctx_for(style)) is req  # type: ignore[arg-type]


async def test_the_decision_counts_exactly_the_breakpoints_added() -> None:
    # counted while annotating, in one walk: the same figure as counting before and after
    fresh = agent_turns(["a", "b", "c"])[-1]
    mark = CacheControl()
    client_marked = Request(
        model="m",
        style="anthropic-messages",
        system=[TextPart("x" * 5000, cache_control=mark)],
        messages=fresh.messages,
        tools=fresh.tools,
    )
    for req in (fresh, client_marked):
        ctx = ctx_for()
        out = await PromptCacheAnnotation().apply(req, ctx)
        assert isinstance(out, Request)
        added = count_breakpoints(out) - count_breakpoints(req)
        assert added > 0
        assert ctx.decisions["prompt_cache"] == f"{added} breakpoints added"
