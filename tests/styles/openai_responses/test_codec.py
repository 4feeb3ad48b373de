"""OpenAI Responses codec: wire <-> canonical, both sides, streams, errors.

The SDK's own models (``openai.types.responses``) are the judge of every answer and stream event
the codec produces; the SDK's stream state machine (what ``client.responses.stream()`` runs) must
accept the whole event sequence.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openai._types import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response as SDKResponse
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from app.canonical import (
    CacheControl,
    FilePart,
    Finish,
    ImagePart,
    Message,
    OpaquePart,
    OpaqueTool,
    Part,
    PartStart,
    PartStop,
    ReasoningConfig,
    ReasoningPart,
    Request,
    Response,
    ResponseFormat,
    StreamError,
    StreamEvent,
    StreamStart,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolDef,
    ToolResultPart,
    Usage,
)
from app.errors import BadRequest, RateLimited, UpstreamProtocol
from app.streaming import StreamAssembler, events_from_response
from app.styles import artifacts, codec_for
from app.styles import ids as gateway_ids
from app.styles.base import RequestTarget
from app.styles.openai_chat.codec import CODEC as CHAT
from app.styles.openai_responses.codec import CODEC, requires_responses_provider
from app.styles.sse import SSEParser
from tests.styles.conftest import REAL_NONCE
from tests.styles.strategies import ids, json_args, names, requests, text, usage

pytestmark = pytest.mark.usefixtures("fixed_nonce")

T = RequestTarget()
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)

GRAMMAR = {
    "type": "grammar",
    "syntax": "lark",
    "definition": 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF\n%import common.LF\n',
}
EXEC = {
    "type": "function",
    "name": "exec_command",
    "description": "Runs a command",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {"cmd": {"type": "string"}},
        "required": ["cmd"],
        "additionalProperties": False,
    },
}
APPLY_PATCH = {"type": "custom", "name": "apply_patch", "description": "Edit files.", "format": GRAMMAR}
NAMESPACE = {
    "type": "namespace",
    "name": "multi_agent_v1",
    "description": "Tools for spawning and managing sub-agents.",
    "tools": [
        {"type": "function", "name": "spawn_agent", "strict": False, "parameters": {"type": "object"}},
        {"type": "function", "name": "close_agent", "strict": False, "parameters": {"type": "object"}},
    ],
}
TOOL_SEARCH = {"type": "tool_search", "execution": "client", "parameters": {"type": "object"}}
WEB_SEARCH = {"type": "web_search", "external_web_access": False}


def codex_body(**over: Any) -> dict[str, Any]:
    """The shape Codex CLI 0.169 sends (tests/data/agent_requests/codex_turn2.json), second turn."""
    body: dict[str, Any] = {
        "model": "gpt-5.5",
        "stream": True,
        "input": [
            {
                "type": "message",
                "id": "msg_dev1",
                "role": "developer",
                "content": [{"type": "input_text", "text": "You are Codex."}],
            },
            {
                "type": "message",
                "id": "msg_dev2",
                "role": "developer",
                "content": [
                    {"type": "input_text", "text": "<skills/>"},
                    {"type": "input_text", "text": "<permissions/>"},
                ],
            },
            {
                "type": "message",
                "id": "msg_u1",
                "role": "user",
                "content": [{"type": "input_text", "text": "<environment_context/>"}],
            },
            {
                "type": "message",
                "id": "msg_u2",
                "role": "user",
                "content": [{"type": "input_text", "text": "Create hello.txt"}],
            },
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [{"type": "summary_text", "text": "**Planning** I will write the file."}],
                "content": None,
                "encrypted_content": "gAAAAAB_ENC",
            },
            {
                "type": "custom_tool_call",
                "id": "ctc_1",
                "status": "completed",
                "call_id": "call_p",
                "name": "apply_patch",
                "input": "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch\n",
            },
            {"type": "custom_tool_call_output", "id": "ctco_x", "call_id": "call_p", "output": "Success."},
        ],
        "tools": [EXEC, APPLY_PATCH, NAMESPACE, TOOL_SEARCH, WEB_SEARCH],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"effort": "medium"},
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "session-1",
        "text": {"verbosity": "low"},
        "client_metadata": {"session_id": "session-1", "turn_id": "t1"},
    }
    body.update(over)
    return body


def decode(body: dict[str, Any]) -> Request:
    return CODEC.decode_request(body, T)


def wire(obj: Any) -> dict[str, Any]:
    """Through real JSON, as the edge would."""
    out: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(obj))
    return out


def user(text_: str = "hi") -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text_}]}


def parts_of(req: Request) -> list[list[Part]]:
    return [m.content for m in req.messages]


# ====================================================================== decode_request


def test_decode_codex_request() -> None:
    req = decode(codex_body())
    assert req.model == "gpt-5.5" and req.style == "openai-responses"
    assert [p.text for p in req.system] == ["You are Codex.", "<skills/>", "<permissions/>"]
    assert [m.role for m in req.messages] == ["user", "user", "assistant", "tool"]
    assistant = req.messages[2].content
    assert assistant == [
        ReasoningPart(
            text="**Planning** I will write the file.",
            signature="gAAAAAB_ENC",
            origin="openai-responses",
            item_id="rs_1",
        ),
        ToolCallPart(
            "call_p",
            "apply_patch",
            "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch\n",
            kind="custom",
            item_id="ctc_1",
        ),
    ]
    assert req.messages[3].content == [
        ToolResultPart("call_p", [TextPart("Success.")], name="apply_patch", kind="custom")
    ]
    assert [(t.name, t.kind) for t in req.tools] == [
        ("exec_command", "function"),
        ("apply_patch", "custom"),
        ("multi_agent_v1__spawn_agent", "function"),
        ("multi_agent_v1__close_agent", "function"),
        ("tool_search", "function"),  # Codex's client-run search, as a function for other styles
    ]
    assert req.tools[0].strict is False and req.tools[0].parameters == EXEC["parameters"]
    assert req.tools[1].format == GRAMMAR and req.tools[1].description == "Edit files."
    assert [t.data["type"] for t in req.opaque_tools] == ["namespace", "tool_search", "web_search"]
    assert req.tool_choice == ToolChoice("auto") and req.parallel_tool_calls is True
    assert req.reasoning == ReasoningConfig(effort="medium")
    assert req.stream and req.stream_usage and req.prompt_cache_key == "session-1"
    assert req.extra == {
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "client_metadata": {"session_id": "session-1", "turn_id": "t1"},
        "text": {"verbosity": "low"},
    }
    assert requires_responses_provider(req) is None


def test_input_string_and_instructions() -> None:
    req = decode({"model": "m", "instructions": "Be brief.", "input": "hello"})
    assert req.system == [TextPart("Be brief.")]
    assert req.messages == [Message("user", [TextPart("hello")])]


def test_later_system_messages_stay_in_place() -> None:
    req = decode(
        {
            "model": "m",
            "input": [
                {"role": "system", "content": "first"},
                user(),
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "late"}]},
            ],
        }
    )
    assert req.system == [TextPart("first")]
    assert req.messages[1] == Message("system", [TextPart("late")])


def test_user_content_parts() -> None:
    req = decode(
        {
            "model": "m",
            "input": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "input_text",
                            "text": "look",
                            "prompt_cache_breakpoint": {"mode": "explicit"},
                        },
                        {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"},
                        {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"},
                        {"type": "input_image", "file_id": "file-1", "detail": "high"},
                        {
                            "type": "input_file",
                            "file_data": "data:application/pdf;base64,JVBE",
                            "filename": "a.pdf",
                        },
                        {"type": "input_file", "file_data": "JVBE", "filename": "b.pdf"},
                        {"type": "input_file", "file_url": "https://x/c.pdf"},
                        {"type": "input_file", "file_id": "file-2", "filename": "d.txt"},
                        {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
                    ],
                }
            ],
        }
    )
    assert req.messages[0].content == [
        TextPart("look", cache_control=CacheControl()),
        ImagePart(data="AAAA", media_type="image/png", detail="low"),
        ImagePart(url="https://x/y.png", detail="auto"),
        ImagePart(file_id="file-1", detail="high"),
        FilePart(data="JVBE", media_type="application/pdf", filename="a.pdf"),
        FilePart(data="JVBE", media_type="application/pdf", filename="b.pdf"),
        FilePart(url="https://x/c.pdf"),
        FilePart(file_id="file-2", filename="d.txt"),
        OpaquePart(
            "openai-responses", {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}}
        ),
    ]


def test_assistant_side_items_make_one_turn_and_outputs_one_tool_turn() -> None:
    req = decode(
        {
            "model": "m",
            "input": [
                user(),
                {"type": "reasoning", "id": "rs_a", "summary": [], "encrypted_content": "E"},
                {
                    "type": "message",
                    "role": "assistant",
                    "id": "msg_a",
                    "status": "completed",
                    "phase": "commentary",
                    "content": [{"type": "output_text", "text": "Checking.", "annotations": []}],
                },
                {"type": "function_call", "id": "fc_a", "call_id": "c1", "name": "f", "arguments": '{"x":1}'},
                {"type": "function_call", "call_id": "c2", "name": "f", "arguments": {"x": 2}},
                {"type": "web_search_call", "id": "ws_1", "status": "completed"},
                {"type": "function_call_output", "call_id": "c1", "output": "one"},
                {
                    "type": "function_call_output",
                    "call_id": "c2",
                    "output": [
                        {"type": "input_text", "text": "two"},
                        {"type": "input_image", "image_url": "data:image/png;base64,QQ=="},
                    ],
                },
                {"type": "local_shell_call_output", "id": "lsco", "output": "ok"},
                {"role": "assistant", "content": "Done."},
                {"id": "msg_old"},  # an item_reference may omit its type
            ],
        }
    )
    assert [m.role for m in req.messages] == ["user", "assistant", "tool", "assistant"]
    turn = req.messages[1].content
    assert turn[0] == ReasoningPart(signature="E", origin="openai-responses", item_id="rs_a")
    assert turn[1] == TextPart("Checking.")
    assert turn[2] == ToolCallPart("c1", "f", '{"x":1}', item_id="fc_a")
    assert turn[3] == ToolCallPart("c2", "f", '{"x":2}')
    assert isinstance(turn[4], OpaquePart) and turn[4].data["type"] == "web_search_call"
    tool = req.messages[2].content
    assert tool[0] == ToolResultPart("c1", [TextPart("one")], name="f")
    assert tool[1] == ToolResultPart(
        "c2", [TextPart("two"), ImagePart(data="QQ==", media_type="image/png")], name="f"
    )
    assert isinstance(tool[2], OpaquePart) and tool[2].data["type"] == "local_shell_call_output"
    assert req.messages[3].content == [
        TextPart("Done."),
        OpaquePart("openai-responses", {"type": "item_reference", "id": "msg_old"}),
    ]
    assert requires_responses_provider(req) is not None  # the item_reference


def test_reasoning_items() -> None:
    req = decode(
        {
            "model": "m",
            "input": [
                user(),
                {
                    "type": "reasoning",
                    "id": "rs_b",
                    "summary": [
                        {"type": "summary_text", "text": "one"},
                        {"type": "summary_text", "text": "two"},
                    ],
                    "content": [{"type": "reasoning_text", "text": "raw"}],
                },
                {"type": "reasoning", "id": "", "summary": []},  # nothing at all: skipped
                {"role": "assistant", "content": "x"},
            ],
        }
    )
    assert req.messages[1].content == [
        ReasoningPart(text="one\n\ntwo\n\nraw", origin="openai-responses", item_id="rs_b"),
        TextPart("x"),
    ]


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        (EXEC, ToolDef("exec_command", "Runs a command", EXEC["parameters"], strict=False)),
        ({"type": "function", "name": "g"}, ToolDef("g")),
        (APPLY_PATCH, ToolDef("apply_patch", "Edit files.", kind="custom", format=GRAMMAR)),
        ({"type": "custom", "name": "free"}, ToolDef("free", kind="custom")),
    ],
)
def test_decode_function_and_custom_tools(tool: dict[str, Any], expected: ToolDef) -> None:
    req = decode({"model": "m", "input": "x", "tools": [tool]})
    assert req.tools == [expected] and req.opaque_tools == []


@pytest.mark.parametrize(
    "tool",
    [
        WEB_SEARCH,
        {"type": "tool_search"},  # hosted (server-executed) search
        {"type": "file_search", "vector_store_ids": ["vs"]},
        {"type": "code_interpreter", "container": {"type": "auto"}},
        {"type": "local_shell"},
        {"type": "shell"},
        {"type": "mcp", "server_label": "s", "server_url": "https://m"},
        {"type": "image_generation"},
        {"type": "computer_use_preview", "display_width": 1, "display_height": 1, "environment": "linux"},
        {"type": "apply_patch"},
        {"type": "web_search_preview_2025_03_11"},
    ],
)
def test_built_in_tools_are_opaque(tool: dict[str, Any]) -> None:
    req = decode({"model": "m", "input": "x", "tools": [tool]})
    assert req.tools == [] and req.opaque_tools == [OpaqueTool("openai-responses", tool, index=0)]


def test_built_in_tools_keep_their_place_for_a_responses_provider() -> None:
    """Same style: hosted tools, a namespace and functions reach the provider in the client's
    order (Cline sends web_search and image_generation before its functions)."""
    tools = [
        {"type": "web_search"},
        {"type": "function", "name": "read", "parameters": {"type": "object"}},
        {"type": "image_generation"},
        {"type": "namespace", "name": "mcp__gh", "description": "GitHub",
         "tools": [{"type": "function", "name": "issue", "parameters": {"type": "object"}}]},
        {"type": "function", "name": "write", "parameters": {"type": "object"}},
    ]  # fmt: skip
    req = decode({"model": "m", "input": "x", "tools": tools})
    assert [t.index for t in req.opaque_tools] == [0, 2, 3]
    out = CODEC.encode_request(req, "gpt-5")["tools"]
    assert [t.get("name", t["type"]) for t in out] == [
        "web_search",
        "read",
        "image_generation",
        "mcp__gh",
        "write",
    ]


@pytest.mark.parametrize(
    ("choice", "canonical", "kept"),
    [
        ("auto", ToolChoice("auto"), None),
        ("none", ToolChoice("none"), None),
        ("required", ToolChoice("required"), None),
        ({"type": "function", "name": "f"}, ToolChoice("tool", name="f"), None),
        ({"type": "custom", "name": "apply_patch"}, ToolChoice("tool", name="apply_patch"), None),
        (
            {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "f"}]},
            ToolChoice("required", allowed=["f"]),
            None,
        ),
        (
            {
                "type": "allowed_tools",
                "mode": "auto",
                "tools": [{"type": "function", "name": "f"}, {"type": "web_search"}],
            },
            ToolChoice("auto", allowed=["f"]),
            "raw",
        ),
        ({"type": "web_search_preview"}, ToolChoice("auto"), "raw"),
        ({"type": "mcp", "server_label": "s"}, ToolChoice("auto"), "raw"),
        ({"type": "apply_patch"}, ToolChoice("auto"), "raw"),
    ],
)
def test_decode_tool_choice(choice: Any, canonical: ToolChoice, kept: str | None) -> None:
    req = decode({"model": "m", "input": "x", "tool_choice": choice})
    assert req.tool_choice == canonical
    assert req.extra.get("tool_choice") == (choice if kept else None)


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ({"format": {"type": "text"}}, ResponseFormat("text")),
        ({"format": {"type": "json_object"}}, ResponseFormat("json_object")),
        (
            {
                "format": {
                    "type": "json_schema",
                    "name": "n",
                    "schema": {"type": "object"},
                    "strict": True,
                    "description": "d",
                }
            },
            ResponseFormat("json_schema", {"type": "object"}, "n", True, "d"),
        ),
        ({"verbosity": "low"}, None),
    ],
)
def test_decode_text_format(text: dict[str, Any], fmt: ResponseFormat | None) -> None:
    req = decode({"model": "m", "input": "x", "text": text})
    assert req.response_format == fmt
    assert req.extra.get("text") == ({"verbosity": "low"} if "verbosity" in text else None)


@pytest.mark.parametrize(
    ("reasoning", "cfg", "rest"),
    [
        ({"effort": "high"}, ReasoningConfig(effort="high"), None),
        ({"summary": "auto"}, ReasoningConfig(summary="auto", include_thoughts=True), None),
        ({"generate_summary": "concise"}, ReasoningConfig(summary="concise", include_thoughts=True), None),
        ({"effort": "none"}, ReasoningConfig(mode="disabled", effort="none"), None),
        (
            {"effort": "xhigh", "context": "all_turns"},
            ReasoningConfig(effort="xhigh"),
            {"context": "all_turns"},
        ),
        ({}, ReasoningConfig(), None),
    ],
)
def test_decode_reasoning(reasoning: dict[str, Any], cfg: ReasoningConfig, rest: Any) -> None:
    req = decode({"model": "m", "input": "x", "reasoning": reasoning})
    assert req.reasoning == cfg
    assert req.extra.get("reasoning") == rest


def test_decode_sampling_and_identity_fields() -> None:
    req = decode(
        {
            "model": "m",
            "input": "x",
            "max_output_tokens": 99,
            "temperature": 0.5,
            "top_p": 0.9,
            "safety_identifier": "sid",
            "user": "legacy",
            "metadata": {"k": "v"},
            "truncation": "auto",
            "service_tier": "flex",
            "previous_response_id": "resp_prev",
        }
    )
    assert (req.max_tokens, req.temperature, req.top_p, req.user) == (99, 0.5, 0.9, "sid")
    assert req.extra == {
        "metadata": {"k": "v"},
        "truncation": "auto",
        "service_tier": "flex",
        "previous_response_id": "resp_prev",
    }
    assert decode({"model": "m", "input": "x", "user": "legacy"}).user == "legacy"


def test_target_model_wins() -> None:
    assert CODEC.decode_request({"input": "x"}, RequestTarget(model="routed")).model == "routed"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"input": "x"}, "model: required string is missing"),
        ({"model": "m"}, "input: required field is missing"),
        ({"model": "m", "input": []}, "input: must contain at least one item"),
        ({"model": "m", "input": 5}, "input: expected an array"),
        ({"model": "m", "input": [5]}, "input[0]: expected an object"),
        ({"model": "m", "input": [{"foo": 1}]}, "input[0].type: expected an input item type"),
        ({"model": "m", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"model": "m", "input": [{"type": "function_call", "name": "f"}]}, "input[0].call_id"),
        ({"model": "m", "input": [{"type": "function_call", "call_id": "c"}]}, "input[0].name"),
        (
            {"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": 3}]},
            "input[0].arguments: expected a string",
        ),
        ({"model": "m", "input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_image"}]}]},
            "input[0].content[0]",
        ),
        (
            {
                "model": "m",
                "input": [{"role": "developer", "content": [{"type": "input_image", "file_id": "f"}]}],
            },
            "input[0].content[0].type: expected a text part",
        ),
        ({"model": "m", "input": "x", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"model": "m", "input": "x", "tools": [{"name": "f"}]}, "tools[0].type"),
        ({"model": "m", "input": "x", "tool_choice": "sometimes"}, "tool_choice"),
        ({"model": "m", "input": "x", "reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"model": "m", "input": "x", "reasoning": {"summary": "verbose"}}, "reasoning.summary"),
        ({"model": "m", "input": "x", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"model": "m", "input": "x", "max_output_tokens": 1.5}, "max_output_tokens: expected an integer"),
        ({"model": "m", "input": "x", "instructions": 5}, "instructions: expected a string"),
    ],
)
def test_bad_requests_name_the_path(body: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
        decode(body)


@pytest.mark.parametrize(
    ("body", "needs"),
    [
        ({"model": "m", "input": "x"}, False),
        ({"model": "m", "previous_response_id": "resp_1"}, True),
        ({"model": "m", "input": "x", "conversation": "conv_1"}, True),
        ({"model": "m", "prompt": {"id": "pmpt_1"}}, True),
        ({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}, user()]}, True),
        ({"model": "m", "input": [user(), {"type": "compaction", "encrypted_content": "C"}, user()]}, True),
        ({"model": "m", "input": "x", "previous_response_id": None}, False),
    ],
)
def test_requires_responses_provider(body: dict[str, Any], needs: bool) -> None:
    reason = requires_responses_provider(decode(body))
    assert (reason is not None) == needs
    if needs:
        assert "OpenAI Responses provider" in str(reason)


def test_requires_responses_provider_ignores_other_styles() -> None:
    req = Request("m", [Message("user", [TextPart("x")])], "openai-chat", extra={"previous_response_id": "r"})
    assert requires_responses_provider(req) is None


# ====================================================================== encode_request


def test_same_style_re_encode_keeps_the_clients_fields() -> None:
    body = codex_body(
        tool_choice={"type": "web_search_preview"},
        reasoning={"effort": "high", "summary": "detailed", "context": "all_turns"},
        text={"verbosity": "low", "format": {"type": "json_object"}},
        max_output_tokens=500,
        temperature=0.2,
        top_p=0.5,
        safety_identifier="sid",
    )
    out = CODEC.encode_request(decode(body), "gpt-5.5-2026")
    assert out["model"] == "gpt-5.5-2026"
    assert out["store"] is False and out["include"] == ["reasoning.encrypted_content"]
    assert out["client_metadata"] == body["client_metadata"] and out["prompt_cache_key"] == "session-1"
    assert out["tool_choice"] == {"type": "web_search_preview"}
    assert out["reasoning"] == {"context": "all_turns", "effort": "high", "summary": "detailed"}
    assert out["text"] == {"verbosity": "low", "format": {"type": "json_object"}}
    assert (out["max_output_tokens"], out["temperature"], out["top_p"], out["user"]) == (500, 0.2, 0.5, "sid")
    assert out["stream"] is True and out["parallel_tool_calls"] is True
    assert out["instructions"] == "You are Codex.\n\n<skills/>\n\n<permissions/>"
    # the client's built-in and namespace tools go back whole, not as flattened functions
    assert [t.get("name", t["type"]) for t in out["tools"]] == [
        "exec_command",
        "apply_patch",
        "multi_agent_v1",
        "tool_search",
        "web_search",
    ]
    assert out["tools"][1] == APPLY_PATCH and out["tools"][2] == NAMESPACE
    assert out["input"][-3:] == [
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "**Planning** I will write the file."}],
            "encrypted_content": "gAAAAAB_ENC",
        },
        {
            "type": "custom_tool_call",
            "call_id": "call_p",
            "name": "apply_patch",
            "input": "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch\n",
            "id": "ctc_1",
        },
        {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Success."},
    ]
    # client-made ids of messages and outputs are not sent
    assert out["input"][0] == user("<environment_context/>")


def test_request_from_another_style() -> None:
    req = Request(
        model="claude",
        style="anthropic-messages",
        system=[TextPart("sys", cache_control=CacheControl())],
        messages=[
            Message(
                "user", [TextPart("look", cache_control=CacheControl()), ImagePart(url="https://x/i.png")]
            ),
            Message(
                "assistant",
                [
                    ReasoningPart("plan", signature="SIG", origin="anthropic-messages"),
                    TextPart("ok"),
                    ToolCallPart("toolu_1", "f", '{"a":1}'),
                ],
            ),
            Message("tool", [ToolResultPart("toolu_1", [TextPart("boom")], name="f", is_error=True)]),
            Message("system", [TextPart("late")]),
        ],
        tools=[ToolDef("f", "does f", {"type": "object", "properties": {"a": {"type": "integer"}}})],
        opaque_tools=[
            OpaqueTool("anthropic-messages", {"type": "web_search_20250305", "name": "web_search"})
        ],
        tool_choice=ToolChoice("tool", name="f"),
        parallel_tool_calls=False,
        stream=True,
        max_tokens=1000,
        temperature=0.3,
        top_k=5,
        stop=["END"],
        seed=1,
        reasoning=ReasoningConfig(mode="enabled", budget_tokens=4000, include_thoughts=True),
        response_format=ResponseFormat("json_schema", {"type": "object"}, "out"),
        user="u",
        extra={"context_management": {"edits": []}},
    )
    out = CODEC.encode_request(req, "gpt-5")
    assert out == {
        "model": "gpt-5",
        "instructions": "sys",
        "input": [
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "look"},
                    {"type": "input_image", "detail": "auto", "image_url": "https://x/i.png"},
                ],
            },
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
            {"type": "function_call", "call_id": "toolu_1", "name": "f", "arguments": '{"a":1}'},
            {"type": "function_call_output", "call_id": "toolu_1", "output": "Error: boom"},
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "late"}]},
        ],
        "tools": [
            {
                "type": "function",
                "name": "f",
                "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
                "strict": False,
                "description": "does f",
            }
        ],
        "tool_choice": {"type": "function", "name": "f"},
        "parallel_tool_calls": False,
        "stream": True,
        "max_output_tokens": 1000,
        "temperature": 0.3,
        "user": "u",
        "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}}},
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "include": ["reasoning.encrypted_content"],
    }


@pytest.mark.parametrize(
    ("cfg", "reasoning", "include"),
    [
        (None, None, False),
        (ReasoningConfig(effort="high"), {"effort": "high"}, True),
        (ReasoningConfig(mode="disabled"), None, False),
        (ReasoningConfig(mode="enabled", budget_tokens=20000), {"effort": "high"}, True),
        (ReasoningConfig(mode="adaptive", include_thoughts=True), {"summary": "auto"}, True),
        (ReasoningConfig(effort="low", summary="detailed"), {"effort": "low", "summary": "auto"}, True),
    ],
)
def test_reasoning_for_a_request_of_another_style(
    cfg: ReasoningConfig | None, reasoning: dict[str, Any] | None, include: bool
) -> None:
    req = Request("m", [Message("user", [TextPart("x")])], "google-genai", reasoning=cfg)
    out = CODEC.encode_request(req, "gpt-5")
    assert out.get("reasoning") == reasoning
    assert out["store"] is False
    assert ("include" in out) == include


def _turn(*parts: Part, store: bool | None = False, style: str = "openai-responses") -> list[dict[str, Any]]:
    extra = {} if store is None else {"store": store}
    req = Request(
        "m",
        [Message("user", [TextPart("x")]), Message("assistant", list(parts))],
        style,  # type: ignore[arg-type]
        tools=[ToolDef("f"), ToolDef("apply_patch", kind="custom")],
        extra=extra if style == "openai-responses" else {},
    )
    items: list[dict[str, Any]] = CODEC.encode_request(req, "m")["input"][1:]
    return items


RS = ReasoningPart("why", signature="ENC", origin="openai-responses", item_id="rs_9")
FC = ToolCallPart("call_9", "f", "{}", item_id="fc_9")


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        # OpenAI's own reasoning precedes the call: both keep their ids
        (
            [RS, FC],
            [
                {
                    "type": "reasoning",
                    "id": "rs_9",
                    "summary": [{"type": "summary_text", "text": "why"}],
                    "encrypted_content": "ENC",
                },
                {"type": "function_call", "call_id": "call_9", "name": "f", "arguments": "{}", "id": "fc_9"},
            ],
        ),
        # no reasoning item: OpenAI would refuse the fc id
        ([FC], [{"type": "function_call", "call_id": "call_9", "name": "f", "arguments": "{}"}]),
        # another provider's reasoning is dropped, and the call loses its id with it
        (
            [ReasoningPart("why", signature="S", origin="anthropic-messages"), FC],
            [{"type": "function_call", "call_id": "call_9", "name": "f", "arguments": "{}"}],
        ),
        # with store:false a reasoning item without encrypted content cannot be resolved
        (
            [ReasoningPart("why", origin="openai-responses", item_id="rs_9"), FC],
            [{"type": "function_call", "call_id": "call_9", "name": "f", "arguments": "{}"}],
        ),
        # reasoning that led to nothing is refused by OpenAI ("without its required following item")
        (
            [TextPart("a"), RS],
            [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a"}]}],
        ),
        # a declared custom tool goes back as a custom_tool_call, its input unwrapped
        (
            [ToolCallPart("c", "apply_patch", '{"input": "*** Begin Patch"}')],
            [{"type": "custom_tool_call", "call_id": "c", "name": "apply_patch", "input": "*** Begin Patch"}],
        ),
        # an undeclared custom call becomes a function call taking {"input": ...}
        (
            [ToolCallPart("c", "g", "raw text", kind="custom")],
            [{"type": "function_call", "call_id": "c", "name": "g", "arguments": '{"input":"raw text"}'}],
        ),
        # foreign opaque blocks have no input form
        (
            [OpaquePart("anthropic-messages", {"type": "server_tool_use"}), TextPart("b")],
            [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "b"}]}],
        ),
    ],
)
def test_assistant_item_ids_and_reasoning(parts: list[Part], expected: list[dict[str, Any]]) -> None:
    assert _turn(*parts) == expected


def test_stored_reasoning_without_encrypted_content_goes_by_id_when_the_client_stores() -> None:
    items = _turn(ReasoningPart("why", origin="openai-responses", item_id="rs_9"), FC, store=None)
    assert items[0] == {
        "type": "reasoning",
        "id": "rs_9",
        "summary": [{"type": "summary_text", "text": "why"}],
    }
    assert items[1]["id"] == "fc_9"


def test_tool_outputs_pair_with_the_kind_of_their_call() -> None:
    req = Request(
        "m",
        [
            Message("user", [TextPart("x")]),
            Message(
                "assistant",
                [ToolCallPart("c1", "apply_patch", "patch", kind="custom"), ToolCallPart("c2", "f", "{}")],
            ),
            Message(
                "tool",
                [
                    ToolResultPart("c1", [TextPart("ok")], kind="custom"),
                    ToolResultPart("c2", [TextPart("see"), ImagePart(data="QQ==", media_type="image/png")]),
                    TextPart("and a note"),
                ],
            ),
        ],
        "anthropic-messages",
        tools=[ToolDef("apply_patch", kind="custom"), ToolDef("f")],
    )
    items = CODEC.encode_request(req, "m")["input"]
    assert items[3] == {"type": "custom_tool_call_output", "call_id": "c1", "output": "ok"}
    assert items[4] == {
        "type": "function_call_output",
        "call_id": "c2",
        "output": [
            {"type": "input_text", "text": "see"},
            {"type": "input_image", "detail": "auto", "image_url": "data:image/png;base64,QQ=="},
        ],
    }
    assert items[5] == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "and a note"}],
    }


def test_documents_and_breakpoints() -> None:
    parts: list[Part] = [
        TextPart("t", cache_control=CacheControl()),
        FilePart(data="JVBE", media_type="application/pdf"),
        FilePart(url="https://x/a.pdf", filename="a.pdf"),
        FilePart(file_id="file-1"),
        ImagePart(file_id="file-2", detail="high"),
    ]
    same = Request("m", [Message("user", parts)], "openai-responses")
    content = CODEC.encode_request(same, "m")["input"][0]["content"]
    assert content == [
        {"type": "input_text", "text": "t", "prompt_cache_breakpoint": {"mode": "explicit"}},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "document.pdf"},
        {"type": "input_file", "file_url": "https://x/a.pdf", "filename": "a.pdf"},
        {"type": "input_file", "file_id": "file-1"},
        {"type": "input_image", "detail": "high", "file_id": "file-2"},
    ]
    # another style's cache breakpoints are Anthropic's business, not a Responses field
    other = Request("m", [Message("user", parts)], "anthropic-messages")
    assert "prompt_cache_breakpoint" not in CODEC.encode_request(other, "m")["input"][0]["content"][0]


def test_foreign_opaque_content_is_refused_not_dropped() -> None:
    req = Request(
        "m",
        [Message("user", [OpaquePart("anthropic-messages", {"type": "search_result"})])],
        "anthropic-messages",
    )
    with pytest.raises(BadRequest, match="search_result"):
        CODEC.encode_request(req, "m")


def test_namespace_calls_go_back_into_their_namespace() -> None:
    body = codex_body(
        input=[
            user(),
            {"type": "reasoning", "id": "rs_n", "summary": [], "encrypted_content": "E"},
            {
                "type": "function_call",
                "id": "fc_n",
                "call_id": "c",
                "name": "spawn_agent",
                "namespace": "multi_agent_v1",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "c", "output": "spawned"},
        ]
    )
    req = decode(body)
    call = req.messages[1].content[1]
    assert isinstance(call, ToolCallPart) and call.name == "multi_agent_v1__spawn_agent"
    assert CODEC.encode_request(req, "m")["input"][2] == {
        "type": "function_call",
        "call_id": "c",
        "name": "spawn_agent",
        "arguments": "{}",
        "namespace": "multi_agent_v1",
        "id": "fc_n",
    }
    # a Chat provider sees the namespace members as flat functions
    chat = CHAT.encode_request(req, "m")
    assert "multi_agent_v1__spawn_agent" in [t["function"]["name"] for t in chat["tools"]]
    assert chat["messages"][-2]["tool_calls"][0]["function"]["name"] == "multi_agent_v1__spawn_agent"


def test_tool_choice_and_no_tools() -> None:
    base = Request("m", [Message("user", [TextPart("x")])], "openai-chat", tools=[ToolDef("f")])
    for tc, expected in [
        (ToolChoice("auto"), "auto"),
        (ToolChoice("none"), "none"),
        (ToolChoice("required"), "required"),
        (ToolChoice("tool", name="f"), {"type": "function", "name": "f"}),
        (
            ToolChoice("required", allowed=["f"]),
            {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "f"}]},
        ),
    ]:
        base.tool_choice = tc
        assert CODEC.encode_request(base, "m")["tool_choice"] == expected
    base.tool_choice = ToolChoice("tool", name="p")
    base.tools = [ToolDef("p", kind="custom")]
    assert CODEC.encode_request(base, "m")["tool_choice"] == {"type": "custom", "name": "p"}
    base.tools = []
    assert "tool_choice" not in CODEC.encode_request(base, "m")


def test_passthrough_body_only_changes_model() -> None:
    body = codex_body()
    assert CODEC.passthrough_body(body, "gpt-5.5") is None
    changed = CODEC.passthrough_body(body, "gpt-5.5-mini")
    assert changed == {**body, "model": "gpt-5.5-mini"}
    assert body["model"] == "gpt-5.5"
    assert CODEC.passthrough_filter(decode(body)) is None


def test_provider_plumbing() -> None:
    assert (
        CODEC.upstream_url("https://api.openai.com/v1/", "m", True) == "https://api.openai.com/v1/responses"
    )
    assert CODEC.auth_headers("sk-1") == [("authorization", "Bearer sk-1")]
    assert CODEC.auth_headers("") == []
    assert {"session_id", "originator", "x-codex-turn-metadata"} <= CODEC.forwarded_headers
    assert (
        not {"authorization", "x-api-key", "openai-organization", "chatgpt-account-id"}
        & CODEC.forwarded_headers
    )


# ====================================================================== decode_response


OPENAI_ANSWER: dict[str, Any] = {
    "id": "resp_abc",
    "object": "response",
    "created_at": 1700000000,
    "status": "completed",
    "model": "gpt-5.5-2026",
    "output": [
        {
            "id": "rs_abc",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "Plan."}],
            "encrypted_content": "ENC",
        },
        {
            "id": "msg_abc",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Writing.", "annotations": []}],
        },
        {
            "id": "fc_abc",
            "type": "function_call",
            "call_id": "call_1",
            "name": "exec_command",
            "arguments": '{"cmd":"ls"}',
            "status": "completed",
        },
        {
            "id": "fc_ns",
            "type": "function_call",
            "call_id": "call_2",
            "name": "spawn_agent",
            "namespace": "multi_agent_v1",
            "arguments": "{}",
            "status": "completed",
        },
        {
            "id": "ctc_abc",
            "type": "custom_tool_call",
            "call_id": "call_3",
            "name": "apply_patch",
            "input": "PATCH",
        },
        {
            "id": "ws_1",
            "type": "web_search_call",
            "status": "completed",
            "action": {"type": "search", "query": "q"},
        },
    ],
    "usage": {
        "input_tokens": 1000,
        "input_tokens_details": {"cached_tokens": 800, "cache_write_tokens": 10},
        "output_tokens": 50,
        "output_tokens_details": {"reasoning_tokens": 20},
        "total_tokens": 1050,
    },
}


def test_decode_provider_response() -> None:
    resp = CODEC.decode_response(msgspec.json.encode(OPENAI_ANSWER))
    assert (resp.id, resp.model, resp.created, resp.stop_reason) == (
        "resp_abc",
        "gpt-5.5-2026",
        1700000000,
        "tool_use",
    )
    assert resp.content == [
        ReasoningPart("Plan.", signature="ENC", origin="openai-responses", item_id="rs_abc"),
        TextPart("Writing."),
        ToolCallPart("call_1", "exec_command", '{"cmd":"ls"}', item_id="fc_abc"),
        ToolCallPart("call_2", "multi_agent_v1__spawn_agent", "{}", item_id="fc_ns"),
        ToolCallPart("call_3", "apply_patch", "PATCH", kind="custom", item_id="ctc_abc"),
        OpaquePart("openai-responses", OPENAI_ANSWER["output"][5]),
    ]
    assert resp.usage == Usage(1000, 50, 800, 10, 20)


@pytest.mark.parametrize(
    ("status", "details", "content", "stop"),
    [
        ("completed", None, "text", "end_turn"),
        ("incomplete", {"reason": "max_output_tokens"}, "text", "max_tokens"),
        ("incomplete", {"reason": "content_filter"}, "text", "content_filter"),
        ("incomplete", None, "text", "max_tokens"),
        ("completed", None, "refusal", "refusal"),
    ],
)
def test_stop_reasons(status: str, details: Any, content: str, stop: str) -> None:
    part = {"type": "output_text", "text": "no", "annotations": []}
    if content == "refusal":
        part = {"type": "refusal", "refusal": "no"}
    body = {
        "id": "resp_1",
        "status": status,
        "incomplete_details": details,
        "model": "m",
        "output": [
            {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed", "content": [part]}
        ],
    }
    resp = CODEC.decode_response(msgspec.json.encode(body))
    assert resp.stop_reason == stop and resp.text() == "no"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1]",
        b'{"id": "resp_1"}',
        b'{"error": {"message": "bad"}}',
        b'{"id": "resp_1", "status": "failed", "output": [], "error": {"code": "server_error", "message": "x"}}',
    ],
)
def test_broken_provider_answers_are_protocol_errors(body: bytes) -> None:
    with pytest.raises(UpstreamProtocol):
        CODEC.decode_response(body)


def test_decode_is_lenient_with_missing_optional_fields() -> None:
    body = {"output": [{"type": "function_call", "call_id": "c", "name": "f"}, "junk", {"type": "message"}]}
    resp = CODEC.decode_response(msgspec.json.encode(body))
    assert resp.content == [ToolCallPart("c", "f", "")] and resp.stop_reason == "tool_use"
    assert resp.usage == Usage()


# ====================================================================== encode_response


def codex_request(**over: Any) -> Request:
    return decode(codex_body(**over))


def test_encode_response_for_codex_from_another_style() -> None:
    req = codex_request()
    resp = Response(
        id="msg_01XYZ",
        model="claude-sonnet",
        content=[
            ReasoningPart("thinking", signature="SIG", origin="anthropic-messages"),
            TextPart("Patching."),
            ToolCallPart("toolu_1", "apply_patch", '{"input": "*** Begin Patch\\n*** End Patch\\n"}'),
            ToolCallPart("toolu_2", "multi_agent_v1__spawn_agent", ""),
            ToolCallPart("toolu_3", "exec_command", '{"cmd":"ls"}'),
            OpaquePart("anthropic-messages", {"type": "server_tool_use"}),
        ],
        stop_reason="tool_use",
        usage=Usage(100, 20, 30, 5, 7),
        created=1700000000,
    )
    body = json.loads(CODEC.encode_response(resp, req))
    SDKResponse.model_validate(body)
    assert body["id"] == "resp_msg_01XYZ_n0nce0000000" and body["object"] == "response"
    assert (body["status"], body["incomplete_details"], body["model"]) == ("completed", None, "claude-sonnet")
    out = body["output"]
    assert [o["type"] for o in out] == [
        "reasoning",
        "message",
        "custom_tool_call",
        "function_call",
        "function_call",
    ]
    assert [o["id"] for o in out] == [
        "rs_msg_01XYZ_n0nce0000000_0",
        "msg_msg_01XYZ_n0nce0000000_1",
        "ctc_msg_01XYZ_n0nce0000000_2",
        "fc_msg_01XYZ_n0nce0000000_3",
        "fc_msg_01XYZ_n0nce0000000_4",
    ]
    token = out[0]["encrypted_content"]
    assert artifacts.is_wrapped(token) and out[0]["summary"] == [{"type": "summary_text", "text": "thinking"}]
    assert out[1]["content"] == [
        {"type": "output_text", "text": "Patching.", "annotations": [], "logprobs": []}
    ]
    assert out[2] == {
        "id": "ctc_msg_01XYZ_n0nce0000000_2",
        "type": "custom_tool_call",
        "call_id": "toolu_1",
        "name": "apply_patch",
        "input": "*** Begin Patch\n*** End Patch\n",
    }
    assert out[3]["name"] == "spawn_agent" and out[3]["namespace"] == "multi_agent_v1"
    assert out[3]["arguments"] == "{}"
    assert body["usage"] == {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 5},
        "output_tokens": 20,
        "output_tokens_details": {"reasoning_tokens": 7},
        "total_tokens": 120,
    }
    # the request's parameters are echoed
    assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is True
    assert body["store"] is False and body["text"] == {"verbosity": "low", "format": {"type": "text"}}
    assert body["reasoning"] == {"effort": "medium", "summary": None}
    assert body["prompt_cache_key"] == "session-1"
    assert [t.get("name", t["type"]) for t in body["tools"]] == [
        "exec_command",
        "apply_patch",
        "multi_agent_v1",
        "tool_search",
        "web_search",
    ]
    # deterministic: the same answer gets the same ids
    assert json.loads(CODEC.encode_response(resp, req))["output"] == out


def test_native_items_keep_their_ids_and_content() -> None:
    req = codex_request()
    resp = CODEC.decode_response(msgspec.json.encode(OPENAI_ANSWER))
    body = json.loads(CODEC.encode_response(resp, req))
    SDKResponse.model_validate(body)
    assert body["id"] == "resp_abc"
    out = body["output"]
    assert [o["id"] for o in out] == ["rs_abc", "msg_abc_1", "fc_abc", "fc_ns", "ctc_abc", "ws_1"]
    assert out[0]["encrypted_content"] == "ENC"  # native: not wrapped
    assert out[3]["namespace"] == "multi_agent_v1" and out[3]["name"] == "spawn_agent"
    assert out[5] == OPENAI_ANSWER["output"][5]


@pytest.mark.parametrize(
    ("stop", "status", "reason"),
    [
        ("end_turn", "completed", None),
        ("tool_use", "completed", None),
        ("stop_sequence", "completed", None),
        ("refusal", "completed", None),
        ("max_tokens", "incomplete", "max_output_tokens"),
        ("content_filter", "incomplete", "content_filter"),
    ],
)
def test_encode_stop_reasons(stop: str, status: str, reason: str | None) -> None:
    resp = Response("r1", "m", [TextPart("partial")], stop_reason=stop)  # type: ignore[arg-type]
    body = json.loads(CODEC.encode_response(resp, decode({"model": "m", "input": "x"})))
    SDKResponse.model_validate(body)
    assert body["status"] == status
    assert body["incomplete_details"] == ({"reason": reason} if reason else None)


def test_encode_response_images_and_foreign_parts() -> None:
    resp = Response(
        "",
        "gemini",
        [
            ImagePart(data="iVBO", media_type="image/png"),
            ImagePart(url="https://x"),  # no inline data: nothing to show
            ToolResultPart("c", []),
        ],
    )
    body = json.loads(CODEC.encode_response(resp, decode({"model": "m", "input": "x"})))
    SDKResponse.model_validate(body)
    assert body["id"].startswith("resp_") and len(body["id"]) > 10
    assert body["output"] == [
        {
            "id": body["id"].replace("resp_", "item_") + "_0",
            "type": "image_generation_call",
            "status": "completed",
            "result": "iVBO",
            "output_format": "png",
        }
    ]


def test_reasoning_artifacts_round_trip_through_a_responses_client() -> None:
    for original in [
        ReasoningPart("visible", signature="SIG", origin="anthropic-messages"),
        ReasoningPart("", signature="REDACTED", origin="anthropic-messages", redacted=True),
        ReasoningPart("", signature="c2ln", origin="google-genai"),
        ReasoningPart("deepseek thoughts", origin="openai-chat"),
    ]:
        resp = Response(
            "r", "m", [original, ToolCallPart("c1", "exec_command", "{}")], stop_reason="tool_use"
        )
        item = json.loads(CODEC.encode_response(resp, codex_request()))["output"][0]
        # Codex echoes the item with content: null
        back = decode(
            {
                "model": "m",
                "input": [
                    user(),
                    {**item, "content": None},
                    {"type": "function_call_output", "call_id": "c1", "output": "x"},
                ],
            }
        )
        restored = back.messages[1].content[0]
        assert restored == original


# ====================================================================== stream encoding


def sse_events(data: bytes) -> list[dict[str, Any]]:
    """Every event, checked against the SDK's event models and the event: line."""
    out = []
    for ev in SSEParser().feed(data):
        parsed = EVENTS.validate_json(ev.data)
        assert ev.event == parsed.type
        out.append(json.loads(ev.data))
    seqs = [e["sequence_number"] for e in out]
    assert seqs == list(range(len(seqs)))
    return out


def sdk_stream_final(data: bytes, tools: list[dict[str, Any]]) -> Any:
    """What ``client.responses.stream()`` makes of these bytes (its strict state machine)."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=tools, text_format=omit)  # type: ignore[arg-type]
    final = None
    for ev in SSEParser().feed(data):
        for out in state.handle_event(EVENTS.validate_json(ev.data)):
            if out.type in ("response.completed", "response.incomplete", "response.failed"):
                final = out.response
    return final


def encode_stream(resp: Response, req: Request) -> bytes:
    enc = CODEC.stream_encoder(req)
    return b"".join(enc.encode(ev) for ev in events_from_response(resp))


MIXED = Response(
    id="chatcmpl-7",
    model="claude",
    content=[
        ReasoningPart("I should patch", signature="SIG", origin="anthropic-messages"),
        TextPart("Patching now."),
        ToolCallPart("toolu_a", "apply_patch", '{"input": "*** Begin Patch\\n*** End Patch\\n"}'),
        ToolCallPart("toolu_b", "exec_command", '{"cmd": "ls"}'),
        ToolCallPart("toolu_c", "multi_agent_v1__close_agent", ""),
    ],
    stop_reason="tool_use",
    usage=Usage(500, 40, 100, 0, 12),
    created=1700000001,
)


def test_stream_event_sequence_is_what_the_sdk_expects() -> None:
    req = codex_request()
    data = encode_stream(MIXED, req)
    events = sse_events(data)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert artifacts.is_wrapped(done[0]["encrypted_content"])
    assert done[2]["input"] == "*** Begin Patch\n*** End Patch\n"
    assert done[4]["arguments"] == "{}" and done[4]["namespace"] == "multi_agent_v1"
    final = events[-1]["response"]
    assert final["output"] == done
    assert (
        final["usage"]["input_tokens"] == 500
        and final["usage"]["output_tokens_details"]["reasoning_tokens"] == 12
    )
    # the completed response is exactly the non-streamed answer
    assert final == json.loads(CODEC.encode_response(MIXED, req))
    parsed = sdk_stream_final(data, codex_body()["tools"])
    assert parsed is not None and [o.type for o in parsed.output][:3] == [
        "reasoning",
        "message",
        "custom_tool_call",
    ]
    assert parsed.output_text == "Patching now."


def test_stream_incomplete_and_errors() -> None:
    req = decode({"model": "m", "input": "x", "stream": True})
    cut = Response("r", "m", [TextPart("par")], stop_reason="max_tokens")
    events = sse_events(encode_stream(cut, req))
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert sdk_stream_final(encode_stream(cut, req), []).status == "incomplete"

    enc = CODEC.stream_encoder(req)
    data = enc.encode(StreamStart("r", "m")) + enc.encode(PartStart(0, TextPart("")))
    data += enc.encode(StreamError(429, "slow down", "rate_limit_error"))
    data += enc.encode(Finish())  # nothing after a failure
    events = sse_events(data)
    assert [e["type"] for e in events][-2:] == ["error", "response.failed"]
    assert events[-2]["code"] == "rate_limit_exceeded" and events[-2]["message"] == "slow down"
    assert events[-1]["response"]["error"] == {"code": "rate_limit_exceeded", "message": "slow down"}


def test_stream_encoder_skips_parts_a_responses_client_cannot_show() -> None:
    req = decode({"model": "m", "input": "x", "stream": True})
    resp = Response(
        "r",
        "m",
        [
            OpaquePart("google-genai", {"executableCode": {}}),
            TextPart("a"),
            OpaquePart(
                "openai-responses",
                {
                    "type": "web_search_call",
                    "id": "ws",
                    "status": "completed",
                    "action": {"type": "search", "query": "q"},
                },
            ),
        ],
    )
    events = sse_events(encode_stream(resp, req))
    added = [e for e in events if e["type"] == "response.output_item.added"]
    assert [(e["output_index"], e["item"]["type"]) for e in added] == [(0, "message"), (1, "web_search_call")]
    assert events[-1]["response"]["output"] == json.loads(CODEC.encode_response(resp, req))["output"]


def test_stream_round_trips_through_our_decoder() -> None:
    req = codex_request()
    data = encode_stream(MIXED, req)
    asm = StreamAssembler()
    dec = CODEC.stream_decoder()
    for chunk in [data[i : i + 7] for i in range(0, len(data), 7)]:
        for ev in dec.feed(chunk):
            asm.add(ev)
    for ev in dec.close():
        asm.add(ev)
    assert asm.finished
    got = asm.response()
    assert got == CODEC.decode_response(CODEC.encode_response(MIXED, req))
    assert got.stop_reason == "tool_use" and got.usage == MIXED.usage
    # what the upstream's reasoning became on the client side comes back as the original
    reasoning = got.content[0]
    assert isinstance(reasoning, ReasoningPart)
    assert artifacts.unwrap(reasoning.signature or "", reasoning.text) == MIXED.content[0]


# ====================================================================== stream decoding


def openai_sse(*events: dict[str, Any]) -> bytes:
    out = b""
    for i, ev in enumerate(events):
        body = {**ev, "sequence_number": i}
        out += b"event: " + ev["type"].encode() + b"\ndata: " + json.dumps(body).encode() + b"\n\n"
    return out


def openai_stream_events() -> list[dict[str, Any]]:
    """A stream as api.openai.com sends it for OPENAI_ANSWER."""
    base = {k: v for k, v in OPENAI_ANSWER.items() if k not in ("output", "usage")}
    rs, msg, fc, ns, ctc, ws = OPENAI_ANSWER["output"]
    return [
        {"type": "response.created", "response": {**base, "status": "in_progress", "output": []}},
        {"type": "response.in_progress", "response": {**base, "status": "in_progress", "output": []}},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"id": "rs_abc", "type": "reasoning", "summary": []},
        },
        {
            "type": "response.reasoning_summary_part.added",
            "item_id": "rs_abc",
            "output_index": 0,
            "summary_index": 0,
            "part": {"type": "summary_text", "text": ""},
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "item_id": "rs_abc",
            "output_index": 0,
            "summary_index": 0,
            "delta": "Pl",
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "item_id": "rs_abc",
            "output_index": 0,
            "summary_index": 0,
            "delta": "an.",
        },
        {
            "type": "response.reasoning_summary_text.done",
            "item_id": "rs_abc",
            "output_index": 0,
            "summary_index": 0,
            "text": "Plan.",
        },
        {
            "type": "response.reasoning_summary_part.done",
            "item_id": "rs_abc",
            "output_index": 0,
            "summary_index": 0,
            "part": {"type": "summary_text", "text": "Plan."},
        },
        {"type": "response.output_item.done", "output_index": 0, "item": rs},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {**msg, "status": "in_progress", "content": []},
        },
        {
            "type": "response.content_part.added",
            "item_id": "msg_abc",
            "output_index": 1,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
        {
            "type": "response.output_text.delta",
            "item_id": "msg_abc",
            "output_index": 1,
            "content_index": 0,
            "delta": "Writ",
            "logprobs": [],
        },
        {
            "type": "response.output_text.delta",
            "item_id": "msg_abc",
            "output_index": 1,
            "content_index": 0,
            "delta": "ing.",
            "logprobs": [],
        },
        {
            "type": "response.output_text.done",
            "item_id": "msg_abc",
            "output_index": 1,
            "content_index": 0,
            "text": "Writing.",
            "logprobs": [],
        },
        {
            "type": "response.content_part.done",
            "item_id": "msg_abc",
            "output_index": 1,
            "content_index": 0,
            "part": msg["content"][0],
        },
        {"type": "response.output_item.done", "output_index": 1, "item": msg},
        {
            "type": "response.output_item.added",
            "output_index": 2,
            "item": {**fc, "arguments": "", "status": "in_progress"},
        },
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "fc_abc",
            "output_index": 2,
            "delta": '{"cmd":',
        },
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "fc_abc",
            "output_index": 2,
            "delta": '"ls"}',
        },
        {
            "type": "response.function_call_arguments.done",
            "item_id": "fc_abc",
            "output_index": 2,
            "arguments": '{"cmd":"ls"}',
        },
        {"type": "response.output_item.done", "output_index": 2, "item": fc},
        {
            "type": "response.output_item.added",
            "output_index": 3,
            "item": {**ns, "arguments": "", "status": "in_progress"},
        },
        {
            "type": "response.function_call_arguments.done",
            "item_id": "fc_ns",
            "output_index": 3,
            "arguments": "{}",
        },
        {"type": "response.output_item.done", "output_index": 3, "item": ns},
        {"type": "response.output_item.added", "output_index": 4, "item": {**ctc, "input": ""}},
        {
            "type": "response.custom_tool_call_input.delta",
            "item_id": "ctc_abc",
            "output_index": 4,
            "delta": "PAT",
        },
        {
            "type": "response.custom_tool_call_input.delta",
            "item_id": "ctc_abc",
            "output_index": 4,
            "delta": "CH",
        },
        {
            "type": "response.custom_tool_call_input.done",
            "item_id": "ctc_abc",
            "output_index": 4,
            "input": "PATCH",
        },
        {"type": "response.output_item.done", "output_index": 4, "item": ctc},
        {"type": "response.output_item.added", "output_index": 5, "item": {**ws, "status": "in_progress"}},
        {"type": "response.web_search_call.completed", "item_id": "ws_1", "output_index": 5},
        {"type": "response.output_item.done", "output_index": 5, "item": ws},
        {"type": "response.completed", "response": OPENAI_ANSWER},
    ]


def decode_stream(data: bytes, step: int = 0) -> list[StreamEvent]:
    dec = CODEC.stream_decoder()
    chunks = [data] if not step else [data[i : i + step] for i in range(0, len(data), step)]
    out: list[StreamEvent] = []
    for c in chunks:
        out.extend(dec.feed(c))
    return out + dec.close()


def assemble(events: list[StreamEvent]) -> Response:
    check_invariants(events)
    asm = StreamAssembler()
    for ev in events:
        asm.add(ev)
    assert asm.finished
    return asm.response()


def check_invariants(events: list[StreamEvent]) -> None:
    """StreamStart first, one part open at a time, indices counting up, Finish or error last."""
    assert isinstance(events[0], StreamStart)
    open_index: int | None = None
    next_index = 0
    for ev in events[1:-1]:
        if isinstance(ev, PartStart):
            assert open_index is None and ev.index == next_index
            open_index, next_index = ev.index, next_index + 1
        elif isinstance(ev, PartStop):
            assert ev.index == open_index
            open_index = None
        else:
            assert getattr(ev, "index", open_index) == open_index
    assert open_index is None
    assert isinstance(events[-1], Finish | StreamError)


def test_decode_openai_stream() -> None:
    data = openai_sse(*openai_stream_events())
    expected = CODEC.decode_response(msgspec.json.encode(OPENAI_ANSWER))
    for step in (0, 1, 13):
        events = decode_stream(data, step)
        assert assemble(events) == expected
    sig = [e for e in decode_stream(data) if type(e).__name__ == "SignatureDelta"]
    assert len(sig) == 1 and sig[0].signature == "ENC"  # type: ignore[attr-defined]


def test_decode_stream_buffers_interleaved_items() -> None:
    evs = [
        {
            "type": "response.created",
            "response": {"id": "resp_i", "model": "m", "created_at": 1, "output": []},
        },
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"id": "fc_1", "type": "function_call", "call_id": "c1", "name": "f", "arguments": ""},
        },
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {"id": "fc_2", "type": "function_call", "call_id": "c2", "name": "g", "arguments": ""},
        },
        {
            "type": "response.function_call_arguments.delta",
            "output_index": 1,
            "item_id": "fc_2",
            "delta": '{"b":',
        },
        {
            "type": "response.function_call_arguments.delta",
            "output_index": 0,
            "item_id": "fc_1",
            "delta": '{"a":1}',
        },
        {
            "type": "response.function_call_arguments.delta",
            "output_index": 1,
            "item_id": "fc_2",
            "delta": "2}",
        },
        {
            "type": "response.output_item.done",
            "output_index": 1,
            "item": {
                "id": "fc_2",
                "type": "function_call",
                "call_id": "c2",
                "name": "g",
                "arguments": '{"b":2}',
            },
        },
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {
                "id": "fc_1",
                "type": "function_call",
                "call_id": "c1",
                "name": "f",
                "arguments": '{"a":1}',
            },
        },
        {"type": "response.completed", "response": {"id": "resp_i", "status": "completed", "output": []}},
    ]
    resp = assemble(decode_stream(openai_sse(*evs)))
    assert resp.content == [
        ToolCallPart("c1", "f", '{"a":1}', item_id="fc_1"),
        ToolCallPart("c2", "g", '{"b":2}', item_id="fc_2"),
    ]
    assert resp.stop_reason == "tool_use"


def test_decode_stream_without_deltas_and_multi_part_reasoning() -> None:
    evs = [
        {"type": "response.created", "response": {"id": "resp_d", "model": "m", "output": []}},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"id": "rs_d", "type": "reasoning", "summary": []},
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "output_index": 0,
            "summary_index": 0,
            "delta": "one",
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "output_index": 0,
            "summary_index": 1,
            "delta": "two",
        },
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {
                "id": "rs_d",
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "one"}, {"type": "summary_text", "text": "two"}],
            },
        },
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {"id": "msg_e", "type": "message", "role": "assistant", "content": []},
        },
        {
            "type": "response.output_item.done",
            "output_index": 1,
            "item": {"id": "msg_e", "type": "message", "role": "assistant", "content": []},
        },
        {
            "type": "response.output_item.added",
            "output_index": 2,
            "item": {"id": "msg_d", "type": "message", "role": "assistant", "content": []},
        },
        {
            "type": "response.output_item.done",
            "output_index": 2,
            "item": {
                "id": "msg_d",
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "whole", "annotations": []}],
            },
        },
        {
            "type": "response.incomplete",
            "response": {
                "id": "resp_d",
                "status": "incomplete",
                "incomplete_details": {"reason": "max_output_tokens"},
                "output": [],
                "usage": {"input_tokens": 3, "output_tokens": 4},
            },
        },
    ]
    resp = assemble(decode_stream(openai_sse(*evs)))
    assert resp.content == [
        ReasoningPart("one\n\ntwo", origin="openai-responses", item_id="rs_d"),
        TextPart("whole"),
    ]
    assert resp.stop_reason == "max_tokens" and resp.usage == Usage(3, 4)


def test_decode_stream_with_only_the_final_response() -> None:
    data = openai_sse({"type": "response.completed", "response": OPENAI_ANSWER})
    assert assemble(decode_stream(data)) == CODEC.decode_response(msgspec.json.encode(OPENAI_ANSWER))


@pytest.mark.parametrize(
    ("events", "status", "message"),
    [
        (
            [
                {
                    "type": "response.failed",
                    "response": {
                        "id": "r",
                        "status": "failed",
                        "error": {"code": "server_error", "message": "boom"},
                    },
                }
            ],
            502,
            "boom",
        ),
        ([{"type": "error", "code": "rate_limit_exceeded", "message": "slow", "param": None}], 429, "slow"),
        ([{"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}], 502, "bad"),
    ],
)
def test_decode_stream_failures(events: list[dict[str, Any]], status: int, message: str) -> None:
    start = {"type": "response.created", "response": {"id": "r", "model": "m", "output": []}}
    out = decode_stream(openai_sse(start, *events))
    assert isinstance(out[0], StreamStart)
    err = out[-1]
    assert isinstance(err, StreamError) and (err.status, err.message) == (status, message)
    assert (
        err.kind
        == {429: "rate_limit_error", 502: "invalid_request_error" if message == "bad" else "api_error"}[
            status
        ]
    )
    assert sum(isinstance(e, StreamError) for e in out) == 1


def test_decode_stream_cut_short_is_an_error() -> None:
    data = openai_sse(*openai_stream_events()[:12])
    out = decode_stream(data)
    assert isinstance(out[-1], StreamError) and out[-1].status == 502
    assert decode_stream(b"")[-1] == StreamError(502, "upstream stream ended before the answer was complete")


def test_decode_stream_ignores_noise() -> None:
    evs = openai_stream_events()
    data = b": keep-alive\n\n" + openai_sse(*evs) + b"data: [DONE]\n\n"
    assert assemble(decode_stream(data)) == CODEC.decode_response(msgspec.json.encode(OPENAI_ANSWER))


# ====================================================================== errors and models


def test_error_envelope() -> None:
    status, body = CODEC.encode_error(RateLimited("too many", retry_after=3))
    assert status == 429
    assert json.loads(body) == {
        "error": {
            "message": "too many",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    message, kind = CODEC.decode_error(
        400, b'{"error": {"message": "Invalid input", "type": "invalid_request_error"}}'
    )
    assert (message, kind) == ("Invalid input", "invalid_request_error")
    assert CODEC.decode_error(502, b"<html>bad gateway</html>")[0] == "<html>bad gateway</html>"


def test_models_list() -> None:
    from app.styles.base import ModelInfo

    body = json.loads(CODEC.encode_models([ModelInfo("auto", created=5)]))
    assert body == {
        "object": "list",
        "data": [{"id": "auto", "object": "model", "created": 5, "owned_by": "frugal-gateway"}],
    }


# ====================================================================== across styles


def test_codex_through_a_chat_provider_and_back() -> None:
    """Turn 1 goes to a Chat provider, its answer back to Codex, turn 2 again to the provider."""
    first = codex_request(input=codex_body()["input"][:4])
    chat = CHAT.encode_request(first, "deepseek")
    fn = {t["function"]["name"]: t["function"] for t in chat["tools"]}
    assert fn["apply_patch"]["parameters"]["required"] == ["input"]
    assert "lark" in fn["apply_patch"]["parameters"]["properties"]["input"]["description"]
    assert chat["messages"][0] == {
        "role": "system",
        "content": "You are Codex.\n\n<skills/>\n\n<permissions/>",
    }
    upstream = {
        "id": "chatcmpl-1",
        "model": "deepseek",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "reasoning_content": "Use the patch tool.",
                    "tool_calls": [
                        {
                            "id": "call_x",
                            "type": "function",
                            "function": {
                                "name": "apply_patch",
                                "arguments": json.dumps({"input": "*** Begin Patch\n"}),
                            },
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5},
    }
    answer = CHAT.decode_response(msgspec.json.encode(upstream))
    out = json.loads(CODEC.encode_response(answer, first))["output"]
    assert [o["type"] for o in out] == ["reasoning", "custom_tool_call"]
    assert out[1]["input"] == "*** Begin Patch\n"
    # Codex echoes both items, then its output
    second = codex_request(
        input=[
            *codex_body()["input"][:4],
            {**out[0], "content": None},
            {**out[1], "status": "completed"},
            {"type": "custom_tool_call_output", "call_id": "call_x", "output": "Done!"},
        ]
    )
    chat2 = CHAT.encode_request(second, "deepseek")
    assistant = chat2["messages"][-2]
    assert assistant["reasoning_content"] == "Use the patch tool."  # DeepSeek wants it back
    assert assistant["tool_calls"][0]["function"] == {
        "name": "apply_patch",
        "arguments": json.dumps({"input": "*** Begin Patch\n"}, separators=(",", ":")),
    }
    assert chat2["messages"][-1] == {"role": "tool", "tool_call_id": "call_x", "content": "Done!"}
    # and an OpenAI Responses provider gets no foreign reasoning item and no minted ids
    again = CODEC.encode_request(second, "gpt-5")
    assert again["input"][-2:] == [
        {
            "type": "custom_tool_call",
            "call_id": "call_x",
            "name": "apply_patch",
            "input": "*** Begin Patch\n",
        },
        {"type": "custom_tool_call_output", "call_id": "call_x", "output": "Done!"},
    ]


def test_chat_client_through_a_responses_provider() -> None:
    req = CHAT.decode_request(
        {
            "model": "m",
            "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "reasoning_effort": "low",
            "stream": True,
        },
        T,
    )
    out = CODEC.encode_request(req, "o4-mini")
    assert out["instructions"] == "sys" and out["input"] == [user()]
    assert out["reasoning"] == {"effort": "low"} and out["include"] == ["reasoning.encrypted_content"]
    assert out["store"] is False and out["stream"] is True


# ====================================================================== properties


@st.composite
def responses_answers(draw: Any) -> Response:
    parts: list[Part] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["text", "reasoning", "native", "call", "custom"]))
        if kind == "text":
            parts.append(TextPart(draw(text)))
        elif kind == "reasoning":
            origin = draw(st.sampled_from(["anthropic-messages", "google-genai", "openai-chat"]))
            parts.append(ReasoningPart(draw(text), signature=draw(st.one_of(st.none(), text)), origin=origin))
        elif kind == "native":
            parts.append(
                ReasoningPart(
                    draw(text), signature=draw(text), origin="openai-responses", item_id="rs_" + draw(names)
                )
            )
        elif kind == "call":
            parts.append(ToolCallPart(draw(ids) + str(len(parts)), draw(names), draw(json_args)))
        else:
            parts.append(ToolCallPart(draw(ids) + str(len(parts)), "apply_patch", draw(text), kind="custom"))
    calls = any(isinstance(p, ToolCallPart) for p in parts)
    stop = "tool_use" if calls else draw(st.sampled_from(["end_turn", "max_tokens", "content_filter"]))
    return Response(
        id=draw(st.sampled_from(["", "resp_" + draw(names), "chatcmpl-" + draw(names)])),
        model=draw(names),
        content=parts,
        stop_reason=stop,
        usage=draw(usage),
        created=1700000000,
    )


def _meaning(resp: Response) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for p in resp.content:
        if isinstance(p, ReasoningPart):
            # A native signature may happen to start like a token; like `from_client`, a value
            # that does not unwrap is the provider's own.
            token = artifacts.unwrap(p.signature, p.text) if artifacts.is_wrapped(p.signature) else None
            restored = token or p
            out.append(("reasoning", restored.text, restored.signature, restored.origin))
        elif isinstance(p, ToolCallPart):
            out.append(
                ("call", p.id, p.name, p.arguments if p.kind == "custom" else json.loads(p.arguments or "{}"))
            )
        elif isinstance(p, TextPart):
            out.append(("text", p.text))
    return out


@settings(max_examples=80, deadline=None)
@given(responses_answers())
@example(  # a native signature that starts like a token (found by CI) is still the provider's own
    Response(
        id="",
        model="a",
        content=[ReasoningPart("0", signature="fgw1", origin="openai-responses", item_id="rs_a")],
        stop_reason="end_turn",
        usage=Usage(),
        created=1700000000,
    )
)
def test_property_stream_and_whole_answer_agree(resp: Response) -> None:
    req = codex_request()
    whole_bytes = CODEC.encode_response(resp, req)
    SDKResponse.model_validate_json(whole_bytes)
    whole = CODEC.decode_response(whole_bytes)
    data = encode_stream(resp, req)
    events = sse_events(data)
    assert events[-1]["response"] == json.loads(whole_bytes)
    assert sdk_stream_final(data, codex_body()["tools"]) is not None
    streamed = assemble(decode_stream(data, 11))
    assert streamed == whole
    assert _meaning(whole) == _meaning(resp)
    assert (whole.stop_reason, whole.usage) == (resp.stop_reason, resp.usage)


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
@given(requests(style="openai-responses"))
def test_property_request_round_trip_keeps_meaning(req: Request) -> None:
    again = decode(wire(CODEC.encode_request(req, req.model)))
    assert "\n\n".join(p.text for p in again.system) == "\n\n".join(p.text for p in req.system)
    assert [m.role for m in again.messages] == [m.role for m in req.messages]
    assert _flat(again) == _flat(req)
    assert [(t.name, t.parameters) for t in again.tools] == [(t.name, t.parameters) for t in req.tools]
    assert (again.max_tokens, again.temperature, again.stream) == (
        req.max_tokens,
        req.temperature,
        req.stream,
    )


@settings(max_examples=40, deadline=None)
@given(requests(style="openai-chat"))
def test_property_chat_requests_encode_for_responses(req: Request) -> None:
    out = wire(CODEC.encode_request(req, "gpt-5"))
    again = decode(out)
    assert _flat(again) == _flat(req)
    assert out["store"] is False and "stop" not in out


# ====================================================================== regressions and extensions


def test_stop_is_accepted_for_other_providers_but_never_sent_to_openai() -> None:
    req = decode({"model": "m", "input": "x", "stop": ["END", "STOP"]})
    assert req.stop == ["END", "STOP"] and "stop" not in req.extra
    assert CHAT.encode_request(req, "m")["stop"] == ["END", "STOP"]
    assert "stop" not in CODEC.encode_request(req, "m")
    assert decode({"model": "m", "input": "x", "stop": "END"}).stop == ["END"]


def test_clients_own_tool_fields_survive_only_for_a_responses_provider() -> None:
    deferred = {**EXEC, "defer_loading": True, "output_schema": {"type": "string"}}
    req = decode({"model": "m", "input": "x", "tools": [deferred, {**APPLY_PATCH, "defer_loading": True}]})
    assert req.tools[0].extra == {"defer_loading": True, "output_schema": {"type": "string"}}
    out = CODEC.encode_request(req, "m")["tools"]
    assert out[0] == {**deferred, "description": "Runs a command"} and out[1]["defer_loading"] is True
    req.style = "openai-chat"  # the same tools arriving from another style's client
    assert "defer_loading" not in CODEC.encode_request(req, "m")["tools"][0]


def test_signature_already_filled_in_by_the_assembler_is_not_doubled() -> None:
    """The gateway feeds each event to a StreamAssembler before the encoder; the assembler fills
    SignatureDelta into the PartStart part object the encoder then sees."""
    req = codex_request()
    events = list(events_from_response(MIXED))
    asm = StreamAssembler()
    for ev in events:
        asm.add(ev)  # mutates PartStart(ReasoningPart).signature in place
    enc = CODEC.stream_encoder(req)
    done = [
        e["item"]
        for e in sse_events(b"".join(enc.encode(ev) for ev in events))
        if e["type"] == "response.output_item.done"
    ]
    assert artifacts.unwrap(done[0]["encrypted_content"]) == ReasoningPart(
        "I should patch", signature="SIG", origin="anthropic-messages"
    )


def test_gateway_made_ids_are_unique_per_answer_and_per_item(monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider that repeats its id (or sends none) must not make a client see the same
    response or item id twice (issue 13); native resp_ ids pass unchanged."""
    monkeypatch.setattr(gateway_ids, "nonce", REAL_NONCE)
    req = decode({"model": "m", "input": "x"})
    for upstream in ("", "same-upstream-id"):
        resp = Response(upstream, "m", [TextPart("a"), TextPart("b")], created=5)
        first = json.loads(CODEC.encode_response(resp, req))
        second = json.loads(CODEC.encode_response(resp, req))
        streamed = sse_events(encode_stream(resp, req))[-1]["response"]
        assert len({first["id"], second["id"], streamed["id"]}) == 3
        items = [o["id"] for r in (first, second, streamed) for o in r["output"]]
        assert len(items) == len(set(items)) == 6
    native = Response("resp_abc", "m", [TextPart("a")], created=5)
    assert json.loads(CODEC.encode_response(native, req))["id"] == "resp_abc"


# ------------------------------------------------------------------ Codex's client-run tool_search

SEARCH_TOOL = {
    "type": "tool_search",
    "execution": "client",
    "description": "Search deferred tools.",
    "parameters": {
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "number"}},
        "required": ["query"],
    },
}
LOADED = {
    "type": "namespace",
    "name": "mcp__github",
    "description": "GitHub",
    "tools": [
        {
            "type": "function",
            "name": "create_issue",
            "description": "Open an issue",
            "parameters": {"type": "object"},
        }
    ],
}
SEARCH_HISTORY = [
    {"role": "user", "content": [{"type": "input_text", "text": "open an issue"}]},
    {"type": "tool_search_call", "id": "tsc_1", "call_id": "call_s", "execution": "client",
     "arguments": {"query": "github issue"}, "status": "completed"},
    {"type": "tool_search_output", "call_id": "call_s", "execution": "client", "status": "completed",
     "tools": [LOADED]},
]  # fmt: skip


def search_request(**over: Any) -> Request:
    return decode({"model": "m", "input": SEARCH_HISTORY, "tools": [SEARCH_TOOL], **over})


def test_client_tool_search_is_a_function_for_other_providers() -> None:
    req = search_request()
    search = next(t for t in req.tools if t.name == "tool_search")
    assert search.description == "Search deferred tools." and search.parameters == SEARCH_TOOL["parameters"]
    assert req.messages[1].content == [
        ToolCallPart("call_s", "tool_search", '{"query":"github issue"}', item_id="tsc_1")
    ]
    result = req.messages[2].content[0]
    assert isinstance(result, ToolResultPart) and result.tool_call_id == "call_s"
    assert "mcp__github__create_issue: Open an issue" in result.content[0].text  # type: ignore[union-attr]
    # the loaded tool can now be called by any provider, under its flattened name
    assert "mcp__github__create_issue" in [t.name for t in req.tools]
    for style in ("anthropic-messages", "openai-chat", "google-genai"):
        body = json.dumps(codec_for(style).encode_request(req, "x"))
        assert (
            '"tool_search"' in body and "mcp__github__create_issue" in body and "tool_search_call" not in body
        )


def test_client_tool_search_goes_back_to_a_responses_provider_in_its_own_form() -> None:
    out = CODEC.encode_request(search_request(), "gpt-5")
    assert out["tools"] == [SEARCH_TOOL]  # no stand-in function, no loaded tools duplicated
    assert out["input"][1:] == [
        {"type": "tool_search_call", "call_id": "call_s", "execution": "client",
         "arguments": {"query": "github issue"}, "status": "completed"},
        SEARCH_HISTORY[2],
    ]  # fmt: skip


@pytest.mark.parametrize("stream", [False, True])
def test_a_search_call_from_another_provider_reaches_codex_as_a_tool_search_call(stream: bool) -> None:
    req = search_request()
    resp = Response(
        "chatcmpl-1",
        "claude",
        [
            ToolCallPart("toolu_9", "tool_search", '{"query": "jira"}'),
            ToolCallPart("toolu_8", "mcp__github__create_issue", "{}"),
        ],
        stop_reason="tool_use",
    )
    if stream:
        body = sse_events(encode_stream(resp, req))[-1]["response"]
    else:
        body = json.loads(CODEC.encode_response(resp, req))
    SDKResponse.model_validate(body)
    search, issue = body["output"]
    assert {k: search[k] for k in ("type", "call_id", "execution", "arguments", "status")} == {
        "type": "tool_search_call",
        "call_id": "toolu_9",
        "execution": "client",
        "arguments": {"query": "jira"},
        "status": "completed",
    }
    assert (issue["type"], issue["name"], issue["namespace"]) == (
        "function_call",
        "create_issue",
        "mcp__github",
    )
    # a client without a tool_search of its own sees an ordinary function call
    plain = decode({"model": "m", "input": "x", "tools": [{"type": "function", "name": "tool_search"}]})
    assert json.loads(CODEC.encode_response(resp, plain))["output"][0]["type"] == "function_call"
