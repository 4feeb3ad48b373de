from __future__ import annotations

from app.canonical import Message, Request, TextPart, ToolCallPart, ToolResultPart
from app.optimizers.dedup import FileDedup
from tests.optimizers.conversation import agent_turns, code, ctx_for, listing, run


def _result_text(req: Request, i: int) -> str:
    part = req.messages[i].content[0]
    assert isinstance(part, ToolResultPart)
    c = part.content[0]
    assert isinstance(c, TextPart)
    return c.text


async def test_a_repeated_file_view_becomes_a_reference_and_the_first_copy_stays() -> None:
    view = listing("src/app.py", 1, code(40))
    req = agent_turns([view, "ok", view])[-1]
    ctx = ctx_for()
    out = await run([FileDedup()], req, ctx)
    assert _result_text(out, 2) == view  # first copy untouched
    later = _result_text(out, 6)
    assert "src/app.py" in later and "message 2" in later and "sha256:" in later
    assert "return x + 1" not in later
    assert later.endswith("(Open file: src/app.py)")  # the text around the body is kept
    assert ctx.savings["dedup"].removed


async def test_a_file_edited_between_turns_is_never_replaced() -> None:
    before = code(40)
    after = list(before)
    after[20] = "    return x * 1000  # edited"
    req = agent_turns([listing("src/app.py", 1, before), listing("src/app.py", 1, after)])[-1]
    out = await run([FileDedup()], req)
    text = _result_text(out, 4)
    assert "21:    return x * 1000  # edited" in text  # the edited line is sent
    # lines before the edit are unchanged and may be referenced; the edit itself never is
    assert "[lines 1-20 of src/app.py unchanged, as shown in message 2]" in text
    assert "22:" in text or "[lines 22-40" in text


async def test_an_insertion_shifts_numbers_so_nothing_after_it_is_referenced() -> None:
    before = code(30)
    after = [*before[:10], "    inserted = True", *before[10:]]
    req = agent_turns([listing("a.py", 1, before), listing("a.py", 1, after)])[-1]
    out = await run([FileDedup()], req)
    text = _result_text(out, 4)
    for n in range(11, 32):
        assert f"\n{n}:" in text or text.startswith(f"{n}:")


async def test_identical_text_that_is_not_a_file_is_left_alone() -> None:
    output = "\n".join(f"test_{i} PASSED" for i in range(50))
    req = agent_turns([output, output])[-1]
    assert await FileDedup().apply(req, ctx_for()) is req


async def test_the_users_own_words_are_never_changed() -> None:
    prose = "Please keep these rules:\n" + "\n".join(f"{i}. rule number {i}" for i in range(1, 10))
    req = Request(
        model="m",
        style="openai-chat",
        messages=[
            Message("user", [TextPart(prose)]),
            Message("assistant", [TextPart("ok")]),
            Message("user", [TextPart(prose)]),
        ],
    )
    assert await FileDedup().apply(req, ctx_for()) is req


async def test_a_path_named_fence_repeated_by_the_user_is_referenced() -> None:
    block = "```python src/util.py\n" + "\n".join(code(12)) + "\n```"
    req = Request(
        model="m",
        style="openai-chat",
        messages=[
            Message("user", [TextPart(f"Here:\n{block}")]),
            Message("assistant", [TextPart("ok")]),
            Message("user", [TextPart(f"Again:\n{block}\nwhy?")]),
        ],
    )
    out = await run([FileDedup()], req)
    last = out.messages[2].content[0]
    assert isinstance(last, TextPart)
    assert last.text.startswith("Again:\n```python src/util.py\n[unchanged: src/util.py")
    assert last.text.endswith("```\nwhy?")


async def test_tool_results_as_block_lists_and_the_read_tools_path_argument() -> None:
    numbered = "\n".join(f"{n:>6}\t{t}" for n, t in enumerate(code(20), 1))  # cat -n, no header
    arrows = "\n".join(f"{n:>6}→{t}" for n, t in enumerate(code(20), 1))  # Claude Code's Read
    msgs = [Message("user", [TextPart("go")])]
    for i, body in enumerate([numbered, numbered, arrows, arrows]):
        msgs.append(Message("assistant", [ToolCallPart(f"c{i}", "Read", '{"file_path": "/r/x.py"}')]))
        msgs.append(Message("tool", [ToolResultPart(f"c{i}", [TextPart("header"), TextPart(body)])]))
    req = Request(model="m", style="anthropic-messages", messages=msgs)
    out = await run([FileDedup()], req)
    for i, kept in ((2, True), (4, False), (6, True), (8, False)):
        part = out.messages[i].content[0]
        assert isinstance(part, ToolResultPart) and part.tool_call_id == f"c{i // 2 - 1}"
        assert [type(c) for c in part.content] == [TextPart, TextPart]
        text = part.content[1].text  # type: ignore[union-attr]
        assert ("/r/x.py" in text and "unchanged" in text) is not kept


async def test_a_huge_message_is_handled_in_linear_time() -> None:
    view = listing("big.py", 1, code(20000))
    req = agent_turns([view, view])[-1]
    out = await run([FileDedup()], req)
    assert len(_result_text(out, 4)) < 200


async def test_nothing_is_shared_between_requests_or_projects() -> None:
    view = listing("src/app.py", 1, code(40))
    stage = FileDedup()
    first = agent_turns([view])[-1]
    assert await stage.apply(first, ctx_for(project="a")) is first
    assert await stage.apply(first, ctx_for(project="b")) is first


async def test_a_resent_history_gives_the_same_output_from_the_remembered_scan() -> None:
    # turn 2 resends turn 1's texts: where their file bodies are is looked up, not scanned
    # again, and the output is byte for byte what a fresh scan gives
    from app.optimizers import dedup, file_bodies

    views = [listing("src/app.py", 1, code(40), sep=f"{s}") for s in (":", ":")]
    turns = agent_turns([*views, listing("src/b.py", 1, code(30))])
    first = await run([FileDedup()], turns[-1])
    hits = dedup._SCANS.hits
    again = await run([FileDedup()], agent_turns([*views, listing("src/b.py", 1, code(30))])[-1])
    assert dedup._SCANS.hits > hits
    assert again == first
    fresh = file_bodies.find_bodies(views[0], listings=True, min_lines=5)
    remembered = dedup._scan(views[0], True, 5, "")
    assert [b for b, _ in remembered] == fresh
    assert isinstance(remembered, tuple)  # immutable: no caller can change what is remembered
    assert dedup._scan(views[0], True, 5, "") is remembered
