"""The built-in ``mock`` provider: deterministic answers with no network and no key.

It lets the gateway start and be tried with nothing configured, and gives tests and benchmarks a
provider with no I/O. Same request, same answer:

* a conversation ending in tool results gets a text answer that quotes them;
* a request offering tools whose last user turn asks for one (names a tool, or says "tool",
  "call", "use", "run", "write", "create"), or whose ``tool_choice`` requires one, gets a call
  to that tool with arguments filled from its JSON Schema;
* a JSON response format gets JSON (schema-shaped when a schema is given);
* otherwise a short text that quotes the last user message.

``max_tokens`` and stop sequences are honoured; usage is estimated at ~4 characters a token.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from app.canonical import (
    Finish,
    Message,
    Part,
    PartStart,
    PartStop,
    Request,
    Response,
    StopReason,
    StreamEvent,
    StreamStart,
    Style,
    TextDelta,
    TextPart,
    ToolArgsDelta,
    ToolCallPart,
    ToolDef,
    ToolResultPart,
    Usage,
)
from app.observability.token_estimate import estimate_text as estimate_tokens
from app.providers.base import Completion, StreamChunk, UpstreamCall

_ASKS_FOR_TOOL = re.compile(r"\b(tool|tools|call|use|run|execute|write|create|invoke)\b", re.IGNORECASE)
_WORDS = re.compile(r"\S+\s*")


class MockProvider:
    style: Style = "mock"
    disabled_reason: str | None = None

    def __init__(self, name: str = "mock") -> None:
        self.name = name

    async def complete(self, call: UpstreamCall) -> Completion:
        return Completion(answer(call.request, call.model))

    async def open_stream(self, call: UpstreamCall) -> MockStream:
        return MockStream(self.name, answer(call.request, call.model))

    async def aclose(self) -> None:
        return None


class MockStream:
    passthrough = False
    style: Style = "mock"

    def __init__(self, provider: str, resp: Response) -> None:
        self.provider = provider
        self._resp = resp

    async def __aiter__(self) -> AsyncIterator[StreamChunk]:
        for ev in stream_events(self._resp):
            yield StreamChunk(b"", [ev])

    async def aclose(self) -> None:
        return None


def stream_events(resp: Response) -> list[StreamEvent]:
    """The answer as a provider would stream it: a delta per word, tool arguments in slices."""
    events: list[StreamEvent] = [
        StreamStart(resp.id, resp.model, resp.created, Usage(input_tokens=resp.usage.input_tokens))
    ]
    for i, part in enumerate(resp.content):
        if isinstance(part, TextPart):
            events.append(PartStart(i, TextPart("")))
            events.extend(TextDelta(i, w) for w in _WORDS.findall(part.text))
        elif isinstance(part, ToolCallPart):
            events.append(PartStart(i, ToolCallPart(part.id, part.name)))
            step = max(1, len(part.arguments) // 3)
            events.extend(
                ToolArgsDelta(i, part.arguments[k : k + step]) for k in range(0, len(part.arguments), step)
            )
        events.append(PartStop(i))
    events.append(Finish(resp.stop_reason, resp.stop_sequence, resp.usage))
    return events


def answer(req: Request, model: str) -> Response:
    digest = hashlib.sha256(msgspec.json.encode(req.messages)).hexdigest()[:24]
    parts: list[Part]
    stop: StopReason = "end_turn"
    stop_sequence: str | None = None
    last = req.messages[-1] if req.messages else Message("user", [])
    results = [p for p in last.content if isinstance(p, ToolResultPart)]
    tool = _wanted_tool(req, last) if not results else None
    if results:
        quoted = "; ".join(
            f"{r.name or r.tool_call_id} returned {_text_of(r.content)[:200]!r}" for r in results
        )
        parts = [TextPart(f"Mock answer: {quoted}.")]
    elif tool is not None:
        args = msgspec.json.encode(
            _example(tool.parameters or {}, _text_of(last.content), tool.name)
        ).decode()
        if tool.kind == "custom":
            args = f"mock input for {tool.name}"
        parts = [ToolCallPart(f"call_mock_{digest[:16]}", tool.name, args, kind=tool.kind)]
        stop = "tool_use"
    else:
        text = _text_answer(req, model, _text_of(last.content))
        for seq in req.stop:
            cut = text.find(seq) if seq else -1
            if cut >= 0:
                text, stop, stop_sequence = text[:cut], "stop_sequence", seq
                break
        if req.max_tokens is not None and estimate_tokens(text) > req.max_tokens:
            text, stop = text[: max(0, req.max_tokens) * 4], "max_tokens"
        parts = [TextPart(text)]
    prompt = _prompt_text(req)
    out_text = "".join(
        p.text if isinstance(p, TextPart) else p.arguments
        for p in parts
        if isinstance(p, TextPart | ToolCallPart)
    )
    return Response(
        id=f"mock-{digest}",
        model=model,
        content=parts,
        stop_reason=stop,
        stop_sequence=stop_sequence,
        usage=Usage(input_tokens=estimate_tokens(prompt), output_tokens=max(1, estimate_tokens(out_text))),
        created=int(time.time()),
    )


def _text_answer(req: Request, model: str, said: str) -> str:
    rf = req.response_format
    if rf is not None and rf.type == "json_schema" and rf.schema:
        return msgspec.json.encode(_example(rf.schema, said, "value")).decode()
    if rf is not None and rf.type == "json_object":
        return msgspec.json.encode({"answer": f"mock answer to: {said[:100]}"}).decode()
    said = " ".join(said.split())
    if len(said) > 200:
        said = said[:200] + "..."
    return f'Mock response from frugal-gateway (model {model}). You said: "{said}"'


def _wanted_tool(req: Request, last: Message) -> ToolDef | None:
    if not req.tools or last.role != "user":
        return None
    choice = req.tool_choice
    if choice is not None and choice.mode == "none":
        return None
    by_name = {t.name: t for t in req.tools}
    if choice is not None and choice.mode == "tool" and choice.name in by_name:
        return by_name[choice.name]
    text = _text_of(last.content)
    lowered = text.lower()
    named = [t for t in req.tools if t.name.lower() in lowered]
    if named:
        return max(named, key=lambda t: len(t.name))
    if (choice is not None and choice.mode == "required") or _ASKS_FOR_TOOL.search(text):
        return req.tools[0]
    return None


def _text_of(parts: list[Any]) -> str:
    return "\n".join(p.text for p in parts if isinstance(p, TextPart))


def _prompt_text(req: Request) -> str:
    chunks = [p.text for p in req.system]
    for m in req.messages:
        for p in m.content:
            if isinstance(p, TextPart):
                chunks.append(p.text)
            elif isinstance(p, ToolCallPart):
                chunks.append(p.arguments)
            elif isinstance(p, ToolResultPart):
                chunks.append(_text_of(p.content))
    return "\n".join(chunks)


_NAMED_VALUES = (
    (re.compile(r"path|file|filename"), "mock_output.txt"),
    (re.compile(r"content|text|body"), "mock content"),
    (re.compile(r"command|cmd|script"), "echo mock"),
    (re.compile(r"url|uri"), "https://example.com"),
)


def _example(schema: dict[str, Any], said: str, name: str, depth: int = 0) -> Any:
    """A value that satisfies the common parts of a JSON Schema (type, enum, const, required)."""
    if depth > 6:
        return None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key] and isinstance(schema[key][0], dict):
            return _example(schema[key][0], said, name, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or (kind is None and "properties" in schema):
        props: dict[str, Any] = schema["properties"] if isinstance(schema.get("properties"), dict) else {}
        required: list[Any] = schema["required"] if isinstance(schema.get("required"), list) else list(props)
        return {
            k: _example(props[k] if isinstance(props.get(k), dict) else {}, said, k, depth + 1)
            for k in required
            if k in props
        }
    if kind == "array":
        items: dict[str, Any] = schema["items"] if isinstance(schema.get("items"), dict) else {}
        count = int(schema.get("minItems") or 0)
        return [_example(items, said, name, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    for pattern, value in _NAMED_VALUES:
        if pattern.search(name.lower()):
            return value
    return said[:80] or "mock"
