"""Fake OpenAI Chat Completions provider (``POST /v1/chat/completions``), SSE included.

Written from the OpenAI API reference and the ``openai`` SDK types, independently of the gateway.
Like the real API it rejects tool messages that answer no earlier call, and (for models whose
name contains "deepseek", like DeepSeek's API) an assistant tool-call turn without its
``reasoning_content``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from tests.e2e.fakes.base import FakeUpstream, Recorded, Scenario, stream_cut
from tests.e2e.fakes.script import Conversation, Plan, ToolResult, ToolSpec, plan

FINISH = {"end": "stop", "tool": "tool_calls", "max_tokens": "length", "stop_sequence": "stop"}


class FakeOpenAIChat(FakeUpstream):
    def __init__(self) -> None:
        super().__init__(style="openai-chat")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/chat/completions", self.handle),
            web.get("/v1/models", self.models),
        ]

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = {400: "invalid_request_error", 401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(
            status, "server_error"
        )
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    async def models(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.json_response(
            {"object": "list", "data": [{"id": "fake", "object": "model", "created": 0, "owned_by": "fake"}]}
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        rec = await self.record(request)
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return self.error(401, "missing bearer token")
        body = rec.json
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return self.error(400, "body must be an object with a model")
        scenario = Scenario.parse(body["model"])
        if scenario.name == "echo-key":  # what OpenAI does with a wrong key: quote it back
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            return self.error(401, f"Incorrect API key provided: {token}. You can find your API key at ...")
        early = await self.before_answer(scenario, request, rec)
        if early is not None:
            return early
        try:
            conv = parse(body)
        except ValueError as exc:
            rec.status = 400
            return self.error(400, str(exc))
        rec.conversation = conv
        rejected = self.reject(scenario, conv)
        if rejected is not None:
            rec.status = 400
            return rejected
        p = plan(conv, body["model"], self.style)
        rec.plan = p
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return await self.stream(request, body["model"], p, include_usage, scenario, rec)
        return web.json_response(completion(body["model"], p))

    async def stream(
        self,
        request: web.Request,
        model: str,
        p: Plan,
        include_usage: bool,
        scenario: Scenario,
        rec: Recorded,
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
        await resp.prepare(request)
        if scenario.name == "error-first":
            await resp.write(
                b'data: {"error": {"message": "overloaded", "type": "server_error", "code": 503}}\n\n'
            )
            await resp.write_eof()
            return resp
        base = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        if scenario.name == "slowstream":
            return await self.slow_stream(resp, base, rec)
        if scenario.name == "drip":
            first = {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "dr"}}]}
            await resp.write(b"data: " + json.dumps(first).encode() + b"\n\n")
            try:
                for _ in range(600):  # 60 s at most: keep-alive comments, never another event
                    await asyncio.sleep(0.1)
                    await resp.write(b": still thinking\n\n")
            except (asyncio.CancelledError, ConnectionResetError):
                rec.status = 499
                raise
            return resp
        chunks = list(chunk_deltas(p))
        for n, (delta, finish) in enumerate(chunks):
            if scenario.name == "cut" and n == 2:
                return await stream_cut(resp, request)
            payload = {
                **base,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            }
            await resp.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
            await asyncio.sleep(0)
        if include_usage:
            await resp.write(
                b"data: " + json.dumps({**base, "choices": [], "usage": usage(p)}).encode() + b"\n\n"
            )
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def slow_stream(
        self, resp: web.StreamResponse, base: dict[str, Any], rec: Recorded
    ) -> web.StreamResponse:
        try:
            for i in range(100):
                delta = {"content": f"tick {i} "}
                payload = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                await resp.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                await asyncio.sleep(0.1)
        except (asyncio.CancelledError, ConnectionResetError):
            rec.status = 499
            raise
        await resp.write(b"data: [DONE]\n\n")
        return resp


def parse(body: dict[str, Any]) -> Conversation:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty array")
    conv = Conversation(messages=len(messages))
    calls: dict[str, str] = {}
    last_assistant = -1
    thinking_required = "deepseek" in str(body.get("model"))
    for i, m in enumerate(messages):
        role = m.get("role")
        if role in ("system", "developer"):
            conv.system += _text(m.get("content"))
        elif role == "assistant":
            last_assistant = i
            for tc in m.get("tool_calls") or []:
                calls[tc["id"]] = tc["function"]["name"]
                json.loads(tc["function"]["arguments"] or "{}")  # must be valid JSON text
            if thinking_required and m.get("tool_calls") and not m.get("reasoning_content"):
                raise ValueError("The reasoning_content in the thinking mode must be passed back to the API.")
        elif role == "tool":
            if m.get("tool_call_id") not in calls:
                raise ValueError(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'."
                )
        elif role == "user":
            conv.last_user_text = _text(m.get("content"))
            content = m.get("content")
            if isinstance(content, list):
                conv.images += sum(1 for c in content if c.get("type") == "image_url")
        else:
            raise ValueError(f"unknown role {role!r}")
    tail = messages[last_assistant + 1 :] if last_assistant >= 0 else []
    results = [m for m in tail if m.get("role") == "tool"]
    if results:
        conv.last_role = "tool"
        conv.tool_results = [
            ToolResult(r["tool_call_id"], calls.get(r["tool_call_id"]), _text(r.get("content")))
            for r in results
        ]
    for t in body.get("tools") or []:
        fn = t.get("function") or {}
        conv.tools.append(ToolSpec(fn["name"], fn.get("parameters") or {}))
    choice = body.get("tool_choice")
    if choice == "required":
        conv.tool_required = True
    elif isinstance(choice, dict) and choice.get("type") == "function":
        conv.forced_tool = choice["function"]["name"]
    rf = body.get("response_format") or {}
    if rf.get("type") in ("json_object", "json_schema"):
        conv.wants_json = True
        conv.json_schema = (rf.get("json_schema") or {}).get("schema")
    conv.thinking = body.get("reasoning_effort") not in (None, "none")
    stop = body.get("stop")
    conv.stop = [stop] if isinstance(stop, str) else list(stop or [])
    conv.max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    return conv


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(c.get("text", "") for c in content if c.get("type") == "text")
    return ""


def usage(p: Plan) -> dict[str, Any]:
    return {
        "prompt_tokens": p.usage.input,
        "completion_tokens": p.usage.output,
        "total_tokens": p.usage.input + p.usage.output,
        "prompt_tokens_details": {"cached_tokens": p.usage.cache_read},
        "completion_tokens_details": {"reasoning_tokens": p.usage.reasoning},
    }


def completion(model: str, p: Plan) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": p.text, "refusal": None}
    if p.reasoning:
        msg["reasoning_content"] = p.reasoning
    if p.calls:
        msg["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.args)}}
            for c in p.calls
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": msg, "finish_reason": FINISH[p.stop], "logprobs": None}],
        "usage": usage(p),
        "system_fingerprint": "fp_fake",
    }


def _pieces(text: str, n: int = 3) -> list[str]:
    size = max(1, -(-len(text) // n))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def chunk_deltas(p: Plan) -> list[tuple[dict[str, Any], str | None]]:
    out: list[tuple[dict[str, Any], str | None]] = [({"role": "assistant", "content": ""}, None)]
    if p.reasoning:
        out += [({"reasoning_content": piece}, None) for piece in _pieces(p.reasoning)]
    if p.text:
        out += [({"content": piece}, None) for piece in _pieces(p.text)]
    for k, c in enumerate(p.calls):
        out.append(
            (
                {
                    "tool_calls": [
                        {
                            "index": k,
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": ""},
                        }
                    ]
                },
                None,
            )
        )
        out += [
            ({"tool_calls": [{"index": k, "function": {"arguments": piece}}]}, None)
            for piece in _pieces(json.dumps(c.args))
        ]
    out.append(({}, FINISH[p.stop]))
    return out


def recorded_tool_ids(rec: Recorded) -> list[str]:
    """The tool_call_ids a recorded request answered, in order."""
    return [m["tool_call_id"] for m in rec.json["messages"] if m.get("role") == "tool"]
