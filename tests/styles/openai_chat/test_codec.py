"""OpenAI Chat Completions codec: wire <-> canonical, both sides, streams, errors."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings

from app.canonical import (
    FilePart,
    ImagePart,
    Message,
    OpaquePart,
    ReasoningPart,
    Request,
    Response,
    StreamError,
    TextPart,
    ToolCallPart,
    ToolDef,
    ToolResultPart,
    Usage,
)
from app.errors import BadRequest, RateLimited, UpstreamProtocol
from app.streaming import StreamAssembler, events_from_response
from app.styles import artifacts
from app.styles.base import RequestTarget
from app.styles.openai_chat.codec import CODEC
from tests.styles.strategies import requests, responses

T = RequestTarget()


def decode(body: dict[str, Any]) -> Request:
    return CODEC.decode_request(body, T)


def test_decode_full_request() -> None:
    req = decode(
        {
            "model": "gpt-x",
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "system", "content": [{"type": "text", "text": "Use tools."}]},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "look"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"},
                        },
                        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                        {
                            "type": "file",
                            "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"},
                        },
                        {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "reasoning_content": "hmm",
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
                {"role": "system", "content": "late note"},
            ],
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "f", "parameters": {"type": "object"}, "strict": True},
                }
            ],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "parallel_tool_calls": False,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_completion_tokens": 99,
            "temperature": 0.5,
            "stop": "END",
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "n", "schema": {"type": "object"}, "strict": True},
            },
            "reasoning_effort": "high",
            "user": "u1",
            "prompt_cache_key": "pk",
            "logprobs": True,
            "n": 2,
        }
    )
    assert [p.text for p in req.system] == ["Be brief.", "Use tools."]
    user = req.messages[0]
    assert (
        isinstance(user.content[1], ImagePart)
        and user.content[1].data == "AAAA"
        and user.content[1].media_type == "image/png"
    )
    assert user.content[1].detail == "low"
    assert isinstance(user.content[2], ImagePart) and user.content[2].url == "https://x/y.png"
    assert isinstance(user.content[3], FilePart) and user.content[3].media_type == "application/pdf"
    assert isinstance(user.content[4], OpaquePart)
    assistant = req.messages[1]
    assert assistant.content == [
        ReasoningPart(text="hmm", origin="openai-chat"),
        ToolCallPart("c1", "f", '{"a":1}'),
    ]
    assert req.messages[2] == Message("tool", [ToolResultPart("c1", [TextPart("42")], name="f")])
    assert req.messages[3] == Message("system", [TextPart("late note")])
    assert req.tools == [ToolDef("f", parameters={"type": "object"}, strict=True)]
    assert req.tool_choice is not None and (req.tool_choice.mode, req.tool_choice.name) == ("tool", "f")
    assert req.parallel_tool_calls is False and req.stream and req.stream_usage
    assert req.max_tokens == 99 and req.stop == ["END"]
    assert req.response_format is not None and req.response_format.schema == {"type": "object"}
    assert req.reasoning is not None and req.reasoning.effort == "high"
    assert req.user == "u1" and req.prompt_cache_key == "pk"
    assert req.extra == {"logprobs": True, "n": 2}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": []}, "model: required string is missing"),
        ({"model": "m", "messages": [{"role": "user"}]}, "messages[0].content: required"),
        (
            {"model": "m", "messages": [{"role": "user", "content": 5}]},
            "messages[0].content: expected an array",
        ),
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "sometimes"},
            "tool_choice",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5},
            "max_tokens: expected an integer",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "extreme"},
            "reasoning_effort",
        ),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "response_format": {"type": "yaml"},
            },
            "response_format.type",
        ),
    ],
)
def test_bad_requests_name_the_path(body: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
        decode(body)


def test_encode_request_for_chat_provider_from_another_style() -> None:
    req = Request(
        model="ignored",
        style="anthropic-messages",
        system=[TextPart("sys")],
        messages=[
            Message("user", [TextPart("hi"), ImagePart(url="https://x/i.png")]),
            Message(
                "assistant",
                [
                    ReasoningPart("secret", signature="s", origin="anthropic-messages"),
                    ToolCallPart("t1", "apply_patch", "*** Begin", kind="custom"),
                    ToolCallPart("t2", "f", ""),
                ],
            ),
            Message(
                "tool",
                [
                    ToolResultPart("t1", [TextPart("ok")]),
                    ToolResultPart("t2", [TextPart("bad")], is_error=True),
                ],
            ),
        ],
        tools=[
            ToolDef(
                "apply_patch",
                kind="custom",
                format={"type": "grammar", "syntax": "lark", "definition": "start: x"},
            ),
            ToolDef("f"),
        ],
        max_tokens=10,
        extra={"context_management": {"edits": []}},
    )
    wire = CODEC.encode_request(req, "gpt-up")
    assert wire["model"] == "gpt-up" and "context_management" not in wire  # another style's extras stay home
    assert wire["messages"][0] == {"role": "system", "content": "sys"}
    assert wire["messages"][1]["content"][1] == {"type": "image_url", "image_url": {"url": "https://x/i.png"}}
    assistant = wire["messages"][2]
    assert "reasoning_content" not in assistant  # another provider's reasoning is not resent
    assert assistant["tool_calls"][0]["function"] == {
        "name": "apply_patch",
        "arguments": '{"input":"*** Begin"}',
    }
    assert assistant["tool_calls"][1]["function"]["arguments"] == "{}"
    assert wire["messages"][3:] == [
        {"role": "tool", "tool_call_id": "t1", "content": "ok"},
        {"role": "tool", "tool_call_id": "t2", "content": "Error: bad"},
    ]
    custom = wire["tools"][0]["function"]
    assert (
        custom["parameters"]["required"] == ["input"]
        and "start: x" in custom["parameters"]["properties"]["input"]["description"]
    )


def test_images_in_tool_results_follow_in_a_user_message() -> None:
    req = Request(
        model="m",
        style="anthropic-messages",
        messages=[
            Message("assistant", [ToolCallPart("t1", "shot", "{}")]),
            Message(
                "tool",
                [
                    ToolResultPart(
                        "t1", [TextPart("see image"), ImagePart(data="AAAA", media_type="image/png")]
                    )
                ],
            ),
        ],
    )
    msgs = CODEC.encode_request(req, "m")["messages"]
    assert msgs[1]["role"] == "tool" and "attachment" in msgs[1]["content"]
    assert msgs[2]["role"] == "user"
    assert msgs[2]["content"][1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}


def test_same_style_encode_keeps_extras_and_always_asks_stream_usage() -> None:
    req = decode(
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "logprobs": True, "stream": True}
    )
    wire = CODEC.encode_request(req, "up")
    assert wire["logprobs"] is True and wire["stream_options"] == {"include_usage": True}


def test_passthrough_body_only_changes_model_and_usage_option() -> None:
    body = {"model": "alias", "messages": [], "stream": False, "x": 1}
    assert CODEC.passthrough_body(body, "alias") is None
    assert CODEC.passthrough_body(body, "real") == {"model": "real", "messages": [], "stream": False, "x": 1}
    streamed = {"model": "m", "stream": True, "stream_options": {"include_obfuscation": False}}
    assert CODEC.passthrough_body(streamed, "m") == {
        "model": "m",
        "stream": True,
        "stream_options": {"include_obfuscation": False, "include_usage": True},
    }


def test_decode_provider_response() -> None:
    body = {
        "id": "x",
        "model": "gpt",
        "created": 5,
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "calling",
                    "reasoning": "because",
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "prompt_tokens_details": {"cached_tokens": 30},
            "completion_tokens_details": {"reasoning_tokens": 5},
        },
    }
    resp = CODEC.decode_response(json.dumps(body).encode())
    assert resp.content == [
        ReasoningPart("because", origin="openai-chat"),
        TextPart("calling"),
        ToolCallPart("c", "f", '{"x":1}'),
    ]
    assert resp.stop_reason == "tool_use"
    assert resp.usage == Usage(100, 20, 30, 0, 5)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"choices": []}'])
def test_broken_provider_answers_are_protocol_errors(body: bytes) -> None:
    with pytest.raises(UpstreamProtocol):
        CODEC.decode_response(body)


def test_foreign_reasoning_artifacts_ride_on_tool_call_ids_and_come_back() -> None:
    thinking = ReasoningPart("I will call f", signature="SIG", origin="anthropic-messages")
    resp = Response(
        "r", "m", [thinking, TextPart("ok"), ToolCallPart("toolu_1", "f", "{}")], stop_reason="tool_use"
    )
    req = decode({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    wire = json.loads(CODEC.encode_response(resp, req))
    message = wire["choices"][0]["message"]
    assert message["reasoning_content"] == "I will call f"
    call_id = message["tool_calls"][0]["id"]
    assert call_id.startswith("toolu_1~fgw1")
    # the client sends the turn back as it received it (OpenCode also re-serializes arguments)
    back = decode(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "x"},
                {**message, "content": ""},
                {"role": "tool", "tool_call_id": call_id, "content": "done"},
            ],
        }
    )
    assistant = back.messages[1]
    assert assistant.content[0] == thinking  # restored first, text and signature intact
    assert any(p == ToolCallPart("toolu_1", "f", "{}") for p in assistant.content)
    result = back.messages[2].content[0]
    assert isinstance(result, ToolResultPart) and result.tool_call_id == "toolu_1"


def test_stream_encoder_carries_artifacts_on_ids_too() -> None:
    thinking = ReasoningPart("plan", signature="SIG", origin="google-genai")
    resp = Response("r", "m", [thinking, ToolCallPart("c9", "f", "{}")], stop_reason="tool_use")
    req = decode({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True})
    enc = CODEC.stream_encoder(req)
    sse = b"".join(enc.encode(ev) for ev in events_from_response(resp))
    chunks = [json.loads(line[6:]) for line in sse.decode().splitlines() if line.startswith("data: {")]
    ids = [tc["id"] for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls", []) if "id" in tc]
    base, carried = artifacts.split_id(ids[0])
    assert base == "c9" and carried == [ReasoningPart(signature="SIG", origin="google-genai")]


def test_error_envelope() -> None:
    status, body = CODEC.encode_error(RateLimited("slow down", retry_after=3))
    assert status == 429
    assert json.loads(body) == {
        "error": {
            "message": "slow down",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    assert CODEC.decode_error(500, b'{"error": {"message": "boom", "type": "server_error"}}') == (
        "boom",
        "server_error",
    )
    assert CODEC.decode_error(502, b"<html>Bad Gateway</html>")[0] == "<html>Bad Gateway</html>"


def _stream_bytes(chunks: list[dict[str, Any]], done: bool = True) -> bytes:
    out = b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)
    return out + (b"data: [DONE]\r\n\r\n" if done else b"")


def test_stream_decoder_reassembles_split_frames_and_usage() -> None:
    base = {"id": "s", "model": "m", "created": 1, "object": "chat.completion.chunk"}
    raw = _stream_bytes(
        [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
            {**base, "choices": [{"index": 0, "delta": {"reasoning_content": "th"}}]},
            {**base, "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
            {**base, "choices": [{"index": 0, "delta": {"content": "lo"}}]},
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x'}}
                            ]
                        },
                    }
                ],
            },
            {
                **base,
                "choices": [
                    {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '":1}'}}]}}
                ],
            },
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}}
                            ]
                        },
                    }
                ],
            },
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
            {**base, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}},
        ]
    )
    dec = CODEC.stream_decoder()
    asm = StreamAssembler()
    for i in range(0, len(raw), 7):  # frames cut at arbitrary byte boundaries
        for ev in dec.feed(raw[i : i + 7]):
            asm.add(ev)
    for ev in dec.close():
        asm.add(ev)
    assert asm.finished
    resp = asm.response()
    assert resp.content == [
        ReasoningPart("th", origin="openai-chat"),
        TextPart("Hello"),
        ToolCallPart("a", "f", '{"x":1}'),
        ToolCallPart("b", "g", "{}"),
    ]
    assert resp.stop_reason == "tool_use" and resp.usage == Usage(9, 3)


def test_stream_cut_short_is_an_error() -> None:
    dec = CODEC.stream_decoder()
    events = dec.feed(
        _stream_bytes(
            [{"id": "s", "model": "m", "choices": [{"index": 0, "delta": {"content": "par"}}]}], done=False
        )
    )
    events += dec.close()
    assert isinstance(events[-1], StreamError)


def _norm(resp: Response) -> tuple[Any, ...]:
    text = resp.text()
    reasoning = "".join(p.text for p in resp.content if isinstance(p, ReasoningPart))
    calls = [(c.id, c.name, json.loads(c.arguments or "{}")) for c in resp.tool_calls()]
    return (
        text,
        reasoning,
        calls,
        resp.usage.input_tokens,
        resp.usage.output_tokens,
        resp.usage.cache_read_tokens,
    )


def _flat(r: Request) -> list[tuple[Any, ...]]:
    return [
        (
            type(p).__name__,
            getattr(p, "text", None),
            getattr(p, "arguments", None),
            getattr(p, "id", None),
            getattr(p, "tool_call_id", None),
        )
        for m in r.messages
        for p in m.content
    ]


@settings(max_examples=60, deadline=None)
@given(requests())
def test_property_request_round_trip_keeps_meaning(req: Request) -> None:
    again = decode(msgspec.json.decode(msgspec.json.encode(CODEC.encode_request(req, req.model))))
    assert "\n\n".join(p.text for p in again.system) == "\n\n".join(p.text for p in req.system)
    assert [m.role for m in again.messages if m.role != "tool"] == [
        m.role for m in req.messages if m.role != "tool"
    ]
    assert _flat(again) == _flat(req)
    assert [t.name for t in again.tools] == [t.name for t in req.tools]
    assert (again.max_tokens, again.temperature, again.stop, again.stream) == (
        req.max_tokens,
        req.temperature,
        req.stop,
        req.stream,
    )


@settings(max_examples=60, deadline=None)
@given(responses(reasoning_origin="openai-chat"))
def test_property_response_and_stream_agree(resp: Response) -> None:
    req = decode(
        {
            "model": "m",
            "messages": [{"role": "user", "content": "x"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    )
    whole = CODEC.decode_response(CODEC.encode_response(resp, req))
    enc = CODEC.stream_encoder(req)
    dec = CODEC.stream_decoder()
    asm = StreamAssembler()
    for ev in events_from_response(resp):
        for out in dec.feed(enc.encode(ev)):
            asm.add(out)
    for out in dec.close():
        asm.add(out)
    assert asm.finished
    assert _norm(asm.response()) == _norm(whole) == _norm(resp)
    assert asm.response().stop_reason == whole.stop_reason


def test_function_without_parameters_is_sent_without_them() -> None:
    """Chat reads an omitted ``parameters`` as an empty list (Qwen Code's ``get_goal``): a Chat
    client's tool reaches a Chat provider as declared, not with an invented schema."""
    tools = [
        {"type": "function", "function": {"name": "get_goal", "description": "Read the goal"}},
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}},
    ]
    req = decode({"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": tools})
    assert CODEC.encode_request(req, "m")["tools"] == tools
