"""Fake OpenAI Responses provider (``POST /v1/responses``), typed SSE events included.

Written from the OpenAI API reference and the ``openai`` SDK types (``openai/types/responses``),
independently of the gateway. Like the real API it refuses:

* unknown top-level parameters (``Unknown parameter: 'stop'``) and a ``max_output_tokens``
  below 16;
* an output item (``function_call_output`` / ``custom_tool_call_output``) whose ``call_id``
  answers no earlier call of the same kind;
* item ids with the wrong prefix (``fc_`` for function calls, ``rs_`` for reasoning, ...);
* with ``store: false``: a reasoning item without ``encrypted_content`` (nothing to look it up
  in), encrypted content it did not issue or issued for another item id, a reasoning item not
  followed by the item it led to, and a ``function_call`` carrying an id the fake issued after a
  reasoning item when that reasoning item is missing from the same run of assistant items.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.e2e.fakes.base import FakeUpstream, Recorded, Scenario, stream_cut
from tests.e2e.fakes.script import Conversation, Plan, ToolResult, ToolSpec, plan

# ResponseCreateParams (openai SDK) + stream, and Codex's client_metadata, which OpenAI accepts
PARAMS = frozenset(
    {
        "access_programs", "background", "background_options", "context_management", "conversation",
        "image", "include", "input", "instructions", "max_output_tokens", "max_tool_calls",
        "metadata", "model", "moderation", "parallel_tool_calls", "previous_response_id", "prompt",
        "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "reasoning",
        "safety_identifier", "service_tier", "store", "stream", "stream_options", "temperature",
        "text", "tool_choice", "tools", "top_logprobs", "top_p", "truncation", "user",
        "client_metadata",
    }
)  # fmt: skip
ID_PREFIX = {"function_call": "fc", "custom_tool_call": "ctc", "reasoning": "rs"}
ASSISTANT_ITEMS = frozenset({"reasoning", "function_call", "custom_tool_call", "web_search_call"})
OUTPUT_ITEMS = {"function_call_output": "function_call", "custom_tool_call_output": "custom_tool_call"}
CUSTOM_SCHEMA = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}


class Invalid(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Issued:
    """What the fake handed out, to verify when it comes back (store: false)."""

    reasoning: dict[str, str] = field(default_factory=dict)  # encrypted_content -> rs id
    bound_calls: dict[str, str] = field(default_factory=dict)  # fc id -> encrypted_content before it


class FakeOpenAIResponses(FakeUpstream):
    def __init__(self) -> None:
        super().__init__(style="openai-responses")
        self.issued = Issued()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/responses", self.handle)]

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = {401: "invalid_request_error", 404: "invalid_request_error", 429: "rate_limit_exceeded"}.get(
            status, "invalid_request_error" if status < 500 else "server_error"
        )
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        rec = await self.record(request)
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return self.error(401, "You didn't provide an API key.")
        body = rec.json
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return self.error(400, "body must be an object with a model")
        scenario = Scenario.parse(body["model"])
        early = await self.before_answer(scenario, request, rec)
        if early is not None:
            return early
        try:
            conv, namespaces = parse(body, self.issued)
        except Invalid as exc:
            rec.status = exc.status
            return self.error(exc.status, str(exc))
        rec.conversation = conv
        rejected = self.reject(scenario, conv)
        if rejected is not None:
            rec.status = 400
            return rejected
        p = plan(conv, body["model"], self.style)
        rec.plan = p
        answer = render(body, p, namespaces, self.issued)
        if body.get("stream"):
            return await self.stream(request, answer, scenario, rec)
        return web.json_response(answer)

    async def stream(
        self, request: web.Request, answer: dict[str, Any], scenario: Scenario, rec: Recorded
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
        await resp.prepare(request)
        if scenario.name == "error-first":
            event = {"type": "error", "code": "server_error", "message": "overloaded", "param": None}
            await resp.write(sse(event, 0))
            await resp.write_eof()
            return resp
        if scenario.name == "slowstream":
            return await self.slow_stream(resp, answer, rec)
        for n, event in enumerate(stream_events(answer)):
            if scenario.name == "cut" and n == 4:
                return await stream_cut(resp, request)
            await resp.write(sse(event, n))
            await asyncio.sleep(0)
        await resp.write_eof()
        return resp

    async def slow_stream(
        self, resp: web.StreamResponse, answer: dict[str, Any], rec: Recorded
    ) -> web.StreamResponse:
        start = {**answer, "status": "in_progress", "output": [], "usage": None}
        await resp.write(sse({"type": "response.created", "response": start}, 0))
        item = {
            "id": "msg_slow",
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        await resp.write(sse({"type": "response.output_item.added", "output_index": 0, "item": item}, 1))
        try:
            for i in range(100):
                delta = {
                    "type": "response.output_text.delta",
                    "item_id": "msg_slow",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": f"tick {i} ",
                    "logprobs": [],
                }
                await resp.write(sse(delta, i + 2))
                await asyncio.sleep(0.1)
        except (asyncio.CancelledError, ConnectionResetError):
            rec.status = 499
            raise
        return resp


# ================================================================================ requests


def parse(body: dict[str, Any], issued: Issued) -> tuple[Conversation, dict[str, str]]:
    """The request as a Conversation, validated the way api.openai.com does; also the tool name
    -> namespace map for calls of namespaced tools."""
    unknown = sorted(set(body) - PARAMS)
    if unknown:
        raise Invalid(f"Unknown parameter: '{unknown[0]}'.")
    max_out = body.get("max_output_tokens")
    if max_out is not None and (not isinstance(max_out, int) or max_out < 16):
        raise Invalid(
            f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got {max_out}."
        )
    conv = Conversation(max_tokens=max_out)
    if isinstance(body.get("instructions"), str):
        conv.system += body["instructions"]
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise Invalid("Missing required parameter: 'input'.")
    conv.messages = len(items)
    _read_items(conv, items, body.get("store") is False, issued)
    namespaces = _read_tools(conv, body.get("tools") or [])
    choice = body.get("tool_choice")
    if choice == "required":
        conv.tool_required = True
    elif isinstance(choice, dict):
        if choice.get("type") in ("function", "custom"):
            conv.forced_tool = choice["name"]
        elif choice.get("type") == "allowed_tools" and choice.get("mode") == "required":
            conv.tool_required = True
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") in ("json_object", "json_schema"):
        conv.wants_json = True
        conv.json_schema = fmt.get("schema")
        if fmt.get("type") == "json_schema" and not isinstance(fmt.get("name"), str):
            raise Invalid("Missing required parameter: 'text.format.name'.")
    reasoning = body.get("reasoning") or {}
    conv.thinking = reasoning.get("effort") not in (None, "none") or bool(reasoning.get("summary"))
    return conv, namespaces


def _read_items(conv: Conversation, items: list[Any], stateless: bool, issued: Issued) -> None:
    calls: dict[str, tuple[str, str]] = {}  # call_id -> (item type, name)
    run_reasoning: list[str] = []  # encrypted contents of the current run of assistant items
    last_assistant = -1
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise Invalid(f"Invalid type for 'input[{i}]': expected an object.")
        kind = item.get("type") or ("message" if "role" in item else None)
        role = item.get("role")
        assistant_side = kind in ASSISTANT_ITEMS or (kind == "message" and role == "assistant")
        if not assistant_side:
            run_reasoning = []
        _check_id(item, kind, i)
        if kind == "message":
            if role in ("system", "developer"):
                conv.system += _text(item.get("content"))
            elif role == "user":
                conv.last_user_text = _text(item.get("content"))
                content = item.get("content")
                if isinstance(content, list):
                    conv.images += sum(1 for c in content if c.get("type") == "input_image")
            elif role == "assistant":
                last_assistant = i
            else:
                raise Invalid(
                    f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'."
                )
        elif kind == "reasoning":
            last_assistant = i
            _check_reasoning(item, i, items, stateless, issued)
            if item.get("encrypted_content"):
                run_reasoning.append(item["encrypted_content"])
        elif kind in ("function_call", "custom_tool_call"):
            last_assistant = i
            name = item.get("name")
            if not isinstance(item.get("call_id"), str) or not isinstance(name, str):
                raise Invalid(f"Missing required parameter: 'input[{i}].call_id'.")
            if kind == "function_call":
                try:
                    json.loads(item.get("arguments") or "")
                except ValueError:
                    raise Invalid(f"Invalid 'input[{i}].arguments': not valid JSON.") from None
            elif not isinstance(item.get("input"), str):
                raise Invalid(f"Missing required parameter: 'input[{i}].input'.")
            bound = issued.bound_calls.get(item.get("id") or "")
            if stateless and bound is not None and bound not in run_reasoning:
                raise Invalid(
                    f"Item '{item['id']}' of type '{kind}' was provided without its required 'reasoning' item: "
                    f"'{issued.reasoning[bound]}'."
                )
            calls[item["call_id"]] = (kind, name)
        elif kind in OUTPUT_ITEMS:
            call = calls.get(item.get("call_id") or "")
            if call is None or call[0] != OUTPUT_ITEMS[kind]:
                raise Invalid(
                    f"No tool call found for {kind.replace('_', ' ')} with call_id {item.get('call_id')}."
                )
        elif kind in ("web_search_call", "item_reference", "compaction"):
            pass
        else:
            raise Invalid(
                f"Invalid value: '{kind}'. Supported values are: 'message', 'reasoning', 'function_call', ..."
            )
    tail = items[last_assistant + 1 :] if last_assistant >= 0 else []
    outputs = [it for it in tail if isinstance(it, dict) and it.get("type") in OUTPUT_ITEMS]
    if outputs:
        conv.last_role = "tool"
        conv.tool_results = [
            ToolResult(o["call_id"], calls[o["call_id"]][1], _output_text(o.get("output"))) for o in outputs
        ]


def _check_id(item: dict[str, Any], kind: Any, i: int) -> None:
    prefix = ID_PREFIX.get(str(kind))
    item_id = item.get("id")
    if prefix is None or item_id is None:
        if kind == "reasoning":
            raise Invalid(f"Missing required parameter: 'input[{i}].id'.")
        return
    if not isinstance(item_id, str) or not item_id.startswith(prefix):
        raise Invalid(f"Invalid 'input[{i}].id': '{item_id}'. Expected an ID that begins with '{prefix}'.")


def _check_reasoning(item: dict[str, Any], i: int, items: list[Any], stateless: bool, issued: Issued) -> None:
    if not isinstance(item.get("summary"), list):
        raise Invalid(f"Missing required parameter: 'input[{i}].summary'.")
    if item.get("content"):
        raise Invalid(
            f"Invalid 'input[{i}].content': array too long. Expected an array with maximum length 0."
        )
    enc = item.get("encrypted_content")
    if not enc:
        if stateless:
            raise Invalid(
                f"Item with id '{item['id']}' not found. Items are not persisted when `store` is set to false.",
                404,
            )
        return
    if enc not in issued.reasoning:
        raise Invalid("The encrypted content could not be decrypted or parsed.")
    if issued.reasoning[enc] != item["id"]:
        raise Invalid(
            f"The encrypted content for item {item['id']} could not be verified. "
            "Reason: Encrypted content item_id did not match the target item id."
        )
    following = items[i + 1] if i + 1 < len(items) else None
    if (
        not isinstance(following, dict)
        or following.get("type") == "reasoning"
        or following.get("role") == "user"
    ):
        raise Invalid(
            f"Item '{item['id']}' of type 'reasoning' was provided without its required following item."
        )


def _read_tools(conv: Conversation, tools: list[Any]) -> dict[str, str]:
    namespaces: dict[str, str] = {}
    for j, t in enumerate(tools):
        kind = t.get("type")
        members = [(t, None)] if kind in ("function", "custom") else []
        if kind == "namespace":
            members = [(inner, t["name"]) for inner in t.get("tools") or []]
        for tool, ns in members:
            if not isinstance(tool.get("name"), str):
                raise Invalid(f"Missing required parameter: 'tools[{j}].name'.")
            if tool["type"] == "custom":
                conv.tools.append(ToolSpec(tool["name"], CUSTOM_SCHEMA, kind="custom"))
            else:
                conv.tools.append(ToolSpec(tool["name"], tool.get("parameters") or {}))
            if ns is not None:
                namespaces[tool["name"]] = ns
    return namespaces


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(c.get("text", "") for c in content if c.get("type") in ("input_text", "output_text"))
    return ""


def _output_text(output: Any) -> str:
    return output if isinstance(output, str) else _text(output)


# ================================================================================ answers


def usage(p: Plan) -> dict[str, Any]:
    return {
        "input_tokens": p.usage.input,
        "input_tokens_details": {
            "cached_tokens": p.usage.cache_read,
            "cache_write_tokens": p.usage.cache_write,
        },
        "output_tokens": p.usage.output,
        "output_tokens_details": {"reasoning_tokens": p.usage.reasoning},
        "total_tokens": p.usage.input + p.usage.output,
    }


def _id(prefix: str, *parts: str) -> str:
    return f"{prefix}_" + hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def render(body: dict[str, Any], p: Plan, namespaces: dict[str, str], issued: Issued) -> dict[str, Any]:
    seed = json.dumps(body.get("input"), sort_keys=True)
    output: list[dict[str, Any]] = []
    if p.reasoning:
        rs_id = _id("rs", seed)
        assert p.signature is not None
        issued.reasoning[p.signature] = rs_id
        output.append(
            {
                "id": rs_id,
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": p.reasoning}],
                "encrypted_content": p.signature,
            }
        )
    if p.text is not None:
        output.append(
            {
                "id": _id("msg", seed),
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": p.text, "annotations": [], "logprobs": []}],
            }
        )
    for k, c in enumerate(p.calls):
        if c.kind == "custom":
            item: dict[str, Any] = {
                "id": _id("ctc", seed, str(k)),
                "type": "custom_tool_call",
                "call_id": c.id,
                "name": c.name,
                "input": str(c.args.get("input", "")),
            }
        else:
            item = {
                "id": _id("fc", seed, str(k)),
                "type": "function_call",
                "call_id": c.id,
                "name": c.name,
                "arguments": json.dumps(c.args),
                "status": "completed",
            }
            if c.name in namespaces:
                item["namespace"] = namespaces[c.name]
        if p.signature:
            issued.bound_calls[item["id"]] = p.signature
        output.append(item)
    incomplete = p.stop == "max_tokens"
    return {
        "id": _id("resp", seed),
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if incomplete else "completed",
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": usage(p),
        "metadata": {},
    }


def _pieces(text: str, n: int = 3) -> list[str]:
    size = max(1, -(-len(text) // n))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def stream_events(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The events api.openai.com sends for ``answer``: lifecycle, then item by item."""
    start = {**answer, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
    ]
    for k, item in enumerate(answer["output"]):
        events.extend(_item_events(k, item))
    events.append({"type": f"response.{answer['status']}", "response": answer})
    return events


def _item_events(k: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    where = {"item_id": item["id"], "output_index": k}
    kind = item["type"]
    out: list[dict[str, Any]] = []
    if kind == "message":
        text = item["content"][0]["text"]
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        out.append(
            {
                "type": "response.output_item.added",
                "output_index": k,
                "item": {**item, "status": "in_progress", "content": []},
            }
        )
        out.append({"type": "response.content_part.added", **where, "content_index": 0, "part": part})
        out += [
            {"type": "response.output_text.delta", **where, "content_index": 0, "delta": d, "logprobs": []}
            for d in _pieces(text)
        ]
        out.append(
            {"type": "response.output_text.done", **where, "content_index": 0, "text": text, "logprobs": []}
        )
        out.append(
            {"type": "response.content_part.done", **where, "content_index": 0, "part": item["content"][0]}
        )
    elif kind == "reasoning":
        text = item["summary"][0]["text"]
        summary = {"type": "summary_text", "text": ""}
        out.append(
            {
                "type": "response.output_item.added",
                "output_index": k,
                "item": {"id": item["id"], "type": "reasoning", "summary": []},
            }
        )
        out.append(
            {"type": "response.reasoning_summary_part.added", **where, "summary_index": 0, "part": summary}
        )
        out += [
            {"type": "response.reasoning_summary_text.delta", **where, "summary_index": 0, "delta": d}
            for d in _pieces(text)
        ]
        out.append(
            {"type": "response.reasoning_summary_text.done", **where, "summary_index": 0, "text": text}
        )
        out.append(
            {
                "type": "response.reasoning_summary_part.done",
                **where,
                "summary_index": 0,
                "part": {**summary, "text": text},
            }
        )
    elif kind == "function_call":
        args = item["arguments"]
        out.append(
            {
                "type": "response.output_item.added",
                "output_index": k,
                "item": {**item, "arguments": "", "status": "in_progress"},
            }
        )
        out += [
            {"type": "response.function_call_arguments.delta", **where, "delta": d} for d in _pieces(args)
        ]
        out.append({"type": "response.function_call_arguments.done", **where, "arguments": args})
    elif kind == "custom_tool_call":
        text = item["input"]
        out.append({"type": "response.output_item.added", "output_index": k, "item": {**item, "input": ""}})
        out += [{"type": "response.custom_tool_call_input.delta", **where, "delta": d} for d in _pieces(text)]
        out.append({"type": "response.custom_tool_call_input.done", **where, "input": text})
    out.append({"type": "response.output_item.done", "output_index": k, "item": item})
    return out


def sse(event: dict[str, Any], n: int) -> bytes:
    body = {**event, "sequence_number": n}
    return b"event: " + event["type"].encode() + b"\ndata: " + json.dumps(body).encode() + b"\n\n"
