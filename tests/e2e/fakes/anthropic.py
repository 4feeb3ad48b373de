"""Fake Anthropic Messages provider (``POST /v1/messages``), SSE included.

Written from the Anthropic API reference and the ``anthropic`` SDK types, independently of the
gateway. Like the real API it insists on ``x-api-key`` and ``anthropic-version``, refuses fields
the API does not know, a conversation that does not start with a user turn, text blocks that are
empty or whitespace-only, tool results that answer no call of the assistant turn just before
(or that are not first in their turn), calls left without results, forced tool use or sampling
overrides with enabled thinking, ``budget_tokens`` outside ``1024 <= budget < max_tokens``,
thinking blocks whose signature it did not issue, and — with thinking enabled — a final tool-use
assistant turn that does not start with its signed thinking block.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web

from tests.e2e.fakes.base import FakeUpstream, Recorded, Scenario, stream_cut
from tests.e2e.fakes.script import Conversation, Plan, ToolResult, ToolSpec, plan, signature_for

STYLE = "anthropic-messages"
STOP = {"end": "end_turn", "tool": "tool_use", "max_tokens": "max_tokens", "stop_sequence": "stop_sequence"}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
    503: "overloaded_error",
}
# MessageCreateParams (anthropic/types/message_create_params.py) plus the beta-only fields
# Claude Code sends; anything else is "Extra inputs are not permitted".
KNOWN_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "cache_control", "container", "diagnostics", "inference_geo",
        "metadata", "output_config", "service_tier", "speed", "stop_sequences", "stream", "system",
        "temperature", "thinking", "tool_choice", "tools", "top_k", "top_p", "user_profile_id",
        "workspace_id", "context_management", "mcp_servers",
    }
)  # fmt: skip
TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


class FakeAnthropic(FakeUpstream):
    def __init__(self) -> None:
        super().__init__(style=STYLE)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/messages", self.handle),
            web.post("/v1/messages/count_tokens", self.count_tokens),
            web.get("/v1/models", self.models),
        ]

    async def count_tokens(self, request: web.Request) -> web.Response:
        """A recognisable count (4242 + one per message) so tests can tell it from an estimate."""
        rec = await self.record(request)
        if not request.headers.get("x-api-key"):
            return self.error(401, "x-api-key header is required")
        body = rec.json if isinstance(rec.json, dict) else {}
        if "max_tokens" in body or "stream" in body:
            return self.error(400, "count_tokens takes no max_tokens or stream")
        return web.json_response({"input_tokens": 4242 + len(body.get("messages") or [])})

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake"}

    async def models(self, request: web.Request) -> web.Response:
        await self.record(request)
        model = {"type": "model", "id": "fake", "display_name": "Fake", "created_at": "2025-01-01T00:00:00Z"}
        return web.json_response({"data": [model], "has_more": False, "first_id": "fake", "last_id": "fake"})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        rec = await self.record(request)
        if not request.headers.get("x-api-key"):
            rec.status = 401
            return self.error(401, "x-api-key header is required")
        if not request.headers.get("anthropic-version"):
            rec.status = 400
            return self.error(400, "anthropic-version: header is required")
        body = rec.json
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            rec.status = 400
            return self.error(400, "model: Field required")
        scenario = Scenario.parse(body["model"])
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
            return await self.stream(request, body["model"], conv, p, scenario, rec)
        return web.json_response(message(body["model"], conv, p))

    async def stream(
        self,
        request: web.Request,
        model: str,
        conv: Conversation,
        p: Plan,
        scenario: Scenario,
        rec: Recorded,
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
        await resp.prepare(request)
        events = stream_events(model, conv, p)
        if scenario.name == "error-first":
            events = [
                events[0],
                {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            ]
        if scenario.name == "slowstream":
            return await self.slow_stream(resp, events[0], rec)
        for n, ev in enumerate(events):
            if scenario.name == "cut" and n == 3:
                return await stream_cut(resp, request)
            await resp.write(sse(ev))
            await asyncio.sleep(0)
        await resp.write_eof()
        return resp

    async def slow_stream(
        self, resp: web.StreamResponse, start: dict[str, Any], rec: Recorded
    ) -> web.StreamResponse:
        try:
            await resp.write(sse(start))
            block = {"type": "text", "text": ""}
            await resp.write(sse({"type": "content_block_start", "index": 0, "content_block": block}))
            for i in range(100):
                delta = {"type": "text_delta", "text": f"tick {i} "}
                await resp.write(sse({"type": "content_block_delta", "index": 0, "delta": delta}))
                await asyncio.sleep(0.1)
        except (asyncio.CancelledError, ConnectionResetError):
            rec.status = 499
            raise
        return resp


def sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


# ------------------------------------------------------------------------------------ parsing


def parse(body: dict[str, Any]) -> Conversation:
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown:
        raise ValueError(f"{unknown[0]}: Extra inputs are not permitted")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        raise ValueError("max_tokens: Field required")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages: at least one message is required")
    conv = Conversation(messages=len(messages), max_tokens=max_tokens)
    conv.system = _system_text(body.get("system"))
    thinking = _thinking(body, max_tokens)
    conv.thinking = thinking is not None
    _tools(body, conv)
    _walk(messages, conv)
    if thinking == "enabled":
        _check_final_tool_turn(messages)
    fmt = (body.get("output_config") or {}).get("format")
    if isinstance(fmt, dict):
        if fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
            raise ValueError("output_config.format: expected {type: json_schema, schema}")
        conv.wants_json = True
        conv.json_schema = fmt["schema"]
    stop = body.get("stop_sequences") or []
    if any(not isinstance(s, str) or not s.strip() for s in stop):
        raise ValueError("stop_sequences: each stop sequence must contain non-whitespace")
    conv.stop = list(stop)
    return conv


def _system_text(system: Any) -> str:
    if system is None:
        return ""
    if isinstance(system, str):
        return system
    if not isinstance(system, list):
        raise ValueError("system: Input should be a valid string or list")
    out = []
    for i, b in enumerate(system):
        if not isinstance(b, dict) or b.get("type") != "text":
            raise ValueError(f"system.{i}.type: Input should be 'text'")
        _check_text(b, f"system.{i}")
        out.append(b["text"])
    return "\n".join(out)


def _thinking(body: dict[str, Any], max_tokens: int) -> str | None:
    """'enabled', 'adaptive' or None; validates what enabled thinking forbids."""
    cfg = body.get("thinking")
    if cfg is None or cfg.get("type") == "disabled":
        return None
    kind = cfg.get("type")
    if kind == "enabled":
        budget = cfg.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            raise ValueError("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if budget >= max_tokens:
            raise ValueError("`max_tokens` must be greater than `thinking.budget_tokens`")
        if body.get("temperature") not in (None, 1, 1.0):
            raise ValueError("`temperature` may only be set to 1 when thinking is enabled")
        if body.get("top_k") is not None:
            raise ValueError("`top_k` cannot be set when thinking is enabled")
        top_p = body.get("top_p")
        if top_p is not None and not 0.95 <= top_p <= 1:
            raise ValueError("`top_p` must be between 0.95 and 1 when thinking is enabled")
        if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
            raise ValueError("Thinking may not be enabled when tool_choice forces tool use.")
        return "enabled"
    if kind in ("adaptive", "between_tools"):
        return "adaptive"
    raise ValueError(f"thinking.type: unknown value {kind!r}")


def _tools(body: dict[str, Any], conv: Conversation) -> None:
    names = set()
    for i, t in enumerate(body.get("tools") or []):
        if t.get("type") not in (None, "custom"):
            continue  # server tools
        if not isinstance(t.get("name"), str):
            raise ValueError(f"tools.{i}.name: Field required")
        schema = t.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise ValueError(f"tools.{i}.custom.input_schema.type: Input should be 'object'")
        names.add(t["name"])
        conv.tools.append(ToolSpec(t["name"], schema))
    choice = body.get("tool_choice")
    if choice is None:
        return
    kind = choice.get("type")
    if kind not in ("auto", "any", "tool", "none"):
        raise ValueError(f"tool_choice.type: unknown value {kind!r}")
    if not names and kind != "none":
        raise ValueError("tool_choice may only be specified while providing tools.")
    if kind == "any":
        conv.tool_required = True
    elif kind == "tool":
        if choice.get("name") not in names:
            raise ValueError(f"Tool '{choice.get('name')}' not found in tools")
        conv.forced_tool = choice["name"]


def _blocks(content: Any, path: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        if not content.strip():
            raise ValueError(f"{path}: text content blocks must contain non-whitespace text")
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise ValueError(f"{path}: Input should be a valid string or list")
    return content


def _check_text(block: dict[str, Any], path: str) -> None:
    if not isinstance(block.get("text"), str) or not block["text"].strip():
        raise ValueError(f"{path}: text content blocks must contain non-whitespace text")


def _walk(messages: list[Any], conv: Conversation) -> None:
    """Validates the turn structure; fills the last user turn's text, images and tool results."""
    if messages[0].get("role") != "user":
        raise ValueError('messages: first message must use the "user" role')
    pending: dict[str, str] = {}  # tool_use id -> name, awaiting results in the next user turn
    prev_role = None
    for i, m in enumerate(messages):
        role = m.get("role")
        path = f"messages.{i}.content"
        if role == "system":
            if prev_role != "user":
                raise ValueError(f"messages.{i}: a system message must follow a user message")
            for j, b in enumerate(_blocks(m.get("content"), path)):
                _check_text(b, f"{path}.{j}")
                conv.system += "\n" + b["text"]
            continue
        blocks = _blocks(m.get("content"), path)
        if role == "assistant":
            _assistant(blocks, path, pending)
        elif role == "user":
            _user(blocks, path, pending, conv, new_turn=prev_role != "user")
        else:
            raise ValueError(f"messages.{i}.role: Input should be 'user', 'assistant' or 'system'")
        prev_role = role


def _assistant(blocks: list[dict[str, Any]], path: str, pending: dict[str, str]) -> None:
    for j, b in enumerate(blocks):
        kind = b.get("type")
        if kind == "text":
            _check_text(b, f"{path}.{j}")
        elif kind == "thinking":
            if b.get("signature") != signature_for(STYLE, b.get("thinking", "")):
                raise ValueError(f"{path}.{j}: Invalid `signature` in `thinking` block")
        elif kind == "tool_use":
            if not TOOL_ID.match(str(b.get("id"))):
                raise ValueError(f"{path}.{j}.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
            if not isinstance(b.get("input"), dict):
                raise ValueError(f"{path}.{j}.input: Input should be a valid dictionary")
            pending[b["id"]] = b["name"]
        elif kind != "redacted_thinking":
            raise ValueError(f"{path}.{j}.type: unexpected block {kind!r} in an assistant turn")


def _user(
    blocks: list[dict[str, Any]], path: str, pending: dict[str, str], conv: Conversation, *, new_turn: bool
) -> None:
    """One user message; consecutive ones form one turn (the API combines them). Tool results
    may only lead the turn that follows the assistant's calls, and must answer all of them."""
    if new_turn:
        conv.tool_results, conv.last_user_text, conv.images = [], "", 0
    seen_other = False
    for j, b in enumerate(blocks):
        kind = b.get("type")
        if kind == "tool_result":
            call_id = b.get("tool_use_id")
            if not new_turn or call_id not in pending:
                raise ValueError(
                    f"{path}.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {call_id}. Each "
                    "`tool_result` block must have a corresponding `tool_use` block in the previous message."
                )
            if seen_other:
                raise ValueError(f"{path}.{j}: tool_result blocks must come first in the user message")
            text = _result_text(b.get("content"))
            conv.tool_results.append(ToolResult(call_id, pending.pop(call_id), text, bool(b.get("is_error"))))
            continue
        seen_other = True
        if kind == "text":
            _check_text(b, f"{path}.{j}")
            conv.last_user_text += b["text"]
            conv.all_user_text += b["text"] + "\n"
        elif kind == "image":
            src = b.get("source") or {}
            if src.get("type") == "base64" and src.get("media_type") not in IMAGE_TYPES:
                raise ValueError(
                    f"{path}.{j}.source.media_type: Input should be one of {sorted(IMAGE_TYPES)}"
                )
            conv.images += 1
        elif kind not in ("document", "search_result", "container_upload"):
            raise ValueError(f"{path}.{j}.type: unexpected block {kind!r} in a user turn")
    if new_turn and pending:
        raise ValueError(
            f"{path}: tool_use ids were found without tool_result blocks immediately after: {sorted(pending)[0]}"
        )
    conv.last_role = "tool" if conv.tool_results else "user"


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(c.get("text", "") for c in content if c.get("type") == "text")
    return ""


def _check_final_tool_turn(messages: list[Any]) -> None:
    """Anthropic's rule with thinking enabled: the assistant turn whose tool calls the final user
    turn answers must start with a (signed) thinking block."""
    last_assistant = next((m for m in reversed(messages) if m.get("role") == "assistant"), None)
    if last_assistant is None or isinstance(last_assistant.get("content"), str):
        return
    blocks = last_assistant["content"]
    if not any(b.get("type") == "tool_use" for b in blocks):
        return
    if blocks[0].get("type") not in ("thinking", "redacted_thinking"):
        raise ValueError(
            f"messages.{messages.index(last_assistant)}.content.0.type: Expected `thinking` or `redacted_thinking`, "
            f"but found `{blocks[0].get('type')}`. When `thinking` is enabled, a final `assistant` message must "
            "start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks)."
        )


# ------------------------------------------------------------------------------------ answers


def _stop_sequence(conv: Conversation, p: Plan) -> str | None:
    if p.stop != "stop_sequence":
        return None
    echo = f"Echo: {conv.last_user_text}"
    return next((s for s in conv.stop if s and s in echo), None)


def usage(p: Plan) -> dict[str, Any]:
    u = p.usage
    return {
        "input_tokens": u.input - u.cache_read - u.cache_write,
        "cache_creation_input_tokens": u.cache_write,
        "cache_read_input_tokens": u.cache_read,
        "output_tokens": u.output,
        "output_tokens_details": {"thinking_tokens": u.reasoning},
    }


def content_blocks(p: Plan) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if p.reasoning:
        blocks.append({"type": "thinking", "thinking": p.reasoning, "signature": p.signature})
    if p.text:
        blocks.append({"type": "text", "text": p.text})
    blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.args} for c in p.calls]
    return blocks


def message(model: str, conv: Conversation, p: Plan) -> dict[str, Any]:
    return {
        "id": "msg_fake01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content_blocks(p),
        "stop_reason": STOP[p.stop],
        "stop_sequence": _stop_sequence(conv, p),
        "usage": usage(p),
    }


def _pieces(text: str, n: int = 3) -> list[str]:
    size = max(1, -(-len(text) // n))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def stream_events(model: str, conv: Conversation, p: Plan) -> list[dict[str, Any]]:
    start_usage = {**usage(p), "output_tokens": 1}
    start_usage.pop("output_tokens_details")
    msg = {
        **message(model, conv, p),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    events: list[dict[str, Any]] = [{"type": "message_start", "message": msg}, {"type": "ping"}]
    for index, block in enumerate(content_blocks(p)):
        kind = block["type"]
        if kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": s} for s in _pieces(block["thinking"])]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif kind == "text":
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": s} for s in _pieces(block["text"])]
        else:
            start = {**block, "input": {}}
            # split mid-token, as the real API does
            deltas = [
                {"type": "input_json_delta", "partial_json": s}
                for s in ["", *_pieces(json.dumps(block["input"]), 4)]
            ]
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": STOP[p.stop], "stop_sequence": _stop_sequence(conv, p)},
            "usage": {
                "output_tokens": p.usage.output,
                "output_tokens_details": {"thinking_tokens": p.usage.reasoning},
            },
        }
    )
    events.append({"type": "message_stop"})
    return events
