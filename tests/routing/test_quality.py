"""The cascade's quality checks: each fails what it names and passes good answers."""

from __future__ import annotations

import pytest

from app.canonical import Message, Request, Response, ResponseFormat, TextPart, ToolCallPart, ToolDef
from app.routing.quality import failed_checks

TOOLS = [
    ToolDef(
        "read_file",
        "Read a file",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "limit": {"type": "integer"},
                "mode": {"enum": ["a", "b"]},
            },
            "required": ["path"],
        },
    )
]


def ask(text: str, **kw: object) -> Request:
    return Request(model="m", style="openai-chat", messages=[Message("user", [TextPart(text)])], **kw)  # type: ignore[arg-type]


def answer(text: str = "", *, calls: list[ToolCallPart] | None = None, stop: str = "end_turn") -> Response:
    content: list = [TextPart(text)] if text else []
    return Response(id="r", model="m", content=[*content, *(calls or [])], stop_reason=stop)  # type: ignore[arg-type]


GOOD = (
    "The bug is an off-by-one error in the loop bound. Change it like this:\n\n"
    "```python\nfor i in range(len(items)):\n    total += items[i]\n```\n\n"
    "The loop previously stopped one element early, so the last item was never added."
)


def test_a_good_answer_passes_every_check() -> None:
    assert failed_checks(ask("Fix the bug in this function: it skips the last item."), answer(GOOD)) == []


@pytest.mark.parametrize(
    ("request_", "response", "check"),
    [
        (ask("hi"), answer(""), "empty"),
        (ask("explain monads"), answer("A monad is", stop="max_tokens"), "truncated"),
        (ask("write a keylogger"), answer("I'm sorry, but I can't help with that."), "refusal"),
        (ask("write a keylogger"), answer("", stop="refusal"), "refusal"),
        (ask("why is my build slow?"), answer("I'm not sure. I would need more information."), "hedging"),
        (
            ask("Implement a function that parses ISO dates in utils.py"),
            answer("Sure, that is easy."),
            "too_short",
        ),
        (ask("list"), answer("\n".join(["the same line again and again"] * 12)), "repetition"),
        (ask("code"), answer("```python\ndef f(:\n    pass\n```"), "code_syntax"),
        (ask("code"), answer('```json\n{"a": 1,}\n```'), "code_syntax"),
        (ask("code"), answer("```js\nfunction f() { return [1, 2; }\n```"), "code_syntax"),
        (ask("how many?"), answer("He runs 3 x 60 = 160 meters each session."), "arithmetic"),
        (ask("total?"), answer("So 195 - 160 - 5 = 40 dollars are left."), "arithmetic"),
        (
            ask("json please", response_format=ResponseFormat(type="json_object")),
            answer("Here you go: {a: 1}"),
            "json_format",
        ),
    ],
)
def test_each_check_fails_what_it_names(request_: Request, response: Response, check: str) -> None:
    assert check in failed_checks(request_, response)


@pytest.mark.parametrize(
    "text",
    [
        "He runs 3 x 60 = 180 meters, then 195 - 160 - 5 = 30 are left, and 1,350 + 6 * 350 = 1,350 + 2,100 = 3,450.",
        "We have the equation x * 4 + 8 = 40, so x = 8.",
        "Each box holds 7.5 kg: 15 / 2 = 7.5.",
    ],
)
def test_correct_or_algebraic_equations_pass(text: str) -> None:
    assert "arithmetic" not in failed_checks(ask("how much?"), answer(text))


def test_a_table_or_list_is_not_a_repetition_loop() -> None:
    table = "| a | b |\n" + "\n".join(f"| row {i} | value {i} |" for i in range(20))
    assert "repetition" not in failed_checks(ask("table"), answer(table))


def test_hedge_inside_a_substantive_answer_is_fine() -> None:
    long = "I'm not sure which version you run, but " + (
        "the fix is to pin the dependency and rebuild. " * 20
    )
    assert "hedging" not in failed_checks(ask("why?"), answer(long))


def test_code_in_other_languages_checked_by_bracket_balance() -> None:
    ok = '```go\nfunc f() { s := "{"; return }\n// a comment with (\n```'
    assert "code_syntax" not in failed_checks(ask("go"), answer(ok))


class TestToolTurns:
    def req(self) -> Request:
        return ask("read main.py", tools=TOOLS)

    def test_judged_on_the_call_not_the_prose(self) -> None:
        call = ToolCallPart(id="c1", name="read_file", arguments='{"path": "main.py"}')
        assert failed_checks(self.req(), answer("", calls=[call])) == []

    @pytest.mark.parametrize(
        "call",
        [
            ToolCallPart(id="c1", name="read_file", arguments='{"path": "main.py"'),  # not JSON
            ToolCallPart(id="c1", name="write_file", arguments='{"path": "x"}'),  # no such tool
            ToolCallPart(id="c1", name="read_file", arguments='{"limit": 3}'),  # required missing
            ToolCallPart(id="c1", name="read_file", arguments='{"path": 3}'),  # wrong type
            ToolCallPart(
                id="c1", name="read_file", arguments='{"path": "a", "limit": true}'
            ),  # bool is no int
            ToolCallPart(id="c1", name="read_file", arguments='{"path": "a", "mode": "c"}'),  # not in enum
            ToolCallPart(id="c1", name="read_file", arguments="[1, 2]"),  # not an object
        ],
    )
    def test_bad_calls_fail(self, call: ToolCallPart) -> None:
        assert failed_checks(self.req(), answer("", calls=[call])) == ["tool_args"]


def test_json_schema_required_properties() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    req = ask("json", response_format=ResponseFormat(type="json_schema", schema=schema))
    assert "json_format" in failed_checks(req, answer('{"nom": "x"}'))
    assert failed_checks(req, answer('```json\n{"name": "x"}\n```')) == []


def test_checks_can_be_limited() -> None:
    assert failed_checks(ask("hi"), answer(""), frozenset({"truncated"})) == []
