"""The built-in mock provider: deterministic, streams, calls tools when asked."""

from __future__ import annotations

import json

from app.canonical import (
    Message,
    Request,
    ResponseFormat,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolDef,
    ToolResultPart,
)
from app.providers.base import UpstreamCall
from app.providers.mock import MockProvider, answer
from app.streaming import StreamAssembler

WRITE = ToolDef(
    "write_file",
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "content": {"type": "string"},
            "mode": {"enum": ["w", "a"]},
        },
        "required": ["path", "content", "mode"],
    },
)


def req(text: str, **kw: object) -> Request:
    return Request(model="m", messages=[Message("user", [TextPart(text)])], style="openai-chat", **kw)  # type: ignore[arg-type]


def test_same_request_same_answer() -> None:
    a, b = answer(req("hello"), "m"), answer(req("hello"), "m")
    assert a.id == b.id and a.content == b.content
    assert a.text().startswith("Mock response from frugal-gateway (model m)") and '"hello"' in a.text()
    assert answer(req("other"), "m").id != a.id
    assert a.usage.input_tokens > 0 and a.usage.output_tokens > 0


def test_tool_call_when_asked_with_schema_shaped_arguments() -> None:
    resp = answer(req("please use the tool to save it", tools=[WRITE]), "m")
    assert resp.stop_reason == "tool_use"
    (call,) = resp.tool_calls()
    assert call.name == "write_file"
    assert json.loads(call.arguments) == {"path": "mock_output.txt", "content": "mock content", "mode": "w"}


def test_no_tool_call_unless_asked_or_required() -> None:
    assert not answer(req("hello there", tools=[WRITE]), "m").tool_calls()
    forced = answer(req("hello there", tools=[WRITE], tool_choice=ToolChoice("required")), "m")
    assert forced.tool_calls()
    none = answer(req("use the tool", tools=[WRITE], tool_choice=ToolChoice("none")), "m")
    assert not none.tool_calls()


def test_tool_results_are_quoted() -> None:
    r = Request(
        model="m",
        style="openai-chat",
        messages=[
            Message("user", [TextPart("use the tool")]),
            Message("assistant", [ToolCallPart("c1", "write_file", "{}")]),
            Message("tool", [ToolResultPart("c1", [TextPart("saved 12 bytes")], name="write_file")]),
        ],
        tools=[WRITE],
    )
    assert "write_file returned 'saved 12 bytes'" in answer(r, "m").text()


def test_json_formats_stop_sequences_and_max_tokens() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert json.loads(
        answer(req("x", response_format=ResponseFormat("json_schema", schema=schema)), "m").text()
    ) == {"n": 1}
    assert "answer" in json.loads(answer(req("x", response_format=ResponseFormat("json_object")), "m").text())
    stopped = answer(req("x", stop=["frugal"]), "m")
    assert stopped.stop_reason == "stop_sequence" and "frugal" not in stopped.text()
    cut = answer(req("x", max_tokens=2), "m")
    assert cut.stop_reason == "max_tokens" and len(cut.text()) <= 8


async def test_stream_matches_whole_answer() -> None:
    provider = MockProvider()
    r = req("use the tool please", tools=[WRITE])
    whole = (await provider.complete(UpstreamCall(r, "m"))).response
    asm = StreamAssembler()
    deltas = 0
    async for chunk in await provider.open_stream(UpstreamCall(r, "m")):
        for ev in chunk.events:
            asm.add(ev)
            deltas += 1
    assert asm.finished and asm.response().content == whole.content
    assert deltas > 4  # arguments really stream in slices
