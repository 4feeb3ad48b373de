"""OpenAI Chat Completions streams: ``chat.completion.chunk`` SSE events and ``data: [DONE]``."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import msgspec

from app.canonical import (
    Finish,
    PartStart,
    PartStop,
    ReasoningDelta,
    ReasoningPart,
    Request,
    SignatureDelta,
    StopReason,
    StreamError,
    StreamEvent,
    StreamStart,
    TextDelta,
    TextPart,
    ToolArgsDelta,
    ToolCallPart,
    Usage,
)
from app.styles import artifacts, conversions, ids
from app.styles.json_fields import loose_object
from app.styles.openai_chat.fields import (
    FINISH_REASON,
    STOP_REASON,
    tool_call_to_wire,
    usage_from_wire,
    usage_to_wire,
)
from app.styles.sse import SSEEvent, SSEParser, frame

if TYPE_CHECKING:
    from collections.abc import Callable

_encoder = msgspec.json.Encoder()
_DONE = b"data: [DONE]\n\n"
_USAGE_ONLY = re.compile(r'"choices"\s*:\s*\[\s*\]')


def usage_frame_filter(req: Request) -> Callable[[SSEEvent], bool] | None:
    """For a same-style passthrough stream: the gateway always asks for the usage chunk, and
    hides it from a client that did not ask for it (naive clients index ``choices[0]``)."""
    if req.stream_usage:
        return None
    return lambda ev: not (_USAGE_ONLY.search(ev.data) and '"usage"' in ev.data)


class ChatStreamDecoder:
    """Chunks -> canonical events. Opens a new part whenever the kind of delta changes (text,
    reasoning, tool call k), so parts never interleave; ``Finish`` is emitted at ``[DONE]`` so the
    trailing usage chunk is included."""

    def __init__(self) -> None:
        self._sse = SSEParser()
        self._started = False
        self._open: tuple[str, int] | None = None  # (kind, tool index) of the open part
        self._index = -1
        self._tool_parts: dict[int, int] = {}
        self._finish: StopReason | None = None
        self._usage = Usage()
        self._done = False
        self._nonce = ids.nonce()  # for calls the provider sent without an id

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for ev in self._sse.feed(chunk):
            out.extend(self.feed_event(ev))
        return out

    def feed_event(self, ev: SSEEvent) -> list[StreamEvent]:
        if self._done:
            return []
        data = ev.data.strip()
        if data == "[DONE]":
            return self._finish_events()
        try:
            obj = msgspec.json.decode(data)
        except msgspec.DecodeError:
            return []  # keep-alive noise from some servers
        if not isinstance(obj, dict):
            return []
        out: list[StreamEvent] = []
        if "error" in obj and not obj.get("choices"):
            err = obj["error"] if isinstance(obj["error"], dict) else {"message": str(obj["error"])}
            self._done = True
            return [
                StreamError(
                    status=int(err.get("code") or 502) if str(err.get("code", "")).isdigit() else 502,
                    message=str(err.get("message") or err),
                )
            ]
        if not self._started:
            self._started = True
            out.append(
                StreamStart(
                    id=str(obj.get("id") or ""),
                    model=str(obj.get("model") or ""),
                    created=int(obj.get("created") or 0),
                )
            )
        usage = obj.get("usage")
        if isinstance(usage, dict):
            self._usage = usage_from_wire(usage)
        choices = obj.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            choice = choices[0]
            delta = choice.get("delta")
            if isinstance(delta, dict):
                out.extend(self._delta(delta))
            reason = choice.get("finish_reason")
            if isinstance(reason, str) and reason:
                self._finish = STOP_REASON.get(reason, "end_turn")
        return out

    def _delta(self, delta: dict[str, Any]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        reasoning = delta.get("reasoning_content")
        if reasoning is None:
            reasoning = delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            out.extend(self._switch(("reasoning", 0), ReasoningPart(origin="openai-chat")))
            out.append(ReasoningDelta(self._index, reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            out.extend(self._switch(("text", 0), TextPart("")))
            out.append(TextDelta(self._index, content))
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            out.extend(self._switch(("text", 0), TextPart("")))
            out.append(TextDelta(self._index, refusal))
            self._finish = "refusal"
        for tc in delta.get("tool_calls") or []:
            if not isinstance(tc, dict):
                continue
            k = int(tc.get("index") or 0)
            fn = loose_object(tc.get("function"))
            custom = tc["custom"] if isinstance(tc.get("custom"), dict) else None
            if self._open != ("tool", k):
                if k in self._tool_parts:
                    # a provider resumed an earlier call after starting another: keep appending
                    # to the right part rather than breaking the one-open-part rule
                    idx = self._tool_parts[k]
                    args = fn.get("arguments") or (custom or {}).get("input")
                    if isinstance(args, str) and args:
                        out.append(ToolArgsDelta(idx, args))
                    continue
                part = ToolCallPart(
                    id=str(tc.get("id") or ids.call_id(self._nonce, k)),
                    name=str(fn.get("name") or (custom or {}).get("name") or ""),
                    kind="custom" if custom is not None else "function",
                )
                out.extend(self._switch(("tool", k), part))
                self._tool_parts[k] = self._index
            args = fn.get("arguments")
            if custom is not None:
                args = custom.get("input")
            if isinstance(args, str) and args:
                out.append(ToolArgsDelta(self._index, args))
        return out

    def _switch(self, kind: tuple[str, int], part: Any) -> list[StreamEvent]:
        if self._open == kind:
            return []
        out: list[StreamEvent] = []
        if self._open is not None:
            out.append(PartStop(self._index))
        self._index += 1
        self._open = kind
        out.append(PartStart(self._index, part))
        return out

    def _finish_events(self) -> list[StreamEvent]:
        self._done = True
        out: list[StreamEvent] = []
        if not self._started:
            out.append(StreamStart(id="", model=""))
            self._started = True
        if self._open is not None:
            out.append(PartStop(self._index))
            self._open = None
        reason = self._finish or "end_turn"
        if reason == "end_turn" and self._tool_parts:
            reason = "tool_use"
        out.append(Finish(stop_reason=reason, usage=self._usage))
        return out

    def close(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for ev in self._sse.flush():
            out.extend(self.feed_event(ev))
        if self._done:
            return out
        if self._finish is not None:
            return out + self._finish_events()  # no [DONE], but the answer was complete
        self._done = True
        return [*out, StreamError(status=502, message="upstream stream ended before the answer was complete")]


class ChatStreamEncoder:
    """Canonical events -> chunks. Reasoning goes out as ``reasoning_content`` deltas (the field
    DeepSeek, vLLM and OpenRouter clients read)."""

    content_type = "text/event-stream"

    def __init__(self, req: Request) -> None:
        self._include_usage = req.stream_usage
        self._custom = conversions.custom_tool_names(req.tools)
        self._id = ids.derived("chatcmpl-", "", ids.nonce())
        self._model = req.model
        self._created = int(time.time())
        self._tool_index: dict[int, int] = {}
        self._reasoning: ReasoningPart | None = None  # the open reasoning part, accumulated
        self._carried: list[ReasoningPart] = []  # artifacts waiting for the next tool call id
        self._kinds: dict[int, str] = {}
        self._custom_parts: dict[int, ToolCallPart] = {}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return frame(
            _encoder.encode(
                {
                    "id": self._id,
                    "object": "chat.completion.chunk",
                    "created": self._created,
                    "model": self._model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
                }
            )
        )

    def encode(self, event: StreamEvent) -> bytes:
        if isinstance(event, TextDelta):
            return self._chunk({"content": event.text})
        if isinstance(event, ToolArgsDelta):
            return self._args(event)
        if isinstance(event, ReasoningDelta):
            if self._reasoning is not None:
                self._reasoning.text += event.text
            return self._chunk({"reasoning_content": event.text})
        if isinstance(event, SignatureDelta):
            if self._reasoning is not None:
                self._reasoning.signature = (self._reasoning.signature or "") + event.signature
            return b""
        if isinstance(event, PartStart):
            return self._start(event)
        if isinstance(event, PartStop):
            return self._stop(event)
        if isinstance(event, StreamStart):
            self._id = event.id or self._id
            self._model = event.model or self._model
            self._created = event.created or self._created
            return self._chunk({"role": "assistant", "content": ""})
        if isinstance(event, Finish):
            return self._finish(event)
        if isinstance(event, StreamError):
            error = {"message": event.message, "type": event.kind, "code": event.status}
            return frame(_encoder.encode({"error": error}))
        return b""

    def _args(self, event: ToolArgsDelta) -> bytes:
        if event.index in self._custom_parts:
            self._custom_parts[event.index].arguments += event.arguments
            return b""
        call = {"index": self._tool_index[event.index], "function": {"arguments": event.arguments}}
        return self._chunk({"tool_calls": [call]})

    def _start(self, event: PartStart) -> bytes:
        part = event.part
        if isinstance(part, ReasoningPart):
            self._reasoning = msgspec.structs.replace(part)  # accumulates text and signature
            return self._chunk({"reasoning_content": part.text}) if part.text else b""
        if isinstance(part, ToolCallPart):
            k = len(self._tool_index)
            self._tool_index[event.index] = k
            call_id = artifacts.id_with_artifacts(part.id, self._carried)
            self._carried = []
            if part.name in self._custom or part.kind == "custom":
                # custom (free-form) calls go out whole at PartStop: their input must be
                # unwrapped from the function-call JSON first
                self._custom_parts[event.index] = ToolCallPart(
                    call_id, part.name, part.arguments, kind=part.kind
                )
                return b""
            function = {"name": part.name, "arguments": part.arguments}
            return self._chunk(
                {"tool_calls": [{"index": k, "id": call_id, "type": "function", "function": function}]}
            )
        if isinstance(part, TextPart) and part.text:
            return self._chunk({"content": part.text})
        return b""

    def _stop(self, event: PartStop) -> bytes:
        if self._reasoning is not None:
            if artifacts.carried(self._reasoning, "openai-chat"):
                self._carried.append(self._reasoning)
            self._reasoning = None
        custom_call = self._custom_parts.pop(event.index, None)
        if custom_call is None:
            return b""
        wire = tool_call_to_wire(custom_call, self._custom | {custom_call.name})
        wire["index"] = self._tool_index[event.index]
        return self._chunk({"tool_calls": [wire]})

    def _finish(self, event: Finish) -> bytes:
        out = self._chunk({}, FINISH_REASON[event.stop_reason])
        if self._include_usage:
            usage = {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": [],
                "usage": usage_to_wire(event.usage),
            }
            out += frame(_encoder.encode(usage))
        return out + _DONE
