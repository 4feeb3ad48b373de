from __future__ import annotations

from app.canonical import Message, Request, TextPart, ToolResultPart
from app.optimizers.boilerplate import DEFAULT_PATTERNS, BoilerplateStrip, compile_patterns
from tests.optimizers.conversation import ctx_for, run

REMINDER = (
    "<system-reminder>\nAs you answer, use the context below. " + "Be careful. " * 30 + "\n</system-reminder>"
)


def _req(*texts: str) -> Request:
    msgs: list[Message] = []
    for i, t in enumerate(texts):
        msgs.append(Message("user", [TextPart(t)]))
        msgs.append(Message("assistant", [TextPart(f"answer {i}")]))
    return Request(model="m", style="anthropic-messages", messages=msgs[:-1])


def _stage() -> BoilerplateStrip:
    return BoilerplateStrip(compile_patterns(DEFAULT_PATTERNS))


async def test_a_verbatim_repeat_goes_and_the_first_copy_and_the_users_words_stay() -> None:
    req = _req(f"{REMINDER}\nfix a", f"fix b\n{REMINDER}")
    ctx = ctx_for()
    out = await run([_stage()], req, ctx)
    assert out.messages[0] == req.messages[0]
    second = out.messages[2].content[0]
    assert isinstance(second, TextPart)
    assert second.text == "fix b\n[repeated system-reminder omitted]"
    assert ctx.savings["boilerplate"].removed == [REMINDER]


async def test_a_changed_block_is_kept_whole() -> None:
    changed = REMINDER.replace("careful", "brave", 1)
    req = _req(REMINDER, changed)
    assert await _stage().apply(req, ctx_for()) is req


async def test_configured_patterns_and_tool_results_as_block_lists() -> None:
    block = "## IDE RULES\n" + "never do x\n" * 40 + "## END"
    stage = BoilerplateStrip(compile_patterns([r"## (IDE RULES)\n.*?## END"]))
    req = Request(
        model="m",
        style="openai-chat",
        messages=[
            Message("user", [TextPart(block)]),
            Message("tool", [ToolResultPart("c", [TextPart("out"), TextPart(f"{block}\ntail")])]),
        ],
    )
    out = await run([stage], req)
    result = out.messages[1].content[0]
    assert isinstance(result, ToolResultPart) and result.tool_call_id == "c"
    assert [c.text for c in result.content if isinstance(c, TextPart)] == [
        "out",
        "[repeated IDE RULES omitted]\ntail",
    ]


async def test_identical_text_outside_the_configured_blocks_is_not_touched() -> None:
    text = "some long repeated paragraph " * 50
    req = _req(text, text)
    assert await _stage().apply(req, ctx_for()) is req


def test_a_pattern_never_matches_where_its_literal_prefix_is_absent() -> None:
    """The prefilter skips a pattern on a text without its leading literal: only sound if every
    match starts with it (alternations, quantifiers, classes, escapes)."""
    import random
    import re

    from app.optimizers.boilerplate import literal_prefix

    atoms = ["a", "b", "<", ">", "ab", "a*", "b?", "a{2}", "[ab]", "(a|b)", "|", "\\|", ".", "(?:b)", "x+"]
    rng = random.Random(2)
    checked = 0
    for _ in range(3000):
        pattern = "".join(rng.choice(atoms) for _ in range(rng.randrange(1, 5)))
        try:
            compiled = re.compile(pattern, re.DOTALL)
        except re.error:
            continue
        prefix = literal_prefix(pattern)
        for _ in range(5):
            text = "".join(rng.choice("ab<>x|") for _ in range(rng.randrange(0, 8)))
            for m in compiled.finditer(text):
                if m.end() > m.start():
                    assert text[m.start() :].startswith(prefix), (pattern, text)
                    checked += 1
    assert checked > 1000
