"""Google GenAI codec: wire <-> canonical on both sides, schemas, signatures, streams, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.canonical import (
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
from app.errors import BadRequest, NotFound, RateLimited, UpstreamProtocol, UpstreamTimeout
from app.streaming import StreamAssembler, events_from_response
from app.styles import artifacts
from app.styles.base import ModelInfo, RequestTarget
from app.styles.google.codec import CODEC
from app.styles.google.encode import CONTINUE_PLACEHOLDER, thinking_config
from app.styles.google.schema import to_gemini, to_json_schema
from app.styles.google.stream import GoogleChunkDecoder, GoogleStreamEncoder
from tests.styles.strategies import ids, json_args, names, requests, text, usage

RECORDINGS = Path(__file__).resolve().parents[2] / "data" / "agent_requests"
STREAM = RequestTarget(model="gemini-3-flash", stream=True)
ONCE = RequestTarget(model="gemini-3-flash", stream=False)
SIG = "RkFLRV9USE9VR0hUX1NJR05BVFVSRV8wMTIzNDU2Nzg5"  # what Gemini sends: base64 bytes

# the JSON Schema keywords the Gemini API documents (GenerationConfig.response_json_schema)
SUPPORTED_KEYS = {
    "type", "format", "title", "description", "enum", "items", "prefixItems", "minItems",
    "maxItems", "minimum", "maximum", "anyOf", "properties", "additionalProperties", "required",
}  # fmt: skip


def decode(body: dict[str, Any], target: RequestTarget = STREAM) -> Request:
    return CODEC.decode_request(body, target)


def user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "parts": list(parts)}


def model(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "model", "parts": list(parts)}


def recording(name: str) -> dict[str, Any]:
    path = RECORDINGS / name
    assert path.exists(), f"recording {path} is missing"
    body: dict[str, Any] = json.loads(path.read_text())
    return body


def schema_keys(schema: Any) -> set[str]:
    """Every keyword used anywhere in a schema (property names excluded)."""
    keys: set[str] = set()
    if isinstance(schema, dict):
        for k, v in schema.items():
            keys.add(k)
            if k == "properties" and isinstance(v, dict):
                for sub in v.values():
                    keys |= schema_keys(sub)
            elif isinstance(v, dict | list):
                keys |= schema_keys(v)
    elif isinstance(schema, list):
        for v in schema:
            keys |= schema_keys(v)
    return keys


# ====================================================================== client side: Gemini CLI


def test_gemini_cli_classifier_call_decodes_to_json_schema_request() -> None:
    body = recording("gemini_classifier.json")
    req = decode(body, RequestTarget(model="gemini-3.5-flash-lite", stream=False))
    assert req.model == "gemini-3.5-flash-lite" and req.stream is False
    assert [m.role for m in req.messages] == ["user", "user"]  # two consecutive user turns kept
    assert req.system and req.system[0].text.startswith("[2175 characters")  # the router prompt
    rf = req.response_format
    assert rf is not None and rf.type == "json_schema" and rf.schema is not None
    assert rf.schema["type"] == "object"  # UPPERCASE types lower-cased
    assert rf.schema["properties"]["complexity_score"]["type"] == "integer"
    assert req.reasoning == ReasoningConfig(effort="high", include_thoughts=True)
    assert (req.temperature, req.top_p, req.top_k) == (1.0, 0.95, 64)
    assert req.extra == {}


def test_gemini_cli_main_call_decodes_tools_system_and_thinking() -> None:
    body = recording("gemini_turn1.json")
    req = decode(body)
    assert req.stream and len(req.tools) == 15 and not req.opaque_tools
    by_name = {t.name: t for t in req.tools}
    read = by_name["read_file"]
    assert read.parameters is not None and read.parameters["required"] == ["file_path"]
    assert read.parameters["properties"]["start_line"] == {
        "description": "Optional: The 1-based line number to start reading from.",
        "type": "integer",
        "minimum": 1,
    }
    assert req.system and req.system[0].text.startswith("[30316 characters")  # its system prompt
    assert req.tool_choice is None
    assert req.reasoning is not None and req.reasoning.effort == "high"


def test_gemini_cli_second_turn_pairs_ids_and_keeps_the_signature() -> None:
    req = decode(recording("gemini_turn2.json"))
    assistant, tool = req.messages[1], req.messages[2]
    call_id = "write_file_1795493004493_0"
    assert assistant.content == [
        ReasoningPart(signature=SIG, origin="google-genai"),
        ToolCallPart(call_id, "write_file", '{"file_path":"./hello.txt","content":"hi from fake"}'),
    ]
    (result,) = tool.content
    assert isinstance(result, ToolResultPart)
    assert (result.tool_call_id, result.name, result.is_error) == (call_id, "write_file", False)
    assert isinstance(result.content[0], TextPart)
    assert result.content[0].text.startswith("Successfully created")  # {"output": ...} unwrapped


def test_same_style_round_trip_of_gemini_cli_turn_sends_signature_back_verbatim() -> None:
    req = decode(recording("gemini_turn2.json"))
    wire = CODEC.encode_request(req, "gemini-3-pro-preview")
    model_turn = wire["contents"][1]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][0]["thoughtSignature"] == SIG
    assert model_turn["parts"][0]["functionCall"]["name"] == "write_file"
    response = wire["contents"][2]["parts"][0]["functionResponse"]
    assert response["name"] == "write_file" and set(response["response"]) == {"output"}
    decls = wire["tools"][0]["functionDeclarations"]
    assert len(decls) == 15 and all("parameters" not in d for d in decls)
    assert wire["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "HIGH", "includeThoughts": True}


# ====================================================================== client side: field by field


def test_snake_case_request_decodes_like_camel_case() -> None:
    body = {
        "contents": [
            {
                "role": "user",
                "parts": [{"text": "look"}, {"inline_data": {"mime_type": "image/png", "data": "iVBO"}}],
            },
            {
                "role": "model",
                "parts": [{"function_call": {"name": "f", "args": {"a": 1}}, "thought_signature": SIG}],
            },
            {"role": "user", "parts": [{"function_response": {"name": "f", "response": {"result": "done"}}}]},
        ],
        "system_instruction": {"parts": [{"text": "sys"}]},
        "tools": [{"function_declarations": [{"name": "f", "parameters": {"type": "OBJECT", "any_of": []}}]}],
        "tool_config": {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["f"]}},
        "generation_config": {
            "max_output_tokens": 50,
            "stop_sequences": ["END"],
            "response_mime_type": "application/json",
            "thinking_config": {"thinking_budget": 1024, "include_thoughts": False},
            "candidate_count": 2,
        },
        "safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
    }
    req = decode(body)
    assert req.messages[0].content[1] == ImagePart(data="iVBO", media_type="image/png")
    call = req.messages[1].content[1]
    assert isinstance(call, ToolCallPart) and call.id == "call_1_0"
    assert req.messages[2].content == [ToolResultPart("call_1_0", [TextPart("done")], name="f")]
    assert req.system == [TextPart("sys")]
    assert req.tools[0].parameters == {"type": "object", "anyOf": []}
    assert req.tool_choice == ToolChoice("tool", name="f")
    assert req.max_tokens == 50 and req.stop == ["END"]
    assert req.response_format == ResponseFormat("json_object")
    assert req.reasoning == ReasoningConfig(mode="enabled", budget_tokens=1024, include_thoughts=False)
    assert req.extra == {
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "generationConfig": {"candidateCount": 2},
    }


def test_calls_without_ids_pair_with_responses_by_name_then_order() -> None:
    req = decode(
        {
            "contents": [
                user({"text": "go"}),
                model(
                    {"functionCall": {"name": "ls", "args": {"d": "a"}}},
                    {"functionCall": {"name": "cat", "args": {"f": "x"}}},
                    {"functionCall": {"name": "ls", "args": {"d": "b"}}},
                ),
                user(
                    {"functionResponse": {"name": "cat", "response": {"output": "X"}}},
                    {"functionResponse": {"name": "ls", "response": {"output": "A"}}},
                    {"functionResponse": {"name": "ls", "response": {"output": "B"}}},
                ),
                model({"functionCall": {"name": "ls", "args": {}}}),
                {"role": "function", "parts": [{"functionResponse": {"name": "ls", "response": {}}}]},
            ]
        }
    )
    calls = [p for p in req.messages[1].content if isinstance(p, ToolCallPart)]
    assert [c.id for c in calls] == ["call_1_0", "call_1_1", "call_1_2"]
    results = req.messages[2].content
    assert [(r.tool_call_id, r.content) for r in results if isinstance(r, ToolResultPart)] == [
        ("call_1_1", [TextPart("X")]),
        ("call_1_0", [TextPart("A")]),
        ("call_1_2", [TextPart("B")]),
    ]
    assert req.messages[3].content == [ToolCallPart("call_3_0", "ls", "{}")]
    assert req.messages[4] == Message("tool", [ToolResultPart("call_3_0", [TextPart("{}")], name="ls")])


def test_ids_pair_by_id_when_given_and_unknown_responses_get_their_own() -> None:
    req = decode(
        {
            "contents": [
                user({"text": "go"}),
                model(
                    {"functionCall": {"id": "a1", "name": "f"}}, {"functionCall": {"id": "a2", "name": "f"}}
                ),
                user(
                    {"functionResponse": {"id": "a2", "name": "f", "response": {"output": "2"}}},
                    {"functionResponse": {"id": "a1", "response": {"output": "1"}}},
                    {"functionResponse": {"name": "g", "response": {"output": "?"}}},
                ),
            ]
        }
    )
    results = req.messages[2].content
    assert [(r.tool_call_id, r.name) for r in results if isinstance(r, ToolResultPart)] == [
        ("a2", "f"),
        ("a1", "f"),  # name taken from the call
        ("call_2_2", "g"),
    ]
    assert req.messages[1].content[0] == ToolCallPart("a1", "f", "")  # no args: no argument text


@pytest.mark.parametrize(
    ("response", "content", "is_error"),
    [
        ({"output": "x"}, [TextPart("x")], False),
        ({"content": "x"}, [TextPart("x")], False),
        ({"result": "x"}, [TextPart("x")], False),
        ({"output": ""}, [], False),
        ({"error": "boom"}, [TextPart("boom")], True),
        ({"error": {"code": 2}}, [TextPart('{"code":2}')], True),
        ({"output": {"n": 1}}, [TextPart('{"output":{"n":1}}')], False),
        ({"output": "x", "extra": 1}, [TextPart('{"output":"x","extra":1}')], False),
        ({"files": ["a"]}, [TextPart('{"files":["a"]}')], False),
        (None, [], False),
    ],
)
def test_function_response_content_rule(response: Any, content: list[TextPart], is_error: bool) -> None:
    fr: dict[str, Any] = {"id": "c", "name": "f"}
    if response is not None:
        fr["response"] = response
    req = decode(
        {
            "contents": [
                user({"text": "q"}),
                model({"functionCall": {"id": "c", "name": "f"}}),
                user({"functionResponse": fr}),
            ]
        }
    )
    (result,) = req.messages[2].content
    assert isinstance(result, ToolResultPart)
    assert (result.content, result.is_error) == (content, is_error)


def test_function_response_media_parts_and_mixed_user_turns() -> None:
    req = decode(
        {
            "contents": [
                user({"text": "q"}),
                model({"functionCall": {"id": "c", "name": "shot"}}),
                user(
                    {
                        "functionResponse": {
                            "id": "c",
                            "name": "shot",
                            "response": {"output": "see image"},
                            "parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBO"}}],
                        }
                    },
                    {"text": "and also this"},
                ),
            ]
        }
    )
    assert req.messages[2] == Message(
        "tool",
        [
            ToolResultPart(
                "c", [TextPart("see image"), ImagePart(data="iVBO", media_type="image/png")], name="shot"
            )
        ],
    )
    assert req.messages[3] == Message("user", [TextPart("and also this")])


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        (
            {"inlineData": {"mimeType": "image/webp", "data": "UklG"}},
            ImagePart(data="UklG", media_type="image/webp"),
        ),
        (
            {"inlineData": {"mimeType": "application/pdf", "data": "JVBE", "displayName": "a.pdf"}},
            FilePart(data="JVBE", media_type="application/pdf", filename="a.pdf"),
        ),
        (
            {"fileData": {"mimeType": "image/png", "fileUri": "https://x/f/1"}},
            ImagePart(url="https://x/f/1", media_type="image/png"),
        ),
        (
            {"fileData": {"mimeType": "video/mp4", "fileUri": "gs://b/v.mp4"}},
            FilePart(url="gs://b/v.mp4", media_type="video/mp4"),
        ),
        (
            {"executableCode": {"language": "PYTHON", "code": "1"}},
            OpaquePart("google-genai", {"executableCode": {"language": "PYTHON", "code": "1"}}),
        ),
    ],
)
def test_media_and_unknown_parts(part: dict[str, Any], expected: Any) -> None:
    req = decode({"contents": [user({"text": "q"}, part)]})
    assert req.messages[0].content[1] == expected


def test_thought_parts_and_signatures_on_model_turns() -> None:
    token = artifacts.wrap(
        ReasoningPart(text="I think", signature="anthropic-sig", origin="anthropic-messages")
    )
    req = decode(
        {
            "contents": [
                user({"text": "q"}),
                model(
                    {"text": "plan", "thought": True},
                    {"text": "visible", "thoughtSignature": SIG},
                    {"functionCall": {"name": "f"}, "thoughtSignature": token},
                    {"functionCall": {"name": "g"}, "thoughtSignature": "skip_thought_signature_validator"},
                    {"text": "", "thoughtSignature": "tail"},
                ),
            ]
        }
    )
    assert req.messages[1].content == [
        ReasoningPart(text="plan", origin="google-genai"),
        ReasoningPart(signature=SIG, origin="google-genai"),
        TextPart("visible"),
        ReasoningPart(text="I think", signature="anthropic-sig", origin="anthropic-messages"),
        ToolCallPart("call_1_0", "f"),
        ToolCallPart("call_1_1", "g"),  # Google's dummy signature carries nothing: dropped
        ReasoningPart(signature="tail", origin="google-genai"),
    ]


def test_token_after_kept_thought_text_merges_with_it() -> None:
    """A Responses token carries no text; a client that kept the thought part gives it back."""
    token = artifacts.wrap(
        ReasoningPart(text="sum", signature="enc", origin="openai-responses", item_id="rs_1")
    )
    req = decode(
        {
            "contents": [
                user({"text": "q"}),
                model(
                    {"text": "sum", "thought": True},
                    {"functionCall": {"id": "c", "name": "f"}, "thoughtSignature": token},
                ),
            ]
        }
    )
    assert req.messages[1].content == [
        ReasoningPart(text="sum", signature="enc", origin="openai-responses", item_id="rs_1"),
        ToolCallPart("c", "f"),
    ]


def test_builtin_tools_and_openapi_parameters() -> None:
    req = decode(
        {
            "contents": [user({"text": "q"})],
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "find",
                            "description": "d",
                            "parameters": {
                                "type": "OBJECT",
                                "properties": {
                                    "q": {"type": "STRING", "nullable": True},
                                    "tags": {"type": "ARRAY", "items": {"type": "STRING", "enum": ["a"]}},
                                    "n": {"type": "INTEGER", "format": "int32", "example": 3},
                                },
                                "required": ["q"],
                                "propertyOrdering": ["q", "tags", "n"],
                            },
                        },
                        {"name": "noargs"},
                    ]
                },
                {"googleSearch": {}},
                {"codeExecution": {}},
            ],
        }
    )
    assert req.tools == [
        ToolDef(
            "find",
            "d",
            {
                "type": "object",
                "properties": {
                    "q": {"type": ["string", "null"]},
                    "tags": {"type": "array", "items": {"type": "string", "enum": ["a"]}},
                    "n": {"type": "integer", "format": "int32", "examples": [3]},
                },
                "required": ["q"],
            },
        ),
        ToolDef("noargs"),
    ]
    assert req.opaque_tools == [
        OpaqueTool("google-genai", {"googleSearch": {}}),
        OpaqueTool("google-genai", {"codeExecution": {}}),
    ]


@pytest.mark.parametrize(
    ("config", "choice"),
    [
        ({"mode": "AUTO"}, ToolChoice("auto")),
        ({"mode": "NONE"}, ToolChoice("none")),
        ({"mode": "ANY"}, ToolChoice("required")),
        ({"mode": "ANY", "allowedFunctionNames": ["f"]}, ToolChoice("tool", name="f")),
        ({"mode": "ANY", "allowedFunctionNames": ["f", "g"]}, ToolChoice("required", allowed=["f", "g"])),
        ({"mode": "VALIDATED", "allowedFunctionNames": ["f"]}, ToolChoice("auto", allowed=["f"])),
        ({"mode": "validated"}, ToolChoice("auto")),
    ],
)
def test_function_calling_config(config: dict[str, Any], choice: ToolChoice) -> None:
    req = decode({"contents": [user({"text": "q"})], "toolConfig": {"functionCallingConfig": config}})
    assert req.tool_choice == choice


@pytest.mark.parametrize(
    ("thinking", "expected"),
    [
        ({"thinkingBudget": -1}, ReasoningConfig(mode="adaptive")),
        ({"thinkingBudget": 0}, ReasoningConfig(mode="disabled")),
        (
            {"thinkingBudget": 8192, "includeThoughts": True},
            ReasoningConfig(mode="enabled", budget_tokens=8192, include_thoughts=True),
        ),
        ({"thinkingLevel": "LOW"}, ReasoningConfig(effort="low")),
        ({"thinkingLevel": "minimal"}, ReasoningConfig(effort="minimal")),
        ({"thinkingLevel": "THINKING_LEVEL_UNSPECIFIED"}, ReasoningConfig()),
    ],
)
def test_thinking_config_decodes(thinking: dict[str, Any], expected: ReasoningConfig) -> None:
    req = decode({"contents": [user({"text": "q"})], "generationConfig": {"thinkingConfig": thinking}})
    assert req.reasoning == expected


def test_response_schema_openapi_becomes_json_schema() -> None:
    req = decode(
        {
            "contents": [user({"text": "q"})],
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseSchema": {
                    "type": "ARRAY",
                    "items": {"type": "OBJECT", "properties": {"x": {"type": "NUMBER", "nullable": True}}},
                },
            },
        }
    )
    assert req.response_format == ResponseFormat(
        "json_schema",
        schema={
            "type": "array",
            "items": {"type": "object", "properties": {"x": {"type": ["number", "null"]}}},
        },
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "contents: required field is missing"),
        ({"contents": []}, "contents: must contain at least one content"),
        (
            {"contents": [{"role": "system", "parts": [{"text": "x"}]}]},
            "contents[0].role: expected 'user' or 'model'",
        ),
        ({"contents": [user({"text": 3})]}, "contents[0].parts[0].text: expected a string, got number"),
        (
            {"contents": [model({"functionCall": {"name": "f", "args": [1]}})]},
            "contents[0].parts[0].functionCall.args: expected an object",
        ),
        (
            {"contents": [model({"functionCall": {"args": {}}})]},
            "contents[0].parts[0].functionCall.name: required string is missing",
        ),
        (
            {"contents": [user({"functionCall": {"name": "f"}})]},
            "contents[0].parts[0]: a functionCall belongs in a 'model' turn",
        ),
        (
            {"contents": [model({"functionResponse": {"name": "f", "response": {}}})]},
            "contents[0].parts[0]: a functionResponse belongs in a 'user' turn",
        ),
        (
            {"contents": [user({"functionResponse": {"response": {}}})]},
            "contents[0].parts[0].functionResponse.name: required",
        ),
        (
            {"contents": [user({"inlineData": {"mimeType": "image/png"}})]},
            "contents[0].parts[0].inlineData.data: required",
        ),
        (
            {"contents": [user({"text": "q"})], "systemInstruction": {"parts": [{"inlineData": {}}]}},
            "systemInstruction.parts[0]: a system instruction",
        ),
        (
            {
                "contents": [user({"text": "q"})],
                "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}},
            },
            "toolConfig.functionCallingConfig.mode",
        ),
        (
            {
                "contents": [user({"text": "q"})],
                "generationConfig": {"thinkingConfig": {"thinkingLevel": "ULTRA"}},
            },
            "thinkingLevel: unsupported value",
        ),
        (
            {"contents": [user({"text": "q"})], "generationConfig": {"temperature": "hot"}},
            "generationConfig.temperature: expected a number",
        ),
    ],
)
def test_bad_requests_name_the_path(body: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as exc:
        decode(body)
    assert message in str(exc.value)


def test_model_comes_from_the_url_and_is_required() -> None:
    assert (
        decode({"contents": [user({"text": "q"})]}, RequestTarget(model="models/gemini-x")).model
        == "gemini-x"
    )
    with pytest.raises(BadRequest, match="model"):
        decode({"contents": [user({"text": "q"})]}, RequestTarget())


# ====================================================================== provider side


def cross_style_request(**kw: Any) -> Request:
    base: dict[str, Any] = {
        "model": "claude-x",
        "style": "anthropic-messages",
        "system": [TextPart("be brief")],
        "messages": [
            Message("user", [TextPart("read it"), ImagePart(data="iVBO", media_type="image/png")]),
            Message(
                "assistant",
                [
                    ReasoningPart(text="hmm", signature="sig-a", origin="anthropic-messages"),
                    TextPart("reading"),
                    ToolCallPart("toolu_1", "read", '{"path":"a"}'),
                ],
            ),
            Message("tool", [ToolResultPart("toolu_1", [TextPart("contents")])]),
            Message("system", [TextPart("late note")]),
        ],
    }
    base.update(kw)
    return Request(**base)


def test_encode_request_from_another_style() -> None:
    wire = CODEC.encode_request(cross_style_request(), "gemini-2.5-flash")
    assert wire["systemInstruction"] == {"parts": [{"text": "be brief"}]}
    assert wire["contents"] == [
        {
            "role": "user",
            "parts": [{"text": "read it"}, {"inlineData": {"mimeType": "image/png", "data": "iVBO"}}],
        },
        {
            "role": "model",
            "parts": [  # Anthropic's thinking is not sent; the call gets Google's documented dummy
                {"text": "reading"},
                {
                    "functionCall": {"id": "toolu_1", "name": "read", "args": {"path": "a"}},
                    "thoughtSignature": "skip_thought_signature_validator",
                },
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"id": "toolu_1", "name": "read", "response": {"output": "contents"}}},
                {"text": "late note"},
            ],
        },
    ]
    assert "generationConfig" not in wire and "tools" not in wire


def test_dummy_signature_on_the_first_unsigned_call_of_each_model_turn() -> None:
    req = cross_style_request(
        messages=[
            Message("user", [TextPart("old")]),
            Message("assistant", [ToolCallPart("o1", "f", "{}")]),
            Message("tool", [ToolResultPart("o1", [TextPart("r")])]),
            Message("user", [TextPart("new")]),
            Message("assistant", [ToolCallPart("n1", "f", "{}"), ToolCallPart("n2", "f", "{}")]),
            Message("tool", [ToolResultPart("n1", [TextPart("r")]), ToolResultPart("n2", [TextPart("r")])]),
            Message(
                "assistant",
                [ReasoningPart(signature="real", origin="google-genai"), ToolCallPart("n3", "f", "{}")],
            ),
        ]
    )
    contents = CODEC.encode_request(req, "gemini-3-pro")["contents"]
    sigs = [[p.get("thoughtSignature") for p in c["parts"]] for c in contents if c["role"] == "model"]
    skip = "skip_thought_signature_validator"
    assert sigs == [[skip], [skip, None], ["real"]]


def test_leading_assistant_turn_gets_a_placeholder_user_turn() -> None:
    req = cross_style_request(
        messages=[Message("assistant", [TextPart("hi")]), Message("user", [TextPart("yo")])]
    )
    contents = CODEC.encode_request(req, "gemini-2.5-flash")["contents"]
    assert contents[0] == {"role": "user", "parts": [{"text": CONTINUE_PLACEHOLDER}]}
    assert [c["role"] for c in contents] == ["user", "model", "user"]


@pytest.mark.parametrize(
    ("result", "response"),
    [
        (ToolResultPart("c", [TextPart("plain")]), {"output": "plain"}),
        (ToolResultPart("c", [TextPart("bad")], is_error=True), {"error": "bad"}),
        (ToolResultPart("c", [TextPart('{"rows": [1, 2]}')]), {"rows": [1, 2]}),
        (ToolResultPart("c", [TextPart('{"error": "x"}')]), {"output": '{"error": "x"}'}),
        (ToolResultPart("c", [TextPart("{not json")]), {"output": "{not json"}),
        (ToolResultPart("c", [TextPart("a"), TextPart("b")]), {"output": "a\nb"}),
        (ToolResultPart("c", []), {"output": ""}),
    ],
)
def test_tool_result_response_objects(result: ToolResultPart, response: dict[str, Any]) -> None:
    req = cross_style_request(
        messages=[
            Message("user", [TextPart("q")]),
            Message("assistant", [ToolCallPart("c", "f", "{}")]),
            Message("tool", [result]),
        ]
    )
    parts = CODEC.encode_request(req, "gemini-2.5-flash")["contents"][2]["parts"]
    assert parts[0]["functionResponse"] == {"id": "c", "name": "f", "response": response}


@pytest.mark.parametrize(("model_name", "nested"), [("gemini-3-flash", True), ("gemini-2.5-pro", False)])
def test_media_in_tool_results_nested_on_gemini_3_else_after(model_name: str, nested: bool) -> None:
    img = ImagePart(data="iVBO", media_type="image/png")
    req = cross_style_request(
        messages=[
            Message("user", [TextPart("q")]),
            Message("assistant", [ToolCallPart("c", "shot", "{}")]),
            Message("tool", [ToolResultPart("c", [TextPart("see"), img])]),
        ]
    )
    parts = CODEC.encode_request(req, model_name)["contents"][2]["parts"]
    blob = {"inlineData": {"mimeType": "image/png", "data": "iVBO"}}
    if nested:
        assert parts == [
            {"functionResponse": {"id": "c", "name": "shot", "response": {"output": "see"}, "parts": [blob]}}
        ]
    else:
        assert parts == [
            {"functionResponse": {"id": "c", "name": "shot", "response": {"output": "see"}}},
            blob,
        ]


def test_google_reasoning_goes_back_as_thoughts_and_signatures() -> None:
    req = cross_style_request(
        style="google-genai",
        messages=[
            Message("user", [TextPart("q")]),
            Message(
                "assistant",
                [
                    ReasoningPart(text="plan", origin="google-genai"),
                    ReasoningPart(signature="s1", origin="google-genai"),
                    ToolCallPart("c1", "f", "{}"),
                    ToolCallPart("c2", "f", "{}"),
                    ReasoningPart(signature="s2", origin="google-genai"),
                    ReasoningPart(signature="s3", origin="google-genai"),
                    TextPart("done"),
                    ReasoningPart(text="t", signature="s4", origin="google-genai"),
                    ReasoningPart(signature="s5", origin="google-genai"),
                ],
            ),
        ],
    )
    parts = CODEC.encode_request(req, "gemini-3-flash")["contents"][1]["parts"]
    assert parts == [
        {"text": "plan", "thought": True},
        {"functionCall": {"id": "c1", "name": "f", "args": {}}, "thoughtSignature": "s1"},
        {"functionCall": {"id": "c2", "name": "f", "args": {}}},
        {"text": "", "thoughtSignature": "s2"},
        {"text": "done", "thoughtSignature": "s3"},
        {"text": "t", "thought": True, "thoughtSignature": "s4"},
        {"text": "", "thoughtSignature": "s5"},
    ]


def test_files_urls_and_foreign_ids() -> None:
    req = cross_style_request(
        messages=[
            Message(
                "user",
                [
                    ImagePart(url="https://x/cat.webp"),
                    FilePart(url="https://x/doc.pdf?sig=1"),
                    FilePart(data="JVBE", media_type="application/pdf"),
                ],
            )
        ]
    )
    assert CODEC.encode_request(req, "gemini-2.5-flash")["contents"][0]["parts"] == [
        {"fileData": {"mimeType": "image/webp", "fileUri": "https://x/cat.webp"}},
        {"fileData": {"mimeType": "application/pdf", "fileUri": "https://x/doc.pdf?sig=1"}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBE"}},
    ]
    with pytest.raises(BadRequest, match="file id"):
        CODEC.encode_request(
            cross_style_request(messages=[Message("user", [FilePart(file_id="file-abc")])]), "g"
        )
    foreign = OpaquePart("anthropic-messages", {"type": "search_result"})
    with pytest.raises(BadRequest, match="search_result"):
        CODEC.encode_request(cross_style_request(messages=[Message("user", [foreign])]), "g")


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        (ToolChoice("auto"), {"mode": "AUTO"}),
        (ToolChoice("none"), {"mode": "NONE"}),
        (ToolChoice("required"), {"mode": "ANY"}),
        (ToolChoice("tool", name="f"), {"mode": "ANY", "allowedFunctionNames": ["f"]}),
        (ToolChoice("required", allowed=["f", "g"]), {"mode": "ANY", "allowedFunctionNames": ["f", "g"]}),
        (ToolChoice("auto", allowed=["f"]), {"mode": "VALIDATED", "allowedFunctionNames": ["f"]}),
    ],
)
def test_tool_choice_encodes(choice: ToolChoice, config: dict[str, Any]) -> None:
    req = cross_style_request(tools=[ToolDef("f"), ToolDef("g")], tool_choice=choice)
    wire = CODEC.encode_request(req, "gemini-2.5-flash")
    assert wire["toolConfig"] == {"functionCallingConfig": config}
    assert decode({"contents": [user({"text": "q"})], "toolConfig": wire["toolConfig"]}).tool_choice in (
        choice,
        ToolChoice("tool", name="f") if choice.allowed == ["f"] and choice.mode == "required" else choice,
    )


def test_tools_custom_tools_and_builtin_tools() -> None:
    req = cross_style_request(
        tools=[
            ToolDef(
                "f", "does f", {"type": "object", "properties": {"a": {"type": "string"}}, "$schema": "x"}
            ),
            ToolDef("noargs"),
            ToolDef("apply_patch", "patch", kind="custom"),
        ],
        opaque_tools=[
            OpaqueTool("google-genai", {"googleSearch": {}}),
            OpaqueTool("openai-responses", {"type": "web_search"}),
        ],
    )
    tools = CODEC.encode_request(req, "gemini-2.5-flash")["tools"]
    decls = tools[0]["functionDeclarations"]
    assert decls[0] == {
        "name": "f",
        "description": "does f",
        "parametersJsonSchema": {"type": "object", "properties": {"a": {"type": "string"}}},
    }
    assert decls[1] == {"name": "noargs"}
    assert decls[2]["parametersJsonSchema"]["required"] == ["input"]
    assert tools[1:] == [{"googleSearch": {}}]  # other styles' built-in tools are not sent


def test_generation_config_and_same_style_extras() -> None:
    req = cross_style_request(
        style="google-genai",
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        max_tokens=100,
        seed=7,
        presence_penalty=0.1,
        frequency_penalty=0.3,
        stop=["a", "b", "c", "d", "e", "f"],
        response_format=ResponseFormat(
            "json_schema", schema={"type": "object", "properties": {"x": {"const": "y"}}}
        ),
        extra={
            "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}],
            "cachedContent": "cachedContents/abc",
            "generationConfig": {"candidateCount": 2, "responseModalities": ["TEXT"]},
            "toolConfig": {"retrievalConfig": {"languageCode": "en"}},
        },
        tools=[ToolDef("f")],
        tool_choice=ToolChoice("auto"),
    )
    wire = CODEC.encode_request(req, "gemini-2.5-flash")
    assert wire["generationConfig"] == {
        "temperature": 0.2,
        "topP": 0.9,
        "topK": 40,
        "maxOutputTokens": 100,
        "seed": 7,
        "presencePenalty": 0.1,
        "frequencyPenalty": 0.3,
        "stopSequences": ["a", "b", "c", "d", "e"],
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object", "properties": {"x": {"enum": ["y"]}}},
        "candidateCount": 2,
        "responseModalities": ["TEXT"],
    }
    assert wire["safetySettings"] and wire["cachedContent"] == "cachedContents/abc"
    assert wire["toolConfig"] == {
        "functionCallingConfig": {"mode": "AUTO"},
        "retrievalConfig": {"languageCode": "en"},
    }
    other = CODEC.encode_request(msgspec.structs.replace(req, style="openai-chat"), "gemini-2.5-flash")
    assert "safetySettings" not in other and "candidateCount" not in other["generationConfig"]
    obj = CODEC.encode_request(cross_style_request(response_format=ResponseFormat("json_object")), "g")
    assert obj["generationConfig"] == {"responseMimeType": "application/json"}


@pytest.mark.parametrize(
    ("cfg", "model_name", "expected"),
    [
        (
            ReasoningConfig(effort="high"),
            "gemini-3-pro-preview",
            {"thinkingLevel": "HIGH", "includeThoughts": True},
        ),
        (
            ReasoningConfig(effort="medium"),
            "gemini-3.1-pro",
            {"thinkingLevel": "HIGH", "includeThoughts": True},
        ),
        (
            ReasoningConfig(effort="minimal"),
            "gemini-3-flash",
            {"thinkingLevel": "LOW", "includeThoughts": True},
        ),
        (
            ReasoningConfig(mode="enabled", budget_tokens=1024),
            "gemini-3-flash",
            {"thinkingLevel": "LOW", "includeThoughts": True},
        ),
        (ReasoningConfig(mode="disabled"), "gemini-3-pro", {"thinkingLevel": "LOW"}),
        (ReasoningConfig(mode="adaptive"), "gemini-3-pro", {"includeThoughts": True}),
        (
            ReasoningConfig(mode="enabled", budget_tokens=31999),
            "gemini-2.5-pro",
            {"thinkingBudget": 31999, "includeThoughts": True},
        ),
        (
            ReasoningConfig(mode="enabled", budget_tokens=31999),
            "gemini-2.5-flash",
            {"thinkingBudget": 24576, "includeThoughts": True},
        ),
        (ReasoningConfig(effort="low", include_thoughts=False), "gemini-2.5-flash", {"thinkingBudget": 2048}),
        (
            ReasoningConfig(mode="adaptive"),
            "gemini-2.5-flash",
            {"thinkingBudget": -1, "includeThoughts": True},
        ),
        (ReasoningConfig(mode="disabled"), "gemini-2.5-flash", {"thinkingBudget": 0}),
        (ReasoningConfig(effort="none"), "gemini-2.5-pro", {"thinkingBudget": 128}),
    ],
)
def test_thinking_config_for_other_clients(
    cfg: ReasoningConfig, model_name: str, expected: dict[str, Any]
) -> None:
    assert thinking_config(cfg, model_name, same_style=False) == expected


@pytest.mark.parametrize(
    "thinking",
    [
        {"thinkingLevel": "HIGH", "includeThoughts": True},
        {"thinkingBudget": 8192, "includeThoughts": True},
        {"thinkingBudget": -1},
        {"thinkingBudget": 0, "includeThoughts": False},
        {"thinkingLevel": "XHIGH"},
    ],
)
def test_thinking_config_of_a_gemini_client_goes_back_as_given(thinking: dict[str, Any]) -> None:
    req = decode({"contents": [user({"text": "q"})], "generationConfig": {"thinkingConfig": thinking}})
    assert CODEC.encode_request(req, "gemini-3-flash")["generationConfig"]["thinkingConfig"] == thinking


def test_upstream_url_auth_and_passthrough() -> None:
    base = "https://generativelanguage.googleapis.com"
    assert (
        CODEC.upstream_url(base, "gemini-2.5-flash", False)
        == f"{base}/v1beta/models/gemini-2.5-flash:generateContent"
    )
    assert (
        CODEC.upstream_url(base + "/", "models/m", True)
        == f"{base}/v1beta/models/m:streamGenerateContent?alt=sse"
    )
    assert CODEC.upstream_url(base + "/v1", "m", False) == f"{base}/v1/models/m:generateContent"
    assert CODEC.auth_headers("k") == [("x-goog-api-key", "k")] and CODEC.auth_headers("") == []
    assert (
        CODEC.passthrough_body({"contents": []}, "m") is None
        and CODEC.passthrough_filter(cross_style_request()) is None
    )
    assert CODEC.forwarded_headers == frozenset()


# ====================================================================== schemas

CLAUDE_CODE_LIKE = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "command": {"type": "string", "description": "The command"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 9007199254740991},
        "pattern": {"type": "string", "pattern": "^a", "maxLength": 20, "default": "a"},
        "mode": {"type": "string", "enum": ["a", "b"]},
        "anything": {"description": "no type at all"},
        "edits": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"old": {"type": "string"}, "new": {"type": "string"}},
                "required": ["old", "new", "missing"],
                "additionalProperties": False,
            },
            "minItems": 1,
        },
    },
    "required": ["command"],
    "additionalProperties": False,
}

CODEX_LIKE = {
    "type": "object",
    "properties": {
        "cmd": {"type": "array", "items": {"type": "string"}},
        "workdir": {"type": ["string", "null"], "description": "dir"},
        "sandbox": {"anyOf": [{"type": "string", "enum": ["ro", "rw"]}, {"type": "null"}]},
        "plan": {"$ref": "#/$defs/Plan", "description": "the plan"},
        "kind": {"const": "shell"},
        "count": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10},
        "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
    },
    "required": ["cmd", "plan"],
    "additionalProperties": False,
    "$defs": {
        "Plan": {
            "type": "object",
            "properties": {"steps": {"type": "array", "items": {"$ref": "#/$defs/Step"}}},
        },
        "Step": {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "substeps": {"type": "array", "items": {"$ref": "#/$defs/Step"}},
            },
            "required": ["title"],
        },
    },
}


@pytest.mark.parametrize("schema", [CLAUDE_CODE_LIKE, CODEX_LIKE], ids=["claude-code", "codex"])
def test_agent_schemas_convert_to_supported_keywords_only(schema: dict[str, Any]) -> None:
    out = to_gemini(schema)
    assert schema_keys(out) <= SUPPORTED_KEYS
    assert out["type"] == "object" and out["required"] == [
        r for r in schema["required"] if r in schema["properties"]
    ]


def test_claude_code_schema_conversion_details() -> None:
    out = to_gemini(CLAUDE_CODE_LIKE)
    props = out["properties"]
    assert props["timeout"] == {"type": "number", "maximum": 9007199254740991, "minimum": 0}
    assert props["pattern"] == {"type": "string"}
    assert props["anything"] == {"description": "no type at all"}
    assert props["edits"]["items"]["required"] == ["old", "new"]  # names not in properties dropped
    assert props["edits"]["items"]["additionalProperties"] is False and props["edits"]["minItems"] == 1
    assert out["additionalProperties"] is False


def test_codex_schema_conversion_details() -> None:
    props = to_gemini(CODEX_LIKE)["properties"]
    assert props["workdir"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "dir"}
    assert props["sandbox"] == {"anyOf": [{"type": "string", "enum": ["ro", "rw"]}, {"type": "null"}]}
    assert props["kind"] == {"enum": ["shell"]}
    assert props["count"] == {"type": "integer", "minimum": 1, "maximum": 9}
    assert props["matrix"] == {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}
    plan = props["plan"]
    assert plan["description"] == "the plan"
    step = plan["properties"]["steps"]["items"]
    assert step["required"] == ["title"]
    assert step["properties"]["substeps"]["items"] == {"type": "object"}  # recursion cut


def test_schema_conversion_edge_cases() -> None:
    assert to_gemini({"properties": {"a": {"type": "string"}}})["type"] == "object"
    tree = to_gemini({"type": "object", "properties": {"kid": {"$ref": "#"}}})
    assert tree == {
        "type": "object",
        "properties": {"kid": {"type": "object", "properties": {"kid": {"type": "object"}}}},
    }
    merged = to_gemini(
        {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"b": {"type": "integer"}}, "required": ["b"]},
            ],
            "description": "both",
        }
    )
    assert merged == {
        "type": "object",
        "description": "both",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }
    assert to_gemini(
        {"type": "object", "properties": {"t": {"items": [{"type": "string"}, {"type": "integer"}]}}}
    )["properties"]["t"] == {"prefixItems": [{"type": "string"}, {"type": "integer"}]}
    assert to_gemini(
        {
            "type": "object",
            "properties": {"x": {"$ref": "#/definitions/X"}},
            "definitions": {"X": {"type": "boolean"}},
        }
    )["properties"]["x"] == {"type": "boolean"}
    assert (
        to_gemini({"type": "object", "properties": {"x": {"$ref": "http://elsewhere"}}})["properties"]["x"]
        == {}
    )
    assert to_gemini({"type": "string", "enum": ["a", None, 2, True]})["enum"] == ["a", 2]
    assert to_gemini({"type": ["integer", "string"]}) == {"anyOf": [{"type": "integer"}, {"type": "string"}]}


def test_openapi_schema_to_json_schema() -> None:
    assert to_json_schema(
        {
            "type": "OBJECT",
            "nullable": True,
            "properties": {
                "a": {"any_of": [{"type": "STRING"}, {"type": "INTEGER"}], "nullable": True},
                "b": {"type": "TYPE_UNSPECIFIED", "description": "d"},
                "c": {"type": "NULL"},
            },
            "property_ordering": ["a", "b"],
            "max_properties": 3,
        }
    ) == {
        "type": ["object", "null"],
        "properties": {
            "a": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
            "b": {"description": "d"},
            "c": {"type": "null"},
        },
        "maxProperties": 3,
    }


# ====================================================================== responses


def test_decode_provider_response() -> None:
    body = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "**Planning** call it", "thought": True},
                        {"functionCall": {"name": "write_file", "args": {"p": "a"}}, "thoughtSignature": SIG},
                        {"functionCall": {"name": "ls", "args": {}}},
                        {"executableCode": {"code": "1"}},
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 100,
            "toolUsePromptTokenCount": 7,
            "candidatesTokenCount": 20,
            "thoughtsTokenCount": 5,
            "cachedContentTokenCount": 40,
            "totalTokenCount": 132,
        },
        "modelVersion": "gemini-3-flash",
        "responseId": "r1",
    }
    resp = CODEC.decode_response(msgspec.json.encode(body))
    first, second = (c.id for c in resp.tool_calls())
    assert first.startswith("call_") and first.endswith("_0") and second == first[:-1] + "1"
    assert resp.content == [
        ReasoningPart(text="**Planning** call it", origin="google-genai"),
        ReasoningPart(signature=SIG, origin="google-genai"),
        ToolCallPart(first, "write_file", '{"p":"a"}'),
        ToolCallPart(second, "ls", "{}"),
        OpaquePart("google-genai", {"executableCode": {"code": "1"}}),
    ]
    assert resp.stop_reason == "tool_use" and (resp.id, resp.model) == ("r1", "gemini-3-flash")
    assert resp.usage == Usage(input_tokens=107, output_tokens=25, cache_read_tokens=40, reasoning_tokens=5)


@pytest.mark.parametrize("response_id", ["same-id-every-turn", ""])
def test_call_ids_are_unique_even_when_the_provider_repeats_its_response_id(response_id: str) -> None:
    """A proxy, a cache or a fake may answer every turn with the same responseId (or none): the
    calls of each answer must still get ids no earlier answer had (issue 13: Claude Code looped
    on a repeated id)."""
    body = {
        "candidates": [
            {
                "content": {"parts": [{"functionCall": {"name": "f", "args": {"a": 1}}}] * 2},
                "finishReason": "STOP",
            }
        ],
        "responseId": response_id,
    }
    seen: list[str] = []
    for _turn in range(50):
        seen += [c.id for c in CODEC.decode_response(msgspec.json.encode(body)).tool_calls()]
        dec = GoogleChunkDecoder()
        asm = StreamAssembler()
        for ev in dec.feed(sse(body)) + dec.close():
            asm.add(ev)
        seen += [c.id for c in asm.response().tool_calls()]
    assert len(seen) == 200 == len(set(seen))
    assert all(i.startswith("call_") for i in seen)


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("STOP", "end_turn"),
        ("MAX_TOKENS", "max_tokens"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "error"),
        ("UNEXPECTED_TOOL_CALL", "error"),
        ("OTHER", "end_turn"),
        ("SOMETHING_NEW", "end_turn"),
    ],
)
def test_finish_reasons_decode(finish: str, stop: str) -> None:
    body = {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": finish}]}
    assert CODEC.decode_response(msgspec.json.encode(body)).stop_reason == stop


def test_blocked_prompt_and_snake_case_answers() -> None:
    blocked = CODEC.decode_response(
        b'{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 9}}'
    )
    assert (blocked.content, blocked.stop_reason, blocked.usage.input_tokens) == ([], "content_filter", 9)
    snake = CODEC.decode_response(
        b'{"candidates": [{"content": {"parts": [{"text": "hi", "thought_signature": "s"}]}, "finish_reason": "MAX_TOKENS"}],'
        b' "usage_metadata": {"prompt_token_count": 3, "candidates_token_count": 4}, "response_id": "r"}'
    )
    assert snake.content == [ReasoningPart(signature="s", origin="google-genai"), TextPart("hi")]
    assert (snake.stop_reason, snake.usage, snake.id) == ("max_tokens", Usage(3, 4), "r")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1]",
        b'{"candidates": []}',
        b'{"error": {"code": 500, "message": "Internal", "status": "INTERNAL"}}',
        b"[]",
    ],
)
def test_broken_provider_answers_are_protocol_errors(body: bytes) -> None:
    with pytest.raises(UpstreamProtocol):
        CODEC.decode_response(body)


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "STOP"),
        ("tool_use", "STOP"),
        ("stop_sequence", "STOP"),
        ("max_tokens", "MAX_TOKENS"),
        ("content_filter", "SAFETY"),
        ("refusal", "SAFETY"),
        ("pause", "STOP"),
        ("error", "MALFORMED_FUNCTION_CALL"),
    ],
)
def test_finish_reasons_encode(stop: Any, finish: str) -> None:
    resp = Response("r", "m", [TextPart("x")], stop_reason=stop)
    wire = json.loads(CODEC.encode_response(resp, cross_style_request()))
    assert wire["candidates"][0]["finishReason"] == finish


def test_encode_response_usage_and_shape() -> None:
    resp = Response(
        "msg_1",
        "claude-x",
        [TextPart("hi"), ToolCallPart("toolu_1", "f", '{"a":1}')],
        stop_reason="tool_use",
        usage=Usage(input_tokens=100, output_tokens=30, cache_read_tokens=60, reasoning_tokens=10),
    )
    wire = json.loads(CODEC.encode_response(resp, cross_style_request()))
    assert wire == {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "hi"},
                        {"functionCall": {"id": "toolu_1", "name": "f", "args": {"a": 1}}},
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 100,
            "candidatesTokenCount": 20,
            "thoughtsTokenCount": 10,
            "cachedContentTokenCount": 60,
            "totalTokenCount": 130,
        },
        "modelVersion": "claude-x",
        "responseId": "msg_1",
    }


def test_foreign_signature_rides_on_the_next_part_and_comes_back() -> None:
    """Anthropic thinking -> Gemini CLI (which drops thought parts) -> back to the gateway."""
    thinking = ReasoningPart(text="I should read", signature="sig-a", origin="anthropic-messages")
    call = ToolCallPart("toolu_1", "read", '{"p":"a"}')
    resp = Response("m", "claude", [thinking, call], stop_reason="tool_use")
    parts = json.loads(CODEC.encode_response(resp, cross_style_request()))["candidates"][0]["content"][
        "parts"
    ]
    assert parts[0] == {"text": "I should read", "thought": True}
    token = parts[1]["thoughtSignature"]
    assert artifacts.is_wrapped(token) and "thought" not in parts[1]
    # Gemini CLI: drops the thought part, keeps the function call with its signature
    echoed = decode(
        {
            "contents": [
                user({"text": "q"}),
                model(parts[1]),
                user({"functionResponse": {"id": "toolu_1", "name": "read", "response": {"output": "x"}}}),
            ]
        }
    )
    assert echoed.messages[1].content == [thinking, call]
    # the Python SDK keeps the thought part too: still one reasoning part
    kept = decode({"contents": [user({"text": "q"}), model(*parts)]})
    assert kept.messages[1].content == [thinking, call]


def test_signature_placement_edge_cases_in_answers() -> None:
    a = ReasoningPart(text="one", signature="s1", origin="anthropic-messages")
    b = ReasoningPart(signature="s2", origin="anthropic-messages", redacted=True)
    native = ReasoningPart(signature=SIG, origin="google-genai")
    resp = Response("m", "x", [a, b, TextPart("answer"), native])
    parts = json.loads(CODEC.encode_response(resp, cross_style_request()))["candidates"][0]["content"][
        "parts"
    ]
    assert parts[0] == {"text": "one", "thought": True}
    assert parts[1]["text"] == "" and artifacts.unwrap(parts[1]["thoughtSignature"]) == artifacts.unwrap(
        artifacts.wrap(a)
    )  # a second signature waiting: the first gets an empty carrier part
    assert parts[2]["text"] == "answer" and artifacts.unwrap(parts[2]["thoughtSignature"]) == ReasoningPart(
        signature="s2", origin="anthropic-messages", redacted=True
    )
    assert parts[3] == {"text": "", "thoughtSignature": SIG}  # native signature verbatim, at the end
    back = decode({"contents": [user({"text": "q"}), model(*parts)]}).messages[1].content
    assert back == [a, b, TextPart("answer"), native]


def test_errors_and_models() -> None:
    status, body = CODEC.encode_error(RateLimited("slow down", retry_after=12))
    assert status == 429 and json.loads(body) == {
        "error": {
            "code": 429,
            "message": "slow down",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}],
        }
    }
    for err, name in [
        (BadRequest("x"), "INVALID_ARGUMENT"),
        (NotFound("x"), "NOT_FOUND"),
        (UpstreamTimeout("x", provider="p"), "DEADLINE_EXCEEDED"),
        (UpstreamProtocol("x", provider="p"), "UNAVAILABLE"),
    ]:
        assert json.loads(CODEC.encode_error(err)[1])["error"]["status"] == name
    assert CODEC.decode_error(
        401, b'{"error": {"code": 401, "message": "API key not valid.", "status": "UNAUTHENTICATED"}}'
    ) == (
        "API key not valid.",
        "authentication_error",
    )
    assert CODEC.decode_error(
        429, b'[{"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}]'
    ) == (
        "quota",
        "rate_limit_error",
    )
    assert CODEC.decode_error(502, b"<html>bad gateway</html>") == ("<html>bad gateway</html>", None)
    listing = json.loads(CODEC.encode_models([ModelInfo("auto"), ModelInfo("fast", display_name="Fast")]))
    assert [m["name"] for m in listing["models"]] == ["models/auto", "models/fast"]
    assert listing["models"][1]["displayName"] == "Fast"
    assert "streamGenerateContent" in listing["models"][0]["supportedGenerationMethods"]
    assert json.loads(CODEC.encode_model(ModelInfo("auto")))["name"] == "models/auto"


def test_sdk_parses_encoded_answers() -> None:
    """The google-genai SDK's own types accept what the gateway sends its users."""
    from google.genai import types

    thinking = ReasoningPart(text="t", signature="sig", origin="anthropic-messages")
    resp = Response(
        "r",
        "m",
        [thinking, TextPart("hi"), ToolCallPart("c", "f", '{"x":[1]}')],
        "tool_use",
        usage=Usage(5, 6),
    )
    parsed = types.GenerateContentResponse.model_validate_json(
        CODEC.encode_response(resp, cross_style_request())
    )
    assert parsed.text == "hi" and parsed.function_calls and parsed.function_calls[0].args == {"x": [1]}
    assert parsed.usage_metadata is not None and parsed.usage_metadata.total_token_count == 11
    assert parsed.candidates and parsed.candidates[0].content and parsed.candidates[0].content.parts
    # the token rides on the text after the thought; the SDK reads it as base64 bytes
    assert parsed.candidates[0].content.parts[1].thought_signature


# ====================================================================== streams


def sse(*chunks: dict[str, Any], sep: bytes = b"\r\n\r\n") -> bytes:
    return b"".join(b"data: " + msgspec.json.encode(c) + sep for c in chunks)


def chunk(*parts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    cand: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
    if "finishReason" in extra:
        cand["finishReason"] = extra.pop("finishReason")
    return {"candidates": [cand], "modelVersion": "gemini-3-flash", "responseId": "r9", **extra}


USAGE = {"promptTokenCount": 10, "candidatesTokenCount": 4, "thoughtsTokenCount": 2, "totalTokenCount": 16}


def test_stream_decoder_events() -> None:
    body = sse(
        chunk({"text": "Let me ", "thought": True}),
        chunk({"text": "think", "thought": True}),
        chunk({"text": "Hel"}),
        chunk({"text": "lo"}),
        chunk({"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "s"}),
        chunk({"text": ""}, finishReason="STOP", usageMetadata=USAGE),
    )
    dec = GoogleChunkDecoder()
    events = []
    for i in range(0, len(body), 7):  # frames cut at arbitrary points
        events += dec.feed(body[i : i + 7])
    call_id = next(e.part.id for e in events if isinstance(e, PartStart) and isinstance(e.part, ToolCallPart))
    assert events == [
        StreamStart(id="r9", model="gemini-3-flash"),
        PartStart(0, ReasoningPart(origin="google-genai")),
        ReasoningDelta(0, "Let me "),
        ReasoningDelta(0, "think"),
        PartStop(0),
        PartStart(1, TextPart("")),
        TextDelta(1, "Hel"),
        TextDelta(1, "lo"),
        PartStop(1),
        PartStart(2, ReasoningPart(signature="s", origin="google-genai")),
        PartStop(2),
        PartStart(3, ToolCallPart(call_id, "f")),
        ToolArgsDelta(3, '{"a":1}'),
        PartStop(3),
        Finish("tool_use", usage=Usage(10, 6, reasoning_tokens=2)),
    ]
    assert dec.close() == []


@pytest.mark.parametrize(
    "last",
    [
        [
            chunk({"text": "b", "thoughtSignature": "s"}),
            chunk({"text": "c"}, finishReason="STOP", usageMetadata=USAGE),
        ],
        [chunk({"text": "bc", "thoughtSignature": "s"}, finishReason="STOP", usageMetadata=USAGE)],
        [
            chunk({"text": "bc"}),
            chunk({"text": "", "thoughtSignature": "s"}, finishReason="STOP", usageMetadata=USAGE),
        ],
    ],
)
def test_stream_signature_on_the_last_text_chunk_keeps_the_answer_whole(last: list[dict[str, Any]]) -> None:
    """Gemini 3 signs a plain answer on its last part, streamed as a short (or empty) last
    chunk: the answer stays one text part and the signature follows it (issue 13)."""
    dec = GoogleChunkDecoder()
    events = dec.feed(sse(chunk({"text": "Let me see", "thought": True}), chunk({"text": "a"}), *last))
    asm = StreamAssembler()
    for ev in events:
        asm.add(ev)
    assert asm.response().content == [
        ReasoningPart(text="Let me see", origin="google-genai"),
        TextPart("abc"),
        ReasoningPart(signature="s", origin="google-genai"),
    ]


def test_stream_finish_waits_for_usage_and_errors() -> None:
    dec = GoogleChunkDecoder()
    events = dec.feed(sse(chunk({"text": "x"}, finishReason="MAX_TOKENS")))
    assert not any(isinstance(e, Finish) for e in events)
    events = dec.feed(sse({"usageMetadata": USAGE}))
    assert events[-1] == Finish("max_tokens", usage=Usage(10, 6, reasoning_tokens=2))

    late = GoogleChunkDecoder()
    late.feed(sse(chunk({"text": "x"}, finishReason="STOP")))
    assert late.close()[-1] == Finish("end_turn")

    cut = GoogleChunkDecoder()
    cut.feed(sse(chunk({"text": "x"})))
    tail = cut.close()
    assert isinstance(tail[-1], StreamError) and tail[-1].status == 502

    err = GoogleChunkDecoder()
    out = err.feed(
        sse(
            chunk({"text": "x"}), {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
        )
    )
    assert out[-1] == StreamError(429, "quota", kind="rate_limit_error")
    assert err.feed(sse(chunk({"text": "more"}))) == [] and err.close() == []

    empty = GoogleChunkDecoder()
    assert isinstance(empty.close()[-1], StreamError)

    blocked = GoogleChunkDecoder()
    assert blocked.feed(sse({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": USAGE}))[
        -1
    ] == Finish("content_filter", usage=Usage(10, 6, reasoning_tokens=2))


def encode_stream(resp: Response, sse_form: bool = True) -> bytes:
    enc = CODEC.stream_encoder(cross_style_request(), sse=sse_form)
    return b"".join(enc.encode(ev) for ev in events_from_response(resp))


def test_stream_encoder_sse_chunks() -> None:
    thinking = ReasoningPart(text="hmm", signature="sig-a", origin="anthropic-messages")
    resp = Response(
        "msg_1",
        "claude-x",
        [thinking, TextPart("Hi"), ToolCallPart("t1", "f", '{"a":1}')],
        stop_reason="tool_use",
        usage=Usage(10, 5, reasoning_tokens=2),
    )
    enc = GoogleStreamEncoder(cross_style_request())
    assert enc.content_type == "text/event-stream"
    events = list(events_from_response(resp))
    events.insert(-2, ToolArgsDelta(2, ""))  # an empty delta changes nothing
    frames = b"".join(enc.encode(ev) for ev in events).split(b"\n\n")
    assert frames[-1] == b"" and all(f.startswith(b"data: ") for f in frames[:-1])
    chunks = [json.loads(f[6:]) for f in frames[:-1]]
    parts = [c["candidates"][0]["content"]["parts"] for c in chunks]
    assert parts[0] == [{"text": "hmm", "thought": True}]
    assert parts[1][0]["text"] == "Hi" and artifacts.unwrap(parts[1][0]["thoughtSignature"]) == thinking
    assert parts[2] == [{"functionCall": {"id": "t1", "name": "f", "args": {"a": 1}}}]
    assert parts[3] == [] and chunks[3]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[3]["usageMetadata"] == {
        "promptTokenCount": 10,
        "candidatesTokenCount": 3,
        "thoughtsTokenCount": 2,
        "totalTokenCount": 15,
    }
    assert all(c["responseId"] == "msg_1" and c["modelVersion"] == "claude-x" for c in chunks)
    assert enc.encode(Finish()) == b""  # nothing after the end


def test_stream_encoder_json_array_form_and_errors() -> None:
    resp = Response("r", "m", [TextPart("a"), TextPart("b")], usage=Usage(1, 2))
    body = encode_stream(resp, sse_form=False)
    assert body.startswith(b"[{") and body.endswith(b"}]") and b",\r\n{" in body
    chunks = json.loads(body)
    assert [c["candidates"][0]["content"]["parts"] for c in chunks] == [[{"text": "a"}], [{"text": "b"}], []]
    assert CODEC.stream_encoder(cross_style_request(), sse=False).content_type == "application/json"

    enc = GoogleStreamEncoder(cross_style_request(), sse=False)
    out = enc.encode(StreamStart("r", "m")) + enc.encode(
        StreamError(503, "overloaded", kind="overloaded_error")
    )
    assert json.loads(out) == [{"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}]
    sse_enc = GoogleStreamEncoder(cross_style_request())
    assert (
        sse_enc.encode(StreamError(500, "boom"))
        == b'data: {"error":{"code":500,"message":"boom","status":"INTERNAL"}}\n\n'
    )


def test_decoder_reads_the_json_array_form_whole() -> None:
    resp = Response(
        "r", "m", [TextPart("ab"), ToolCallPart("c", "f", "{}")], stop_reason="tool_use", usage=Usage(1, 2)
    )
    assert CODEC.decode_response(encode_stream(resp, sse_form=False)) == resp


# ====================================================================== properties


@st.composite
def gemini_answers(draw: Any) -> Response:
    """Answers as a Gemini upstream gives them: thought text, signatures on their own (text-less)
    reasoning parts, text, calls; no two text parts (or two unsigned thoughts) side by side."""
    parts: list[Any] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["thought", "sig", "text", "call"]))
        prev = parts[-1] if parts else None
        if kind == "thought" and not (isinstance(prev, ReasoningPart) and prev.text):
            parts.append(ReasoningPart(text=draw(text), origin="google-genai"))
        elif kind == "sig":
            parts.append(ReasoningPart(signature=draw(ids), origin="google-genai"))
        elif kind == "text" and not isinstance(prev, TextPart):
            parts.append(TextPart(draw(text)))
        elif kind == "call":
            parts.append(ToolCallPart(draw(ids) + str(len(parts)), draw(names), draw(json_args)))
    if not parts:
        parts.append(TextPart(draw(text)))
    calls = any(isinstance(p, ToolCallPart) for p in parts)
    stop = (
        "tool_use" if calls else draw(st.sampled_from(["end_turn", "max_tokens", "content_filter", "error"]))
    )
    return Response(
        id="r" + draw(names), model=draw(names), content=parts, stop_reason=stop, usage=draw(usage)
    )


def same_json(a: str, b: str) -> bool:
    return (json.loads(a) if a else None) == (json.loads(b) if b else None)


def normalized(resp: Response) -> Response:
    content = [
        ToolCallPart(p.id, p.name, json.dumps(json.loads(p.arguments or "{}"), sort_keys=True))
        if isinstance(p, ToolCallPart)
        else p
        for p in resp.content
    ]
    return msgspec.structs.replace(resp, content=one_visible_text(content), created=0)


def one_visible_text(content: list[Any]) -> list[Any]:
    """Adjacent texts are one answer to a Gemini client (its SDK joins them), whatever signature
    sits between them: the signature moves after the joined text (issue 13)."""
    out: list[Any] = []
    for p in content:
        if isinstance(p, TextPart):
            j = len(out)
            while j and isinstance(out[j - 1], ReasoningPart) and not out[j - 1].text:
                j -= 1
            if j and isinstance(out[j - 1], TextPart):
                signatures = out[j:]
                out[j - 1] = TextPart(out[j - 1].text + p.text)
                del out[j:]
                out.extend(signatures)
                continue
        out.append(p)
    return out


@settings(max_examples=80, deadline=None)
@given(gemini_answers())
def test_property_answer_round_trip_and_stream_agree(resp: Response) -> None:
    whole = CODEC.decode_response(CODEC.encode_response(resp, cross_style_request()))
    assert normalized(whole) == normalized(resp)
    dec = CODEC.stream_decoder()
    asm = StreamAssembler()
    for ev in dec.feed(encode_stream(resp)) + dec.close():
        asm.add(ev)
    assert asm.finished and normalized(asm.response()) == normalized(whole)


def merged_roles(messages: list[Message]) -> list[tuple[str, list[Any]]]:
    out: list[tuple[str, list[Any]]] = []
    for m in messages:
        parts = [
            ToolCallPart(p.id, p.name, json.dumps(json.loads(p.arguments or "{}"), sort_keys=True))
            if isinstance(p, ToolCallPart)
            else p
            for p in m.content
        ]
        if out and out[-1][0] == m.role:
            out[-1][1].extend(parts)
        else:
            out.append((m.role, parts))
    return out


@settings(max_examples=60, deadline=None)
@given(requests(style="openai-chat"))
def test_property_request_round_trip_keeps_meaning(req: Request) -> None:
    wire = json.loads(json.dumps(CODEC.encode_request(req, "gemini-3-flash")))
    back = CODEC.decode_request(wire, RequestTarget(model=req.model, stream=req.stream))
    assert back.system == req.system and back.model == req.model and back.stream == req.stream
    assert merged_roles(back.messages) == merged_roles(req.messages)
    assert [(t.name, t.description, t.parameters) for t in back.tools] == [
        (t.name, t.description, t.parameters) for t in req.tools
    ]
    assert (back.max_tokens, back.temperature, back.stop) == (req.max_tokens, req.temperature, req.stop[:5])


def test_stream_signatures_are_never_doubled_by_a_shared_part_object() -> None:
    """StreamAssembler appends SignatureDeltas onto the object PartStart carries; the gateway
    feeds it a chunk's events before the client encoder sees them."""
    dec = GoogleChunkDecoder()
    events = dec.feed(
        sse(
            chunk({"text": "a", "thought": True}),
            chunk({"text": "b", "thought": True, "thoughtSignature": "s1"}),
            chunk({"text": "c", "thought": True, "thoughtSignature": "s2"}),
            chunk({"text": "x"}, finishReason="STOP", usageMetadata=USAGE),
        )
    )
    assert events[1:8] == [
        PartStart(0, ReasoningPart(origin="google-genai")),
        ReasoningDelta(0, "a"),
        ReasoningDelta(0, "b"),
        SignatureDelta(0, "s1"),  # a later chunk: the client encoder already copied PartStart
        PartStop(0),
        PartStart(1, ReasoningPart(signature="s2", origin="google-genai")),  # with the start
        ReasoningDelta(1, "c"),
    ]
    # the encoder side: PartStart already mutated by the assembler, then the delta itself
    part = ReasoningPart(text="t", signature="sig-a", origin="anthropic-messages")
    enc = GoogleStreamEncoder(cross_style_request())
    out = enc.encode(PartStart(0, part)) + enc.encode(SignatureDelta(0, "sig-a")) + enc.encode(PartStop(0))
    out += enc.encode(PartStart(1, TextPart("hi"))) + enc.encode(PartStop(1))
    token = json.loads(out.split(b"\n\n")[1][6:])["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    assert artifacts.unwrap(token) == part
