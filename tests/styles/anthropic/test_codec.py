"""Anthropic Messages codec: wire <-> canonical, both sides, streams, errors.

Wire truth is the installed ``anthropic`` SDK: encoded answers and stream events are validated
with its pydantic models, streams are folded with its own ``accumulate_event``, and provider
request bodies are validated against its ``MessageCreateParams`` TypedDicts.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import msgspec
import pydantic
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message as SDKMessage
from anthropic.types import ModelInfo as SDKModelInfo
from anthropic.types import RawMessageStreamEvent
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from hypothesis import given, settings
from hypothesis import strategies as st

from app.canonical import (
    CacheControl,
    FilePart,
    Finish,
    ImagePart,
    Message,
    OpaquePart,
    OpaqueTool,
    PartStart,
    PartStop,
    ReasoningConfig,
    ReasoningDelta,
    ReasoningPart,
    Request,
    Response,
    ResponseFormat,
    SignatureDelta,
    StreamError,
    StreamEvent,
    StreamStart,
    TextDelta,
    TextPart,
    ToolArgsDelta,
    ToolCallPart,
    ToolChoice,
    ToolDef,
    ToolResultPart,
    Usage,
)
from app.errors import (
    BadRequest,
    CircuitOpen,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    UpstreamProtocol,
    UpstreamStatus,
    UpstreamTimeout,
)
from app.streaming import StreamAssembler, events_from_response
from app.styles import artifacts, codec_for, conversions
from app.styles.anthropic.codec import CODEC, count_tokens_body, encode_token_count
from app.styles.anthropic.encode import JSON_OBJECT_INSTRUCTION, START_TEXT
from app.styles.base import ModelInfo, RequestTarget
from tests.styles.strategies import requests, responses

T = RequestTarget()
STYLE = "anthropic-messages"
SIG = "EqQBCkYIBxgCKkBsig=="
_event_adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RawMessageStreamEvent)
_params_adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(MessageCreateParamsNonStreaming)


def decode(body: dict[str, Any]) -> Request:
    return CODEC.decode_request(body, T)


def body(messages: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return {"model": "claude-x", "max_tokens": 1024, "messages": messages, **kw}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def materialize(value: Any) -> Any:
    """Pydantic validates ``Iterable`` fields lazily: walk everything so errors surface."""
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or type(value).__name__ == "ValidatorIterator":
        return [materialize(v) for v in value]
    return value


def sdk_valid_request(wire: dict[str, Any]) -> None:
    materialize(_params_adapter.validate_python({k: v for k, v in wire.items() if k != "stream"}))


def sse_events(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data object) of every frame; also checks the exact framing."""
    out = []
    for raw in data.decode().split("\n\n"):
        if not raw:
            continue
        lines = raw.split("\n")
        assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "), raw
        name, obj = lines[0][7:], json.loads(lines[1][6:])
        assert obj["type"] == name
        out.append((name, obj))
    return out


def sdk_accumulate(data: bytes) -> SDKMessage:
    snapshot = None
    bufs: dict[int, bytes] = {}
    for name, obj in sse_events(data):
        if name == "error":
            raise AssertionError(obj)
        event = _event_adapter.validate_python(obj)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=bufs)
    assert snapshot is not None
    return snapshot


def encode_stream(resp: Response, req: Request) -> bytes:
    enc = CODEC.stream_encoder(req)
    return b"".join(enc.encode(ev) for ev in events_from_response(resp))


def assemble(events: list[StreamEvent]) -> StreamAssembler:
    asm = StreamAssembler()
    for ev in events:
        asm.add(ev)
    return asm


def anthropic_req(**kw: Any) -> Request:
    base: dict[str, Any] = {
        "model": "claude-x",
        "messages": [Message("user", [TextPart("hi")])],
        "style": STYLE,
    }
    base.update(kw)
    return Request(**base)


def chat_req(**kw: Any) -> Request:
    return anthropic_req(style="openai-chat", **kw)


# ====================================================================== client requests


def claude_code_body() -> dict[str, Any]:
    """A trimmed Claude Code (2.1, Opus) turn-2 body with every field it sends."""
    schema = {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}
    tools = [{"name": f"Tool{i}", "description": f"tool {i}", "input_schema": schema} for i in range(10)]
    tools.append(
        {
            "name": "DeferredToolPlaceholder",
            "description": "placeholder",
            "input_schema": {"type": "object", "properties": {}},
            "defer_loading": True,
        }
    )
    tools.append(
        {
            "name": "Write",
            "description": "write",
            "input_schema": schema,
            "cache_control": {"type": "ephemeral"},
        }
    )
    return {
        "model": "claude-opus-5-5",
        "messages": [
            user(
                [
                    {"type": "text", "text": "<system-reminder>\nenv\n</system-reminder>"},
                    {"type": "text", "text": "Create hello.txt"},
                ]
            ),
            {
                "role": "system",
                "content": "# Environment\ncwd: /tmp/w",
                "output_config": {"effort": "medium"},
            },
            assistant(
                [
                    {"type": "thinking", "thinking": "I should write.", "signature": SIG},
                    {"type": "tool_use", "id": "toolu_01A", "name": "Write", "input": {"command": "x"}},
                ]
            ),
            user(
                [
                    {
                        "tool_use_id": "toolu_01A",
                        "type": "tool_result",
                        "content": "File created",
                        "cache_control": {"type": "ephemeral"},
                    },
                    {"type": "text", "text": "<system-reminder>todo</system-reminder>"},
                ]
            ),
        ],
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1"},
            {"type": "text", "text": "You are a Claude agent.", "cache_control": {"type": "ephemeral"}},
            {
                "type": "text",
                "text": "Long instructions",
                "cache_control": {"type": "ephemeral", "ttl": "1h"},
            },
        ],
        "tools": tools,
        "metadata": {"user_id": '{"device_id":"abc","session_id":"s1"}'},
        "max_tokens": 128000,
        "thinking": {"type": "adaptive", "display": "omitted"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "medium"},
        "stream": True,
    }


def test_decode_claude_code_request() -> None:
    req = decode(claude_code_body())
    assert req.style == STYLE and req.model == "claude-opus-5-5" and req.stream and req.max_tokens == 128000
    assert [p.text for p in req.system][1:] == ["You are a Claude agent.", "Long instructions"]
    assert req.system[0].cache_control is None
    assert req.system[1].cache_control == CacheControl()
    assert req.system[2].cache_control == CacheControl(ttl="1h")
    assert len(req.tools) == 12 and not req.opaque_tools
    assert req.tools[10].extra == {"defer_loading": True}
    assert req.tools[11].cache_control == CacheControl() and req.tools[11].parameters is not None
    assert req.reasoning == ReasoningConfig(mode="adaptive", effort="medium", include_thoughts=False)
    assert req.extra == {
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    }
    assert req.user == '{"device_id":"abc","session_id":"s1"}'
    assert [m.role for m in req.messages] == ["user", "system", "assistant", "tool", "user"]
    system_msg = req.messages[1]
    assert system_msg.content == [TextPart("# Environment\ncwd: /tmp/w")]
    assert system_msg.extra == {"output_config": {"effort": "medium"}}
    thinking, call = req.messages[2].content
    assert thinking == ReasoningPart(text="I should write.", signature=SIG, origin=STYLE)
    assert call == ToolCallPart("toolu_01A", "Write", '{"command":"x"}')
    (result,) = req.messages[3].content
    assert result == ToolResultPart(
        "toolu_01A", [TextPart("File created")], name="Write", cache_control=CacheControl()
    )
    assert req.messages[4].content == [TextPart("<system-reminder>todo</system-reminder>")]


def test_claude_code_request_survives_decode_and_encode_for_anthropic() -> None:
    """Same style, same model, a stage changed nothing: the body Anthropic gets means the same."""
    original = claude_code_body()
    wire = CODEC.encode_request(decode(original), "claude-opus-5-5")
    sdk_valid_request(wire)
    system_msg = original["messages"][1]
    original["messages"][1] = {**system_msg, "content": [{"type": "text", "text": system_msg["content"]}]}
    assert wire == original


@pytest.mark.parametrize(
    ("block", "part"),
    [
        ({"type": "text", "text": "a"}, TextPart("a")),
        (
            {"type": "text", "text": "a", "cache_control": {"type": "ephemeral", "ttl": "5m"}},
            TextPart("a", cache_control=CacheControl(ttl="5m")),
        ),
        (
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
            ImagePart(data="iVBO", media_type="image/png"),
        ),
        (
            {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
            ImagePart(url="https://x/y.png"),
        ),
        ({"type": "image", "source": {"type": "file", "file_id": "file_1"}}, ImagePart(file_id="file_1")),
        (
            {
                "type": "document",
                "title": "spec.pdf",
                "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
            },
            FilePart(data="JVBE", media_type="application/pdf", filename="spec.pdf"),
        ),
        (
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "héllo"}},
            FilePart(data=base64.b64encode("héllo".encode()).decode(), media_type="text/plain"),
        ),
        (
            {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}},
            FilePart(url="https://x/a.pdf"),
        ),
        ({"type": "document", "source": {"type": "file", "file_id": "file_2"}}, FilePart(file_id="file_2")),
        (
            {"type": "document", "source": {"type": "content", "content": "inline"}},
            OpaquePart(STYLE, {"type": "document", "source": {"type": "content", "content": "inline"}}),
        ),
        (
            {
                "type": "search_result",
                "source": "s",
                "title": "t",
                "content": [{"type": "text", "text": "x"}],
            },
            OpaquePart(
                STYLE,
                {
                    "type": "search_result",
                    "source": "s",
                    "title": "t",
                    "content": [{"type": "text", "text": "x"}],
                },
            ),
        ),
        (
            {"type": "container_upload", "file_id": "f"},
            OpaquePart(STYLE, {"type": "container_upload", "file_id": "f"}),
        ),
    ],
)
def test_user_blocks_decode(block: dict[str, Any], part: Any) -> None:
    (msg,) = decode(body([user([block])])).messages
    assert msg.role == "user" and msg.content == [part]


@pytest.mark.parametrize(
    ("block", "part"),
    [
        ({"type": "text", "text": "ok"}, TextPart("ok")),
        (
            {"type": "thinking", "thinking": "hmm", "signature": SIG},
            ReasoningPart(text="hmm", signature=SIG, origin=STYLE),
        ),
        (
            {"type": "redacted_thinking", "data": "ENCRYPTED"},
            ReasoningPart(signature="ENCRYPTED", origin=STYLE, redacted=True),
        ),
        (
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, 2]}},
            ToolCallPart("toolu_1", "f", '{"a":[1,2]}'),
        ),
        (
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
            OpaquePart(
                STYLE,
                {
                    "type": "server_tool_use",
                    "id": "srvtoolu_1",
                    "name": "web_search",
                    "input": {"query": "q"},
                },
            ),
        ),
        (
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
            OpaquePart(STYLE, {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}),
        ),
        (
            {"type": "mcp_tool_use", "id": "m1", "name": "n", "server_name": "s", "input": {}},
            OpaquePart(
                STYLE, {"type": "mcp_tool_use", "id": "m1", "name": "n", "server_name": "s", "input": {}}
            ),
        ),
    ],
)
def test_assistant_blocks_decode(block: dict[str, Any], part: Any) -> None:
    msgs = decode(body([user("q"), assistant([block])])).messages
    assert msgs[1].role == "assistant" and msgs[1].content == [part]


def test_assistant_string_content_is_text() -> None:
    assert decode(body([user("q"), assistant("prefill")])).messages[1].content == [TextPart("prefill")]


def test_thinking_with_another_styles_token_is_unwrapped() -> None:
    gemini = ReasoningPart(signature="CiQBgemini==", origin="google-genai")
    token = artifacts.wrap(gemini)
    msgs = decode(
        body(
            [
                user("q"),
                assistant(
                    [
                        {"type": "thinking", "thinking": "", "signature": token},
                        {"type": "tool_use", "id": "call_1", "name": "f", "input": {}},
                    ]
                ),
            ]
        )
    ).messages
    assert msgs[1].content[0] == gemini


def test_tool_results_split_from_the_rest_of_the_turn() -> None:
    req = decode(
        body(
            [
                user("q"),
                assistant(
                    [
                        {"type": "tool_use", "id": "t1", "name": "read", "input": {}},
                        {"type": "tool_use", "id": "t2", "name": "shot", "input": {}},
                    ]
                ),
                user(
                    [
                        {"type": "text", "text": "before"},
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "content": "file body",
                            "is_error": True,
                        },
                        {
                            "type": "tool_result",
                            "tool_use_id": "t2",
                            "content": [
                                {"type": "text", "text": "screenshot:"},
                                {
                                    "type": "image",
                                    "source": {"type": "base64", "media_type": "image/png", "data": "AA"},
                                },
                            ],
                        },
                        {"type": "text", "text": "after"},
                    ]
                ),
            ]
        )
    )
    tool, rest = req.messages[2:]
    assert tool == Message(
        "tool",
        [
            ToolResultPart("t1", [TextPart("file body")], name="read", is_error=True),
            ToolResultPart(
                "t2", [TextPart("screenshot:"), ImagePart(data="AA", media_type="image/png")], name="shot"
            ),
        ],
    )
    assert rest == Message("user", [TextPart("before"), TextPart("after")])


def test_tool_result_blocks_without_canonical_form_keep_their_native_content() -> None:
    content = [
        {"type": "tool_reference", "tool_name": "WebFetch"},
        {
            "type": "search_result",
            "source": "https://d",
            "title": "Doc",
            "content": [{"type": "text", "text": "x"}],
        },
    ]
    req = decode(
        body(
            [
                user("q"),
                assistant(
                    [{"type": "tool_use", "id": "t1", "name": "ToolSearch", "input": {"query": "web"}}]
                ),
                user(
                    [{"type": "tool_result", "tool_use_id": "t1", "content": content, "toolset_name": "ts"}]
                ),
            ]
        )
    )
    (result,) = req.messages[2].content
    assert isinstance(result, ToolResultPart)
    assert result.content == [TextPart("Tool loaded: WebFetch"), TextPart("Doc (https://d)\nx")]
    assert result.extra == {"toolset_name": "ts", "content": content}
    # an Anthropic provider gets the original blocks, another style the text
    wire = CODEC.encode_request(req, "claude-x")
    assert wire["messages"][2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "t1",
        "content": content,
        "toolset_name": "ts",
    }
    chat = codec_for("openai-chat").encode_request(req, "gpt")
    assert "Tool loaded: WebFetch" in json.dumps(chat["messages"])


def test_leading_system_message_joins_the_system_prompt() -> None:
    req = decode(body([{"role": "system", "content": "late rules"}, user("q")], system="base"))
    assert [p.text for p in req.system] == ["base", "late rules"]
    assert [m.role for m in req.messages] == ["user"]


def test_tools_and_tool_choice() -> None:
    req = decode(
        body(
            [user("q")],
            tools=[
                {
                    "name": "f",
                    "input_schema": {"type": "object"},
                    "strict": True,
                    "input_examples": [{"a": 1}],
                },
                {"type": "custom", "name": "g", "description": "d", "input_schema": {"type": "object"}},
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
                {"type": "bash_20250124", "name": "bash"},
                {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
                {"type": "code_execution_20250825", "name": "code_execution"},
                {"type": "memory_20250818", "name": "memory"},
                {"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"},
            ],
            tool_choice={"type": "any", "disable_parallel_tool_use": True},
        )
    )
    assert req.tools == [
        ToolDef("f", parameters={"type": "object"}, strict=True, extra={"input_examples": [{"a": 1}]}),
        ToolDef("g", description="d", parameters={"type": "object"}),
    ]
    assert [t.data["type"] for t in req.opaque_tools] == [
        "web_search_20250305", "bash_20250124", "text_editor_20250728", "code_execution_20250825",
        "memory_20250818", "tool_search_tool_regex_20251119",
    ]  # fmt: skip
    assert all(t.style == STYLE for t in req.opaque_tools)
    assert req.tool_choice == ToolChoice("required") and req.parallel_tool_calls is False


def test_server_tools_keep_their_place_for_an_anthropic_provider() -> None:
    """Same style: the tool list reaches the provider in the client's order, a server tool first
    included (Cline sends ``web_search_20250305`` before its function tools)."""
    tools = [
        {"type": "web_search_20250305", "name": "web_search"},
        {"name": "read_files", "input_schema": {"type": "object"}},
        {"type": "bash_20250124", "name": "bash"},
        {"name": "editor", "input_schema": {"type": "object"}},
    ]
    req = decode(body([user("q")], tools=tools))
    assert [t.index for t in req.opaque_tools] == [0, 2]
    assert CODEC.encode_request(req, "claude-x")["tools"] == tools


@pytest.mark.parametrize(
    ("wire", "choice", "parallel"),
    [
        ({"type": "auto"}, ToolChoice("auto"), None),
        ({"type": "auto", "disable_parallel_tool_use": True}, ToolChoice("auto"), False),
        ({"type": "any"}, ToolChoice("required"), None),
        ({"type": "none"}, ToolChoice("none"), None),
        ({"type": "tool", "name": "f"}, ToolChoice("tool", name="f"), None),
    ],
)
def test_tool_choice_decodes(wire: dict[str, Any], choice: ToolChoice, parallel: bool | None) -> None:
    req = decode(body([user("q")], tool_choice=wire))
    assert req.tool_choice == choice and req.parallel_tool_calls is parallel


@pytest.mark.parametrize(
    ("fields", "cfg", "fmt"),
    [
        (
            {"thinking": {"type": "enabled", "budget_tokens": 31999, "display": "omitted"}},
            ReasoningConfig(mode="enabled", budget_tokens=31999, include_thoughts=False),
            None,
        ),
        (
            {"thinking": {"type": "adaptive", "display": "summarized"}, "output_config": {"effort": "max"}},
            ReasoningConfig(mode="adaptive", effort="max", include_thoughts=True),
            None,
        ),
        ({"thinking": {"type": "disabled"}}, ReasoningConfig(mode="disabled"), None),
        ({"thinking": {"type": "between_tools"}}, ReasoningConfig(mode="adaptive"), None),
        ({"output_config": {"effort": "low"}}, ReasoningConfig(effort="low"), None),
        (
            {"output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
            None,
            ResponseFormat("json_schema", schema={"type": "object"}),
        ),
    ],
)
def test_thinking_and_output_config_decode(
    fields: dict[str, Any], cfg: ReasoningConfig | None, fmt: ResponseFormat | None
) -> None:
    req = decode(body([user("q")], **fields))
    assert req.reasoning == cfg and req.response_format == fmt


def test_sampling_stop_and_extras_decode() -> None:
    req = decode(
        body(
            [user("q")],
            temperature=0.2,
            top_p=0.9,
            top_k=40,
            stop_sequences=["END"],
            service_tier="auto",
            container="c1",
            mcp_servers=[{"type": "url", "url": "https://m", "name": "m"}],
            speed="fast",
            inference_geo="us",
            cache_control={"type": "ephemeral"},
            metadata={"user_id": "u1"},
            output_config={"effort": "high", "task_budget": 5},
        )
    )
    assert (req.temperature, req.top_p, req.top_k, req.stop, req.user) == (0.2, 0.9, 40, ["END"], "u1")
    assert set(req.extra) == {
        "service_tier", "container", "mcp_servers", "speed", "inference_geo", "cache_control", "output_config",
    }  # fmt: skip
    assert req.extra["output_config"] == {"task_budget": 5}


def test_url_target_overrides_model_and_stream() -> None:
    req = CODEC.decode_request(body([user("q")]), RequestTarget(model="from-url", stream=True))
    assert req.model == "from-url" and req.stream


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ({"model": "m", "max_tokens": 1}, "messages: required field is missing"),
        ({"model": "m", "messages": []}, "messages: must contain at least one message"),
        ({"messages": [user("q")]}, "model: required string is missing"),
        (
            body([{"role": "bot", "content": "x"}]),
            "messages[0].role: expected one of user, assistant, system",
        ),
        (body([{"role": "user"}]), "messages[0].content: required field is missing"),
        (body([user([{"type": "text"}])]), "messages[0].content[0].text: required string is missing"),
        (body([user([{"text": "x"}])]), "messages[0].content[0].type: expected a content block type"),
        (
            body([user("q"), assistant([{"type": "tool_use", "id": "a", "name": "f", "input": [1]}])]),
            "messages[1].content[0].input: expected an object, got array",
        ),
        (
            body([user([{"type": "tool_result", "content": "x"}])]),
            "messages[0].content[0].tool_use_id: required string is missing",
        ),
        (body([user("q")], system=[{"type": "image"}]), "system[0].type: expected 'text'"),
        (body([user("q")], thinking={"type": "sometimes"}), "thinking.type: expected enabled"),
        (
            body([user("q")], tool_choice={"type": "maybe"}),
            "tool_choice.type: expected auto, any, tool or none",
        ),
        (body([user("q")], output_config={"effort": "extreme"}), "output_config.effort: unsupported value"),
        (body([user("q")], tools=[{"input_schema": {}}]), "tools[0].name: required string is missing"),
        (body([user("q")], max_tokens="many"), "max_tokens: expected an integer, got string"),
    ],
)
def test_bad_requests_name_the_path(wire: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as exc:
        decode(wire)
    assert message in exc.value.message


# ====================================================================== answers to clients


def sdk_message(resp: Response, req: Request | None = None) -> tuple[dict[str, Any], SDKMessage]:
    wire = json.loads(CODEC.encode_response(resp, req or anthropic_req()))
    return wire, SDKMessage.model_validate(wire)


def test_encode_response_is_an_sdk_message() -> None:
    resp = Response(
        id="msg_01",
        model="claude-x",
        content=[
            ReasoningPart(text="plan", signature=SIG, origin=STYLE),
            ReasoningPart(signature="REDACTED", origin=STYLE, redacted=True),
            TextPart("Let me look."),
            ToolCallPart("toolu_1", "read", '{"path":"a.py"}'),
        ],
        stop_reason="tool_use",
        usage=Usage(
            input_tokens=100,
            output_tokens=20,
            cache_read_tokens=30,
            cache_write_tokens=10,
            reasoning_tokens=5,
        ),
    )
    wire, msg = sdk_message(resp)
    assert wire["content"] == [
        {"type": "thinking", "thinking": "plan", "signature": SIG},
        {"type": "redacted_thinking", "data": "REDACTED"},
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {"path": "a.py"}},
    ]
    assert (
        msg.id == "msg_01" and msg.type == "message" and msg.role == "assistant" and msg.model == "claude-x"
    )
    assert msg.stop_reason == "tool_use" and msg.stop_sequence is None
    assert wire["usage"] == {
        "input_tokens": 60,
        "cache_creation_input_tokens": 10,
        "cache_read_input_tokens": 30,
        "output_tokens": 20,
        "output_tokens_details": {"thinking_tokens": 5},
    }


@pytest.mark.parametrize(
    ("canonical", "wire"),
    [
        ("end_turn", "end_turn"),
        ("max_tokens", "max_tokens"),
        ("stop_sequence", "stop_sequence"),
        ("tool_use", "tool_use"),
        ("content_filter", "refusal"),
        ("refusal", "refusal"),
        ("pause", "pause_turn"),
        ("error", "end_turn"),
    ],
)
def test_every_stop_reason_reaches_the_client(canonical: Any, wire: str) -> None:
    resp = Response(id="r", model="m", content=[TextPart("x")], stop_reason=canonical, stop_sequence="END")
    out, _ = sdk_message(resp)
    assert out["stop_reason"] == wire and out["stop_sequence"] == "END"
    stream = sdk_accumulate(encode_stream(resp, anthropic_req()))
    assert stream.stop_reason == wire


def test_end_turn_with_tool_calls_is_tool_use_and_ids_get_msg_prefix() -> None:
    resp = Response(id="chatcmpl-9", model="gpt", content=[ToolCallPart("call_1", "f", "")])
    wire, msg = sdk_message(resp)
    assert wire["stop_reason"] == "tool_use" and msg.id.startswith("msg_chatcmpl-9_")
    # another style's id gets a nonce of this answer: a repeated upstream id never repeats here
    assert sdk_message(resp)[1].id != msg.id
    assert sdk_message(Response(id="msg_native", model="m", content=[]))[1].id == "msg_native"
    assert wire["content"][0]["input"] == {}


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (Usage(input_tokens=100, output_tokens=7), (100, 0, 0, 7)),
        (Usage(input_tokens=100, output_tokens=7, cache_read_tokens=90), (10, 90, 0, 7)),
        (
            Usage(input_tokens=100, output_tokens=7, cache_read_tokens=30, cache_write_tokens=10),
            (60, 30, 10, 7),
        ),
        (Usage(input_tokens=5, output_tokens=1, cache_read_tokens=30), (0, 30, 0, 1)),  # never negative
    ],
)
def test_usage_arithmetic(usage: Usage, expected: tuple[int, int, int, int]) -> None:
    wire, _ = sdk_message(Response(id="r", model="m", content=[TextPart("x")], usage=usage))
    u = wire["usage"]
    assert (
        u["input_tokens"],
        u["cache_read_input_tokens"],
        u["cache_creation_input_tokens"],
        u["output_tokens"],
    ) == expected


def test_foreign_reasoning_becomes_thinking_blocks_the_client_echoes_back() -> None:
    gemini = ReasoningPart(signature="CiQBgem==", origin="google-genai")  # a thoughtSignature
    deepseek = ReasoningPart(text="chain of thought", origin="openai-chat")  # reasoning_content
    nothing = ReasoningPart(origin="openai-responses")  # nothing to carry: omitted
    resp = Response(
        id="r",
        model="m",
        content=[deepseek, gemini, ToolCallPart("call_1", "f", "{}"), nothing],
        stop_reason="tool_use",
    )
    wire, _ = sdk_message(resp)
    blocks = wire["content"]
    assert [b["type"] for b in blocks] == ["thinking", "thinking", "tool_use"]
    assert blocks[1] == {"type": "thinking", "thinking": "", "signature": artifacts.wrap(gemini)}
    assert blocks[0]["thinking"] == "chain of thought" and artifacts.is_wrapped(blocks[0]["signature"])
    # Claude Code sends the turn back: each part returns to its origin
    back = decode(body([user("q"), assistant(blocks)])).messages[1].content
    assert back[0] == deepseek and back[1] == gemini


def test_custom_tool_calls_reach_anthropic_clients_as_json_input() -> None:
    resp = Response(
        id="r", model="m", content=[ToolCallPart("call_1", "apply_patch", "*** Begin", kind="custom")]
    )
    wire, _ = sdk_message(resp)
    assert wire["content"][0]["input"] == {conversions.CUSTOM_TOOL_PARAM: "*** Begin"}
    stream = sdk_accumulate(encode_stream(resp, anthropic_req()))
    assert stream.content[0].input == {conversions.CUSTOM_TOOL_PARAM: "*** Begin"}  # type: ignore[union-attr]


def test_invalid_tool_arguments_do_not_break_the_answer() -> None:
    wire, _ = sdk_message(Response(id="r", model="m", content=[ToolCallPart("c", "f", "{oops")]))
    assert wire["content"][0]["input"] == {"_raw_arguments": "{oops"}


def test_opaque_and_media_parts_in_answers() -> None:
    srv = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}}
    resp = Response(
        id="r",
        model="m",
        content=[
            OpaquePart(STYLE, srv),
            OpaquePart("openai-responses", {"type": "web_search_call"}),
            ImagePart(data="AA", media_type="image/png"),
            TextPart("done"),
        ],
    )
    wire, _ = sdk_message(resp)
    assert wire["content"] == [
        srv,
        {"type": "text", "text": "[image output (image/png) omitted]"},
        {"type": "text", "text": "done"},
    ]
    stream = sdk_accumulate(encode_stream(resp, anthropic_req()))
    assert [b.to_dict() for b in stream.content] == wire["content"]


# ====================================================================== client streams


def test_stream_encoder_event_sequence() -> None:
    req = anthropic_req()
    enc = CODEC.stream_encoder(req)
    events: list[StreamEvent] = [
        StreamStart(id="msg_1", model="claude-x", usage=Usage(input_tokens=100, cache_read_tokens=40)),
        PartStart(0, ReasoningPart(origin=STYLE)),
        ReasoningDelta(0, "thin"),
        ReasoningDelta(0, "king"),
        SignatureDelta(0, SIG),
        PartStop(0),
        PartStart(1, TextPart("")),
        TextDelta(1, "Hi"),
        PartStop(1),
        PartStart(2, ToolCallPart("toolu_1", "f")),
        ToolArgsDelta(2, '{"a"'),
        ToolArgsDelta(2, ":1}"),
        PartStop(2),
        Finish("tool_use", usage=Usage(input_tokens=100, output_tokens=9, cache_read_tokens=40)),
    ]
    data = b"".join(enc.encode(e) for e in events)
    assert enc.content_type == "text/event-stream"
    names = [n for n, _ in sse_events(data)]
    assert names == [
        "message_start",
        "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta",
        "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop",
    ]  # fmt: skip
    frames = dict(sse_events(data)[:1])
    assert frames["message_start"]["message"]["usage"]["input_tokens"] == 60
    msg = sdk_accumulate(data)
    assert msg.content[0].thinking == "thinking" and msg.content[0].signature == SIG  # type: ignore[union-attr]
    assert msg.content[2].input == {"a": 1}  # type: ignore[union-attr]
    assert msg.usage.output_tokens == 9 and msg.usage.cache_read_input_tokens == 40
    assert msg.stop_reason == "tool_use"


def test_stream_error_is_an_error_event() -> None:
    enc = CODEC.stream_encoder(anthropic_req())
    data = enc.encode(StreamStart(id="m", model="x")) + enc.encode(
        StreamError(status=529, message="busy", kind="overloaded_error")
    )
    name, obj = sse_events(data)[-1]
    assert name == "error"
    assert obj == {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    data = enc.encode(StreamError(status=502, message="cut", kind="server_error"))
    assert sse_events(data)[0][1]["error"]["type"] == "api_error"


def test_stream_encoder_skips_foreign_opaque_parts_and_renumbers() -> None:
    resp = Response(
        id="r",
        model="m",
        content=[OpaquePart("google-genai", {"executableCode": {}}), TextPart("a"), TextPart("b")],
    )
    data = encode_stream(resp, anthropic_req())
    starts = [obj["index"] for name, obj in sse_events(data) if name == "content_block_start"]
    assert starts == [0, 1]
    assert [b.text for b in sdk_accumulate(data).content] == ["a", "b"]  # type: ignore[union-attr]


def test_stream_encoder_redacted_and_foreign_signatures() -> None:
    gemini = ReasoningPart(signature="CiQBgem==", origin="google-genai")
    resp = Response(
        id="r",
        model="m",
        content=[
            ReasoningPart(signature="DATA", origin=STYLE, redacted=True),
            gemini,
            ReasoningPart(text="t", origin="openai-chat"),
        ],
    )
    wire, _ = sdk_message(resp)
    msg = sdk_accumulate(encode_stream(resp, anthropic_req()))
    assert [b.to_dict() for b in msg.content] == wire["content"]
    assert wire["content"][0] == {"type": "redacted_thinking", "data": "DATA"}


@settings(max_examples=60, deadline=None)
@given(responses(reasoning_origin=STYLE))
def test_property_stream_and_non_stream_answers_agree(resp: Response) -> None:
    req = anthropic_req()
    wire = json.loads(CODEC.encode_response(resp, req))
    msg = sdk_accumulate(encode_stream(resp, req))
    assert [b.to_dict() for b in msg.content] == wire["content"]
    assert msg.stop_reason == wire["stop_reason"]
    assert msg.usage.output_tokens == wire["usage"]["output_tokens"]
    assert msg.usage.input_tokens == wire["usage"]["input_tokens"]


@settings(max_examples=60, deadline=None)
@given(responses(reasoning_origin="google-genai"))
def test_property_foreign_artifacts_survive_the_stream(resp: Response) -> None:
    req = anthropic_req()
    wire = json.loads(CODEC.encode_response(resp, req))
    msg = sdk_accumulate(encode_stream(resp, req))
    assert [b.to_dict() for b in msg.content] == wire["content"]


# ====================================================================== encode errors and models


@pytest.mark.parametrize(
    ("err", "status", "kind"),
    [
        (BadRequest("bad"), 400, "invalid_request_error"),
        (Unauthorized("no key"), 401, "authentication_error"),
        (NotFound("no route"), 404, "not_found_error"),
        (PayloadTooLarge("big"), 413, "request_too_large"),
        (RateLimited("slow down", retry_after=2), 429, "rate_limit_error"),
        (UpstreamTimeout("late", provider="p"), 504, "timeout_error"),
        (CircuitOpen("open", provider="p"), 503, "overloaded_error"),
        (UpstreamProtocol("garbage", provider="p"), 502, "api_error"),
        (UpstreamStatus("boom", provider="p", upstream_status=500, kind="server_error"), 500, "api_error"),
        (UpstreamStatus("ovl", provider="p", upstream_status=529), 529, "overloaded_error"),
        (
            UpstreamStatus("forbidden", provider="p", upstream_status=403, kind="PERMISSION_DENIED"),
            403,
            "permission_error",
        ),
    ],
)
def test_error_envelope(err: Any, status: int, kind: str) -> None:
    got_status, raw = CODEC.encode_error(err)
    assert got_status == status
    assert json.loads(raw) == {"type": "error", "error": {"type": kind, "message": err.message}}


def test_encode_models_is_the_anthropic_model_list() -> None:
    data = json.loads(
        CODEC.encode_models(
            [ModelInfo("auto", created=0), ModelInfo("fast", created=1700000000, display_name="Fast")]
        )
    )
    assert data["has_more"] is False and data["first_id"] == "auto" and data["last_id"] == "fast"
    assert data["data"][1] == {
        "type": "model",
        "id": "fast",
        "display_name": "Fast",
        "created_at": "2023-11-14T22:13:20Z",
        "lifecycle": "active",
    }
    for m in data["data"]:
        SDKModelInfo.model_validate(m)
    assert json.loads(CODEC.encode_models([])) == {
        "data": [],
        "has_more": False,
        "first_id": None,
        "last_id": None,
    }


# ====================================================================== provider requests


def wire_for(req: Request, model: str = "claude-x") -> dict[str, Any]:
    wire = CODEC.encode_request(req, model)
    sdk_valid_request(wire)
    return wire


def test_minimal_request_from_another_style() -> None:
    wire = wire_for(chat_req(temperature=0.3, top_p=0.5, seed=7, presence_penalty=1.0, prompt_cache_key="k"))
    assert wire == {
        "model": "claude-x",
        "messages": [user([{"type": "text", "text": "hi"}])],
        "max_tokens": 4096,
    }


@pytest.mark.parametrize(
    ("req", "thinking", "max_tokens"),
    [
        (
            chat_req(reasoning=ReasoningConfig(effort="high")),
            {"type": "enabled", "budget_tokens": 16384},
            20480,
        ),
        (
            chat_req(reasoning=ReasoningConfig(effort="low"), max_tokens=30000),
            {"type": "enabled", "budget_tokens": 2048},
            30000,
        ),
        (
            chat_req(reasoning=ReasoningConfig(effort="high"), max_tokens=5000),
            {"type": "enabled", "budget_tokens": 4999},
            5000,
        ),
        (chat_req(reasoning=ReasoningConfig(effort="high"), max_tokens=1000), {"type": "disabled"}, 1000),
        (
            chat_req(reasoning=ReasoningConfig(mode="enabled", budget_tokens=100)),
            {"type": "enabled", "budget_tokens": 1024},
            5120,
        ),
        (
            chat_req(reasoning=ReasoningConfig(mode="adaptive")),
            {"type": "enabled", "budget_tokens": 8192},
            12288,
        ),
        (
            chat_req(reasoning=ReasoningConfig(effort="medium", include_thoughts=True)),
            {"type": "enabled", "budget_tokens": 8192, "display": "summarized"},
            12288,
        ),
        (chat_req(reasoning=ReasoningConfig(effort="none")), {"type": "disabled"}, 4096),
        (chat_req(reasoning=ReasoningConfig(mode="disabled")), {"type": "disabled"}, 4096),
        (chat_req(reasoning=ReasoningConfig(include_thoughts=True)), None, 4096),
        (
            anthropic_req(reasoning=ReasoningConfig(mode="enabled", budget_tokens=31999), max_tokens=32000),
            {"type": "enabled", "budget_tokens": 31999},
            32000,
        ),
        (
            anthropic_req(
                reasoning=ReasoningConfig(mode="adaptive", include_thoughts=False), max_tokens=128000
            ),
            {"type": "adaptive", "display": "omitted"},
            128000,
        ),
        (
            anthropic_req(
                reasoning=ReasoningConfig(mode="adaptive"), extra={"thinking": {"type": "between_tools"}}
            ),
            {"type": "between_tools"},
            4096,
        ),
        (anthropic_req(reasoning=ReasoningConfig(effort="high")), None, 4096),
    ],
)
def test_thinking_and_max_tokens(req: Request, thinking: dict[str, Any] | None, max_tokens: int) -> None:
    wire = wire_for(req)
    assert wire.get("thinking") == thinking and wire["max_tokens"] == max_tokens


def test_effort_goes_to_output_config_only_for_anthropic_clients() -> None:
    cfg = ReasoningConfig(mode="adaptive", effort="medium")
    assert wire_for(anthropic_req(reasoning=cfg))["output_config"] == {"effort": "medium"}
    assert "output_config" not in wire_for(chat_req(reasoning=cfg))


@pytest.mark.parametrize(
    ("req", "expected"),
    [
        (anthropic_req(temperature=0.2, top_p=0.9, top_k=5), {"temperature": 0.2, "top_p": 0.9, "top_k": 5}),
        (
            anthropic_req(temperature=0.2, top_p=0.9, top_k=5, reasoning=ReasoningConfig(mode="enabled")),
            {},
        ),
        (
            anthropic_req(temperature=0.2, top_p=0.95, top_k=5, reasoning=ReasoningConfig(mode="enabled")),
            {"top_p": 0.95},
        ),
        (chat_req(temperature=0.2, top_p=0.9, top_k=5), {}),
    ],
)
def test_sampling_parameters(req: Request, expected: dict[str, Any]) -> None:
    wire = wire_for(req)
    assert {k: wire[k] for k in ("temperature", "top_p", "top_k") if k in wire} == expected


def gemini_tool_history(final: list[Any]) -> list[Message]:
    return [
        Message("user", [TextPart("list files")]),
        Message(
            "assistant",
            [ReasoningPart(signature="CiQB==", origin="google-genai"), ToolCallPart("call_1", "ls", "{}")],
        ),
        Message("tool", [ToolResultPart("call_1", [TextPart("a.py")], name="ls")]),
        *([Message("user", final)] if final else []),
    ]


def test_thinking_is_switched_off_when_the_open_tool_turn_is_unsigned() -> None:
    cfg = ReasoningConfig(mode="enabled", budget_tokens=2048)
    wire = wire_for(anthropic_req(messages=gemini_tool_history([]), reasoning=cfg, temperature=0.5))
    assert wire["thinking"] == {"type": "disabled"}
    assert wire["messages"][1]["content"] == [{"type": "tool_use", "id": "call_1", "name": "ls", "input": {}}]
    assert wire["temperature"] == 0.5  # thinking off: sampling allowed again
    # user text next to the results is the same Anthropic turn: still open
    wire = wire_for(anthropic_req(messages=gemini_tool_history([TextPart("and?")]), reasoning=cfg))
    assert wire["thinking"] == {"type": "disabled"}
    # once the model answered and the user asks again, the tool turn is closed: thinking is back
    history = [
        *gemini_tool_history([]),
        Message("assistant", [TextPart("a.py")]),
        Message("user", [TextPart("ok")]),
    ]
    wire = wire_for(anthropic_req(messages=history, reasoning=cfg))
    assert wire["thinking"] == {"type": "enabled", "budget_tokens": 2048}


def test_signed_tool_turn_keeps_thinking_and_sends_the_block_back_verbatim() -> None:
    messages = [
        Message("user", [TextPart("list files")]),
        Message(
            "assistant",
            [
                ReasoningPart(text="use ls", signature=SIG, origin=STYLE),
                ReasoningPart(signature="RED", origin=STYLE, redacted=True),
                ReasoningPart(text="other", origin="openai-chat"),
                ToolCallPart("toolu_1", "ls", "{}"),
            ],
        ),
        Message("tool", [ToolResultPart("toolu_1", [TextPart("a.py")])]),
    ]
    wire = wire_for(chat_req(messages=messages, reasoning=ReasoningConfig(effort="low")))
    assert wire["thinking"]["type"] == "enabled"
    assert wire["messages"][1]["content"][:2] == [
        {"type": "thinking", "thinking": "use ls", "signature": SIG},
        {"type": "redacted_thinking", "data": "RED"},
    ]
    assert len(wire["messages"][1]["content"]) == 3


def test_forced_tool_use_switches_enabled_thinking_off() -> None:
    req = chat_req(
        tools=[ToolDef("f")], tool_choice=ToolChoice("required"), reasoning=ReasoningConfig(effort="high")
    )
    wire = wire_for(req)
    assert wire["thinking"] == {"type": "disabled"} and wire["tool_choice"] == {"type": "any"}


def test_roles_merge_and_tool_results_come_first() -> None:
    messages = [
        Message("assistant", [TextPart("Hello! How can I help?")]),
        Message("user", [TextPart("read a")]),
        Message("user", [TextPart("and b")]),
        Message(
            "assistant", [ToolCallPart("c1", "read", '{"p":"a"}'), ToolCallPart("c2", "read", '{"p":"b"}')]
        ),
        Message("tool", [ToolResultPart("c1", [TextPart("A")])]),
        Message("user", [TextPart("note")]),
        Message("tool", [ToolResultPart("c2", [TextPart("B")], is_error=True)]),
        Message("assistant", [ReasoningPart(text="x", origin="openai-chat")]),  # nothing left: dropped
        Message("user", [TextPart("")]),  # empty: dropped
        Message("user", [TextPart("go on")]),
    ]
    wire = wire_for(chat_req(messages=messages))
    assert [m["role"] for m in wire["messages"]] == ["user", "assistant", "user", "assistant", "user"]
    assert wire["messages"][0]["content"] == [{"type": "text", "text": START_TEXT}]
    assert wire["messages"][2]["content"] == [
        {"type": "text", "text": "read a"},
        {"type": "text", "text": "and b"},
    ]
    assert wire["messages"][4]["content"] == [
        {"type": "tool_result", "tool_use_id": "c1", "content": "A"},
        {"type": "tool_result", "tool_use_id": "c2", "content": "B", "is_error": True},
        {"type": "text", "text": "note"},
        {"type": "text", "text": "go on"},
    ]


def test_mid_conversation_system_messages() -> None:
    messages = [
        Message("user", [TextPart("q")]),
        Message("system", [TextPart("new rules")], extra={"output_config": {"effort": "low"}}),
        Message("assistant", [TextPart("a")]),
        Message("system", [TextPart("after assistant")]),
        Message("user", [TextPart("q2")]),
    ]
    native = wire_for(anthropic_req(messages=messages), "claude-x")["messages"]
    assert native[1] == {
        "role": "system",
        "content": [{"type": "text", "text": "new rules"}],
        "output_config": {"effort": "low"},
    }
    # a system message right after an assistant turn is not accepted natively: wrapped in place
    assert native[3] == user(
        [
            {"type": "text", "text": "<system-reminder>\nafter assistant\n</system-reminder>"},
            {"type": "text", "text": "q2"},
        ]
    )
    for wire in (
        wire_for(anthropic_req(messages=messages), "claude-haiku"),
        wire_for(chat_req(messages=messages)),
    ):
        roles = [m["role"] for m in wire["messages"]]
        assert roles == ["user", "assistant", "user"]
        assert wire["messages"][0]["content"][1] == {
            "type": "text",
            "text": "<system-reminder>\nnew rules\n</system-reminder>",
        }


def test_response_formats() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    wire = wire_for(chat_req(response_format=ResponseFormat("json_schema", schema=schema, name="x")))
    assert wire["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    wire = wire_for(chat_req(system=[TextPart("Be brief.")], response_format=ResponseFormat("json_object")))
    assert wire["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": JSON_OBJECT_INSTRUCTION},
    ]
    assert "output_config" not in wire_for(chat_req(response_format=ResponseFormat("text")))


@pytest.mark.parametrize(
    ("choice", "parallel", "wire_choice", "tool_names"),
    [
        (ToolChoice("auto"), None, {"type": "auto"}, ["a", "b", "c"]),
        (ToolChoice("none"), None, {"type": "none"}, ["a", "b", "c"]),
        (ToolChoice("required"), None, {"type": "any"}, ["a", "b", "c"]),
        (ToolChoice("tool", name="b"), None, {"type": "tool", "name": "b"}, ["a", "b", "c"]),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}, ["a", "b", "c"]),
        (ToolChoice("required"), False, {"type": "any", "disable_parallel_tool_use": True}, ["a", "b", "c"]),
        (ToolChoice("auto", allowed=["a", "c"]), None, {"type": "auto"}, ["a", "c"]),
        (ToolChoice("required", allowed=["c"]), None, {"type": "tool", "name": "c"}, ["c"]),
        (None, None, None, ["a", "b", "c"]),
    ],
)
def test_tool_choice_encodes(
    choice: ToolChoice | None, parallel: bool | None, wire_choice: Any, tool_names: list[str]
) -> None:
    tools = [ToolDef("a"), ToolDef("b"), ToolDef("c")]
    wire = wire_for(chat_req(tools=tools, tool_choice=choice, parallel_tool_calls=parallel))
    assert wire.get("tool_choice") == wire_choice
    assert [t["name"] for t in wire["tools"]] == tool_names


def test_tool_choice_without_tools_is_not_sent() -> None:
    assert "tool_choice" not in wire_for(chat_req(tool_choice=ToolChoice("required")))


def test_tool_definitions() -> None:
    tools = [
        ToolDef("none"),
        ToolDef("loose", parameters={"properties": {"q": {"type": "string"}}}),
        ToolDef(
            "cached",
            description="d",
            parameters={"type": "object"},
            strict=True,
            cache_control=CacheControl(),
        ),
        ToolDef(
            "apply_patch",
            kind="custom",
            format={"type": "grammar", "syntax": "lark", "definition": "start: x"},
        ),
        ToolDef("deferred", parameters={"type": "object"}, extra={"defer_loading": True}),
    ]
    opaque = [
        OpaqueTool(STYLE, {"type": "web_search_20250305", "name": "web_search"}),
        OpaqueTool("openai-responses", {"type": "web_search"}),
    ]
    wire = wire_for(chat_req(tools=tools, opaque_tools=opaque))
    assert wire["tools"][:3] == [
        {"name": "none", "input_schema": {"type": "object", "properties": {}}},
        {"name": "loose", "input_schema": {"properties": {"q": {"type": "string"}}, "type": "object"}},
        {
            "name": "cached",
            "description": "d",
            "input_schema": {"type": "object"},
            "strict": True,
            "cache_control": {"type": "ephemeral"},
        },
    ]
    assert wire["tools"][3]["input_schema"] == conversions.custom_tool_as_function(tools[3])
    assert wire["tools"][4] == {
        "name": "deferred",
        "input_schema": {"type": "object"},
    }  # not our style's extra
    assert wire["tools"][5] == {"type": "web_search_20250305", "name": "web_search"}
    assert len(wire["tools"]) == 6
    same = wire_for(anthropic_req(tools=tools))
    assert same["tools"][4]["defer_loading"] is True


def test_media_blocks() -> None:
    text_doc = base64.b64encode(b"plain words").decode()
    msg = Message(
        "user",
        [
            ImagePart(data="iVBO", media_type="image/jpeg", cache_control=CacheControl()),
            ImagePart(url="https://x/y.png"),
            ImagePart(file_id="file_1"),
            FilePart(data="JVBE", media_type="application/pdf", filename="a.pdf"),
            FilePart(data=text_doc, media_type="text/markdown"),
            FilePart(url="https://x/a.pdf"),
            FilePart(file_id="file_2"),
        ],
    )
    content = wire_for(chat_req(messages=[msg]))["messages"][0]["content"]
    assert content == [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/jpeg", "data": "iVBO"},
            "cache_control": {"type": "ephemeral"},
        },
        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
        {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
            "title": "a.pdf",
        },
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain words"}},
        {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}},
        {"type": "document", "source": {"type": "file", "file_id": "file_2"}},
    ]


@pytest.mark.parametrize(
    ("part", "message"),
    [
        (FilePart(data="UEsD", media_type="application/vnd.ms-excel"), "PDF and plain text only"),
        (OpaquePart("openai-chat", {"type": "input_audio"}), "'input_audio' content block cannot be sent"),
        (FilePart(data="!!!", media_type="text/plain"), "not base64 UTF-8 text"),
    ],
)
def test_unsendable_user_content_is_a_bad_request(part: Any, message: str) -> None:
    with pytest.raises(BadRequest) as exc:
        CODEC.encode_request(chat_req(messages=[Message("user", [part])]), "claude-x")
    assert message in exc.value.message


def test_opaque_parts_pass_for_anthropic_and_are_dropped_from_foreign_assistant_turns() -> None:
    srv = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}}
    messages = [
        Message("user", [TextPart("q"), OpaquePart(STYLE, {"type": "container_upload", "file_id": "f"})]),
        Message(
            "assistant",
            [
                OpaquePart(STYLE, srv),
                OpaquePart("openai-responses", {"type": "web_search_call"}),
                TextPart("a"),
            ],
        ),
        Message("user", [TextPart("more")]),
    ]
    wire = wire_for(chat_req(messages=messages))
    assert wire["messages"][0]["content"][1] == {"type": "container_upload", "file_id": "f"}
    assert wire["messages"][1]["content"] == [srv, {"type": "text", "text": "a"}]


def test_tool_ids_are_made_safe_for_anthropic() -> None:
    messages = [
        Message("user", [TextPart("q")]),
        Message("assistant", [ToolCallPart("functions.read:0", "read", "{}")]),
        Message("tool", [ToolResultPart("functions.read:0", [])]),
    ]
    wire = wire_for(chat_req(messages=messages))
    assert wire["messages"][1]["content"][0]["id"] == "functions_read_0"
    assert wire["messages"][2]["content"][0] == {"type": "tool_result", "tool_use_id": "functions_read_0"}


def test_tool_results_with_media_and_cache_control() -> None:
    messages = [
        Message("user", [TextPart("q")]),
        Message("assistant", [ToolCallPart("c1", "shot", "{}")]),
        Message(
            "tool",
            [
                ToolResultPart(
                    "c1",
                    [TextPart("img:"), ImagePart(data="AA", media_type="image/png")],
                    cache_control=CacheControl(ttl="1h"),
                )
            ],
        ),
    ]
    block = wire_for(chat_req(messages=messages))["messages"][2]["content"][0]
    assert block == {
        "type": "tool_result",
        "tool_use_id": "c1",
        "content": [
            {"type": "text", "text": "img:"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}},
        ],
        "cache_control": {"type": "ephemeral", "ttl": "1h"},
    }


def test_extras_metadata_stop_and_stream() -> None:
    extra = {"context_management": {"edits": []}, "service_tier": "auto", "metadata": {"tag": "x"}}
    same = wire_for(anthropic_req(extra=extra, user="u1", stop=["END", "  \n"], stream=True))
    assert same["context_management"] == {"edits": []} and same["service_tier"] == "auto"
    assert same["metadata"] == {"tag": "x", "user_id": "u1"}
    assert same["stop_sequences"] == ["END"] and same["stream"] is True
    other = wire_for(chat_req(extra={"logprobs": True, "n": 2}, user="u1"))
    assert "logprobs" not in other and "n" not in other and other["metadata"] == {"user_id": "u1"}


def test_count_tokens_body_and_answer() -> None:
    req = anthropic_req(
        system=[TextPart("sys")],
        tools=[ToolDef("f")],
        tool_choice=ToolChoice("auto"),
        reasoning=ReasoningConfig(mode="enabled", budget_tokens=2048),
        max_tokens=8000,
        temperature=0.1,
        extra={"context_management": {}},
        stream=True,
    )
    out = count_tokens_body(req)
    assert set(out) == {"model", "system", "messages", "tools", "thinking", "tool_choice"}
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert count_tokens_body(req, "other")["model"] == "other"
    assert json.loads(encode_token_count(1234)) == {"input_tokens": 1234}


def test_provider_plumbing() -> None:
    assert (
        CODEC.upstream_url("https://api.anthropic.com", "m", True) == "https://api.anthropic.com/v1/messages"
    )
    assert CODEC.upstream_url("https://proxy/v1/", "m", False) == "https://proxy/v1/messages"
    assert CODEC.auth_headers("sk") == [("x-api-key", "sk"), ("anthropic-version", "2023-06-01")]
    assert CODEC.auth_headers("") == [("anthropic-version", "2023-06-01")]
    assert CODEC.forwarded_headers == {"anthropic-beta", "anthropic-version"}
    assert CODEC.passthrough_body({"model": "a", "x": 1}, "a") is None
    assert CODEC.passthrough_body({"model": "a", "x": 1}, "b") == {"model": "b", "x": 1}
    assert CODEC.passthrough_filter(anthropic_req()) is None
    assert codec_for(STYLE) is CODEC


# ====================================================================== provider answers


def test_decode_provider_response() -> None:
    raw = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "t", "signature": SIG},
            {"type": "redacted_thinking", "data": "RED"},
            {"type": "text", "text": "hi", "citations": [{"type": "char_location"}]},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
            {"type": "web_search_tool_result", "tool_use_id": "s", "content": []},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 60,
            "cache_creation_input_tokens": 10,
            "cache_read_input_tokens": 30,
            "output_tokens": 20,
            "output_tokens_details": {"thinking_tokens": 5},
        },
    }
    resp = CODEC.decode_response(json.dumps(raw).encode())
    assert resp.id == "msg_01" and resp.model == "claude-sonnet-4-5" and resp.stop_reason == "tool_use"
    assert resp.content == [
        ReasoningPart(text="t", signature=SIG, origin=STYLE),
        ReasoningPart(signature="RED", origin=STYLE, redacted=True),
        TextPart("hi"),
        ToolCallPart("toolu_1", "f", '{"a":1}'),
        OpaquePart(STYLE, {"type": "web_search_tool_result", "tool_use_id": "s", "content": []}),
    ]
    assert resp.usage == Usage(100, 20, 30, 10, 5)
    # and it goes back to an Anthropic client as it came (citations are not carried)
    wire = json.loads(CODEC.encode_response(resp, anthropic_req()))
    content: list[Any] = raw["content"]
    assert wire["content"] == [*content[:2], {"type": "text", "text": "hi"}, *content[3:]]
    assert wire["usage"] == raw["usage"]


@pytest.mark.parametrize(
    ("wire", "canonical"),
    [
        ("end_turn", "end_turn"),
        ("max_tokens", "max_tokens"),
        ("stop_sequence", "stop_sequence"),
        ("tool_use", "tool_use"),
        ("pause_turn", "pause"),
        ("refusal", "refusal"),
        ("model_context_window_exceeded", "max_tokens"),
        ("something_new", "end_turn"),
    ],
)
def test_provider_stop_reasons(wire: str, canonical: str) -> None:
    raw = {"id": "m", "content": [], "stop_reason": wire, "stop_sequence": "S", "usage": {}}
    resp = CODEC.decode_response(json.dumps(raw).encode())
    assert resp.stop_reason == canonical and resp.stop_sequence == "S"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1]",
        b'{"type":"message"}',
        b'{"type":"error","error":{"type":"api_error","message":"x"}}',
    ],
)
def test_broken_provider_answers_are_protocol_errors(raw: bytes) -> None:
    with pytest.raises(UpstreamProtocol):
        CODEC.decode_response(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"r"}',
            ("Overloaded", "overloaded_error"),
        ),
        (b'{"error":"plain"}', ("plain", None)),
        (b'{"message":"gateway said no"}', ("gateway said no", None)),
        (b"<html>502 Bad Gateway</html>", ("<html>502 Bad Gateway</html>", None)),
        (b"", ("empty error body", None)),
    ],
)
def test_decode_error(raw: bytes, expected: tuple[str, str | None]) -> None:
    assert CODEC.decode_error(500, raw) == expected


# ====================================================================== provider streams


def sse(*events: dict[str, Any]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def realistic_stream() -> bytes:
    """What api.anthropic.com sends for a thinking + text + tool_use turn (SDK event shapes)."""
    return sse(
        {
            "type": "message_start",
            "message": {
                "id": "msg_01X",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 60,
                    "cache_creation_input_tokens": 10,
                    "cache_read_input_tokens": 30,
                    "output_tokens": 1,
                },
            },
        },
        {"type": "ping"},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Let me "},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "check."},
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": SIG}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Reading "}},
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "x"}},
        },
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "it."}},
        {"type": "content_block_stop", "index": 1},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "tool_use", "id": "toolu_01", "name": "Read", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": ""},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": '{"file_pa'},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": 'th": "/tmp/h\\u00e9'},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": 'llo.txt"}'},
        },
        {"type": "content_block_stop", "index": 2},
        {"type": "some_future_event", "x": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 42, "output_tokens_details": {"thinking_tokens": 12}},
        },
        {"type": "message_stop"},
    )


def decode_stream(data: bytes, chunk_sizes: random.Random | None = None) -> list[StreamEvent]:
    dec = CODEC.stream_decoder()
    events: list[StreamEvent] = []
    if chunk_sizes is None:
        events.extend(dec.feed(data))
    else:
        i = 0
        while i < len(data):
            n = chunk_sizes.randint(1, 40)
            events.extend(dec.feed(data[i : i + n]))
            i += n
    events.extend(dec.close())
    return events


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_stream_decoder_realistic_sequence(seed: int | None) -> None:
    events = decode_stream(realistic_stream(), random.Random(seed) if seed is not None else None)
    asm = assemble(events)
    assert asm.finished
    resp = asm.response()
    assert resp.id == "msg_01X" and resp.model == "claude-sonnet-4-5" and resp.stop_reason == "tool_use"
    assert resp.content == [
        ReasoningPart(text="Let me check.", signature=SIG, origin=STYLE),
        TextPart("Reading it."),
        ToolCallPart("toolu_01", "Read", '{"file_path": "/tmp/h\\u00e9llo.txt"}'),
    ]
    assert json.loads(resp.content[2].arguments) == {"file_path": "/tmp/héllo.txt"}  # type: ignore[union-attr]
    assert resp.usage == Usage(
        input_tokens=100, output_tokens=42, cache_read_tokens=30, cache_write_tokens=10, reasoning_tokens=12
    )
    start = events[0]
    assert isinstance(start, StreamStart) and start.usage is not None and start.usage.input_tokens == 100
    # one part open at a time, indices counting up from 0
    opened = [e.index for e in events if isinstance(e, PartStart)]
    stopped = [e.index for e in events if isinstance(e, PartStop)]
    assert opened == stopped == [0, 1, 2]


def test_stream_decoder_error_mid_stream() -> None:
    data = realistic_stream().split(b"event: content_block_start")[0] + sse(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    events = decode_stream(data)
    assert events[-1] == StreamError(status=529, message="Overloaded", kind="overloaded_error")
    assert sum(isinstance(e, StreamError) for e in events) == 1


def test_stream_cut_short_is_an_error_unless_the_stop_reason_arrived() -> None:
    full = realistic_stream()
    cut = full.split(b"event: message_delta")[0]
    events = decode_stream(cut)
    assert isinstance(events[-1], StreamError) and events[-1].status == 502
    no_stop_event = full.split(b"event: message_stop")[0]
    assert assemble(decode_stream(no_stop_event)).finished


def test_stream_decoder_opaque_blocks_and_up_front_tool_input() -> None:
    data = sse(
        {
            "type": "message_start",
            "message": {
                "id": "m",
                "model": "x",
                "content": [],
                "usage": {"input_tokens": 5, "output_tokens": 0},
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {
                "type": "server_tool_use",
                "id": "srvtoolu_1",
                "name": "web_search",
                "input": {},
            },
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"query": '},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '"q"}'},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "redacted_thinking", "data": "RED"},
        },
        {"type": "content_block_stop", "index": 2},
        {
            "type": "content_block_start",
            "index": 3,
            "content_block": {"type": "tool_use", "id": "toolu_2", "name": "f", "input": {"a": 1}},
        },
        {"type": "content_block_stop", "index": 3},
        {"type": "message_delta", "delta": {"stop_reason": "pause_turn"}, "usage": {"output_tokens": 3}},
        {"type": "message_stop"},
    )
    resp = assemble(decode_stream(data)).response()
    assert resp.content == [
        OpaquePart(
            STYLE,
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
        ),
        OpaquePart(STYLE, {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}),
        ReasoningPart(signature="RED", origin=STYLE, redacted=True),
        ToolCallPart("toolu_2", "f", '{"a":1}'),
    ]
    assert resp.stop_reason == "pause" and resp.usage == Usage(input_tokens=5, output_tokens=3)


def test_stream_decoder_feed_event_and_noise() -> None:
    dec = CODEC.stream_decoder()
    from app.styles.sse import SSEEvent

    assert dec.feed_event(SSEEvent(event="ping", data="{}", raw=b"")) == []
    assert dec.feed_event(SSEEvent(event=None, data="not json", raw=b"")) == []
    out = dec.feed_event(SSEEvent(event="message_stop", data='{"type":"message_stop"}', raw=b""))
    assert isinstance(out[0], StreamStart) and isinstance(out[-1], Finish)
    assert dec.feed(realistic_stream()) == [] and dec.close() == []


@settings(max_examples=60, deadline=None)
@given(responses(reasoning_origin=STYLE), st.randoms(use_true_random=False))
def test_property_anthropic_stream_round_trip(resp: Response, rnd: random.Random) -> None:
    """Canonical answer -> Anthropic SSE (client encoder) -> provider decoder -> the same answer."""
    data = encode_stream(resp, anthropic_req())
    got = assemble(decode_stream(data, rnd)).response()
    expected = CODEC.decode_response(CODEC.encode_response(resp, anthropic_req()))
    assert [_meaning(p) for p in got.content] == [_meaning(p) for p in expected.content]
    assert (got.stop_reason, got.usage) == (expected.stop_reason, expected.usage)


# ====================================================================== round trips


@settings(max_examples=80, deadline=None)
@given(requests(style=STYLE))
def test_property_request_round_trip_keeps_meaning(req: Request) -> None:
    wire = CODEC.encode_request(req, req.model)
    sdk_valid_request(wire)
    back = decode(msgspec.json.decode(msgspec.json.encode(wire)))
    assert back.system == [p for p in req.system if p.text.strip()]
    assert [t.name for t in back.tools] == [t.name for t in req.tools]
    assert back.stop == [s for s in req.stop if s.strip()]
    assert back.temperature == req.temperature and back.stream == req.stream
    assert back.max_tokens == (req.max_tokens or 4096)
    assert _turns(back.messages) == _turns(req.messages)


def _meaning(part: Any) -> Any:
    """Tool arguments compare as JSON values: their text spelling may change on the way."""
    if isinstance(part, ToolCallPart):
        return ("call", part.id, part.name, json.loads(part.arguments or "{}"))
    return part


def _turns(messages: list[Message]) -> list[tuple[str, list[Any]]]:
    """The conversation as Anthropic sees it: tool messages are user turns, same-role turns
    merge, a turn's tool results come first, whitespace-only text is dropped, the first turn is
    a user turn and a final assistant text loses its trailing whitespace."""
    turns: list[tuple[str, list[Any]]] = []
    for m in messages:
        parts = [_meaning(p) for p in m.content if not (isinstance(p, TextPart) and not p.text.strip())]
        if not parts:
            continue
        role = "user" if m.role == "tool" else m.role
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(parts)
        else:
            turns.append((role, parts))
    if not turns or turns[0][0] != "user":
        turns.insert(0, ("user", [TextPart(START_TEXT)]))
    if turns[-1][0] == "assistant" and isinstance(turns[-1][1][-1], TextPart):
        turns[-1][1][-1] = TextPart(turns[-1][1][-1].text.rstrip())
    return [(role, sorted(parts, key=lambda p: not isinstance(p, ToolResultPart))) for role, parts in turns]


@settings(max_examples=80, deadline=None)
@given(responses(reasoning_origin=STYLE))
def test_property_response_round_trip(resp: Response) -> None:
    back = CODEC.decode_response(CODEC.encode_response(resp, anthropic_req()))
    expected_stop = {"content_filter": "refusal"}.get(resp.stop_reason, resp.stop_reason)
    assert back.stop_reason == expected_stop
    assert back.usage == resp.usage
    assert [_meaning(p) for p in back.content] == [_meaning(p) for p in resp.content]


def test_whitespace_only_text_and_trailing_prefill_whitespace_are_not_sent() -> None:
    messages = [
        Message("user", [TextPart("  \n"), TextPart("q")]),
        Message("assistant", [TextPart(" "), TextPart("The answer is ")]),
    ]
    wire = wire_for(chat_req(messages=messages, system=[TextPart(" "), TextPart("sys")]))
    assert wire["system"] == [{"type": "text", "text": "sys"}]
    assert wire["messages"] == [
        user([{"type": "text", "text": "q"}]),
        assistant([{"type": "text", "text": "The answer is"}]),
    ]


def test_stream_encoder_signature_not_doubled_when_the_gateway_assembles_first() -> None:
    """The gateway feeds each chunk's events to a StreamAssembler before encoding them, and the
    assembler appends SignatureDelta onto the PartStart's part object."""
    events: list[StreamEvent] = [
        StreamStart(id="m", model="x"),
        PartStart(0, ReasoningPart(origin=STYLE)),
        ReasoningDelta(0, "t"),
        SignatureDelta(0, SIG),
        PartStop(0),
        Finish(),
    ]
    assemble(events)  # the same chunk, assembled first
    enc = CODEC.stream_encoder(anthropic_req())
    msg = sdk_accumulate(b"".join(enc.encode(e) for e in events))
    assert msg.content[0].signature == SIG  # type: ignore[union-attr]


def assert_anthropic_accepts(wire: dict[str, Any]) -> None:
    """Anthropic's structural rules the SDK types cannot express."""
    sdk_valid_request(wire)
    turns = [m for m in wire["messages"] if m["role"] != "system"]
    assert turns and turns[0]["role"] == "user"
    pending: set[str] = set()
    for prev, turn in zip([None, *turns], turns, strict=False):
        assert prev is None or prev["role"] != turn["role"], "roles must alternate"
        blocks = turn["content"]
        assert blocks, "no empty turns"
        kinds = [b["type"] for b in blocks]
        for b in blocks:
            if b["type"] == "text":
                assert b["text"].strip(), "no whitespace-only text"
        if turn["role"] == "user":
            results = [b["tool_use_id"] for b in blocks if b["type"] == "tool_result"]
            assert kinds[: len(results)] == ["tool_result"] * len(results), "results first"
            assert set(results) == pending, "results answer exactly the previous turn's calls"
            pending = set()
        else:
            pending = {b["id"] for b in blocks if b["type"] == "tool_use"}
    thinking = wire.get("thinking") or {}
    if thinking.get("type") == "enabled":
        assert 1024 <= thinking["budget_tokens"] < wire["max_tokens"]
        assert "temperature" not in wire and "top_k" not in wire
    names = [t["name"] for t in wire.get("tools", [])]
    assert len(names) == len(set(names))


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["openai-chat", "openai-responses", "google-genai", STYLE]).flatmap(
        lambda s: requests(style=s)
    ),
    st.sampled_from([None, "none", "low", "high"]),
)
def test_property_any_style_encodes_to_a_request_anthropic_accepts(req: Request, effort: Any) -> None:
    if effort is not None:
        req.reasoning = ReasoningConfig(effort=effort)
    assert_anthropic_accepts(CODEC.encode_request(req, "claude-x"))


def test_thinking_check_looks_past_a_trailing_native_system_message() -> None:
    messages = [*gemini_tool_history([]), Message("system", [TextPart("be careful")])]
    wire = wire_for(
        anthropic_req(messages=messages, reasoning=ReasoningConfig(mode="enabled", budget_tokens=2048))
    )
    assert wire["messages"][-1]["role"] == "system"
    assert wire["thinking"] == {"type": "disabled"}


def test_stream_decoder_last_signature_wins_and_comes_before_the_stop() -> None:
    data = sse(
        {
            "type": "message_start",
            "message": {"id": "m", "model": "x", "usage": {"input_tokens": 1, "output_tokens": 0}},
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": "OLD"},
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "t"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": SIG}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
        {"type": "message_stop"},
    )
    events = decode_stream(data)
    sigs = [e for e in events if isinstance(e, SignatureDelta)]
    assert sigs == [SignatureDelta(0, SIG)]
    assert isinstance(events[events.index(sigs[0]) + 1], PartStop)
    assert assemble(events).response().content == [ReasoningPart(text="t", signature=SIG, origin=STYLE)]
