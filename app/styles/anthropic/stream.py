"""Anthropic Messages streams: ``event: <type>`` / ``data: <json>`` SSE frames.

Sequence (anthropic/types/raw_message_stream_event.py): ``message_start``, then per content block
``content_block_start`` / ``content_block_delta``... / ``content_block_stop``, ``message_delta``
(stop reason, cumulative usage), ``message_stop``; ``ping`` anywhere; ``error`` when the stream
breaks after it started.
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.canonical import (
    Finish,
    OpaquePart,
    Part,
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
from app.styles import ids
from app.styles.anthropic.fields import (
    ERROR_STATUS,
    STOP_FROM_WIRE,
    STOP_TO_WIRE,
    STYLE,
    answer_block,
    client_signature,
    error_body,
    json_text,
    part_from_answer_block,
    tool_input,
    usage_from_wire,
    usage_to_wire,
)
from app.styles.json_fields import loose_object
from app.styles.sse import SSEEvent, SSEParser, frame

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


# ====================================================================== provider stream -> canonical


class AnthropicStreamDecoder:
    """Anthropic SSE -> canonical events. Blocks without a canonical delta form (server tool
    use, web search results, ...) are collected until their ``content_block_stop`` and emitted
    whole as an ``OpaquePart``; ``citations_delta``, ``ping`` and unknown events are ignored."""

    def __init__(self) -> None:
        self._sse = SSEParser()
        self._started = False
        self._done = False
        self._index = -1  # canonical index of the last part started
        self._open: str | None = None  # kind of the open block: text, thinking, tool, opaque
        self._opaque: dict[str, Any] = {}
        self._opaque_json = ""
        self._tool_start_input = ""  # a tool_use that arrived with its input up front
        self._tool_has_deltas = False
        self._signature = ""  # of the open thinking block: the last signature_delta wins (as in the SDK)
        self._usage = Usage()
        self._stop: StopReason | None = None
        self._stop_sequence: str | None = None

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for ev in self._sse.feed(chunk):
            out.extend(self.feed_event(ev))
        return out

    def feed_event(self, ev: SSEEvent) -> list[StreamEvent]:
        if self._done:
            return []
        try:
            obj = _decoder.decode(ev.data)
        except msgspec.DecodeError:
            return []  # keep-alive noise
        if not isinstance(obj, dict):
            return []
        kind = obj.get("type") or ev.event
        if kind == "content_block_delta":
            return self._delta(loose_object(obj.get("delta")))
        if kind == "content_block_start":
            return self._block_start(loose_object(obj.get("content_block")))
        if kind == "content_block_stop":
            return self._block_stop()
        if kind == "message_start":
            return self._message_start(loose_object(obj.get("message")))
        if kind == "message_delta":
            self._message_delta(obj)
            return []
        if kind == "message_stop":
            return self._finish()
        if kind == "error":
            return self._error(obj)
        return []  # ping and event types newer than this decoder

    def _message_start(self, msg: dict[str, Any]) -> list[StreamEvent]:
        if self._started:
            return []
        self._started = True
        self._usage = usage_from_wire(msg.get("usage"))
        return [
            StreamStart(
                id=str(msg.get("id") or ""),
                model=str(msg.get("model") or ""),
                usage=self._usage if self._usage != Usage() else None,
            )
        ]

    def _ensure_started(self) -> list[StreamEvent]:
        if self._started:
            return []
        self._started = True
        return [StreamStart(id="", model="")]

    def _block_start(self, block: dict[str, Any]) -> list[StreamEvent]:
        out = self._ensure_started()
        out.extend(self._close_open())
        kind = block.get("type")
        if kind in ("text", "thinking", "redacted_thinking", "tool_use"):
            part = part_from_answer_block(block)
            if isinstance(part, ToolCallPart):
                inp = block.get("input")
                self._tool_start_input = json_text(inp) if isinstance(inp, dict) and inp else ""
                self._tool_has_deltas = False
                part = ToolCallPart(part.id, part.name)
            elif isinstance(part, ReasoningPart) and not part.redacted:
                # the signature goes out as one SignatureDelta at the block's stop
                self._signature = part.signature or ""
                part = ReasoningPart(text=part.text, origin=STYLE)
            self._index += 1
            self._open = "tool" if isinstance(part, ToolCallPart) else str(kind)
            out.append(PartStart(self._index, part))
            return out
        self._open = "opaque"
        self._opaque = dict(block)
        self._opaque_json = ""
        return out

    def _delta(self, delta: dict[str, Any]) -> list[StreamEvent]:
        kind = delta.get("type")
        if self._open is None:
            return []
        if kind == "text_delta" and self._open == "text":
            text = str(delta.get("text") or "")
            return [TextDelta(self._index, text)] if text else []
        if kind == "thinking_delta" and self._open == "thinking":
            text = str(delta.get("thinking") or "")
            return [ReasoningDelta(self._index, text)] if text else []
        if kind == "signature_delta" and self._open == "thinking":
            self._signature = str(delta.get("signature") or "") or self._signature
            return []
        if kind == "input_json_delta":
            partial = str(delta.get("partial_json") or "")
            if self._open == "opaque":
                self._opaque_json += partial
                return []
            if self._open == "tool" and partial:
                self._tool_has_deltas = True
                return [ToolArgsDelta(self._index, partial)]
        return []  # citations_delta and deltas newer than this decoder

    def _block_stop(self) -> list[StreamEvent]:
        return self._close_open()

    def _close_open(self) -> list[StreamEvent]:
        kind, self._open = self._open, None
        if kind is None:
            return []
        if kind == "opaque":
            block = self._opaque
            if self._opaque_json:
                try:
                    block["input"] = _decoder.decode(self._opaque_json)
                except msgspec.DecodeError:
                    block["input"] = {"_raw_arguments": self._opaque_json}
            self._index += 1
            return [PartStart(self._index, OpaquePart(STYLE, block)), PartStop(self._index)]
        out: list[StreamEvent] = []
        if kind == "tool" and self._tool_start_input and not self._tool_has_deltas:
            out.append(ToolArgsDelta(self._index, self._tool_start_input))
        if kind == "thinking" and self._signature:
            out.append(SignatureDelta(self._index, self._signature))
            self._signature = ""
        out.append(PartStop(self._index))
        return out

    def _message_delta(self, obj: dict[str, Any]) -> None:
        delta = loose_object(obj.get("delta"))
        reason = delta.get("stop_reason")
        if isinstance(reason, str):
            self._stop = STOP_FROM_WIRE.get(reason, "end_turn")
        seq = delta.get("stop_sequence")
        if isinstance(seq, str):
            self._stop_sequence = seq
        if isinstance(obj.get("usage"), dict):
            self._usage = usage_from_wire(obj["usage"], self._usage)

    def _finish(self) -> list[StreamEvent]:
        self._done = True
        out = self._ensure_started()
        out.extend(self._close_open())
        stop = self._stop or "end_turn"
        out.append(Finish(stop_reason=stop, stop_sequence=self._stop_sequence, usage=self._usage))
        return out

    def _error(self, obj: dict[str, Any]) -> list[StreamEvent]:
        self._done = True
        err = loose_object(obj.get("error"))
        kind = str(err.get("type") or "api_error")
        return [
            StreamError(
                status=ERROR_STATUS.get(kind, 502),
                message=str(err.get("message") or "upstream stream error"),
                kind=kind,
            )
        ]

    def close(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for ev in self._sse.flush():
            out.extend(self.feed_event(ev))
        if self._done:
            return out
        if self._stop is not None:
            # message_delta carried the stop reason: the answer is complete, only the
            # message_stop terminator is missing
            return out + self._finish()
        self._done = True
        return [*out, StreamError(status=502, message="upstream stream ended before message_stop")]


# ====================================================================== canonical -> client stream


class AnthropicStreamEncoder:
    """Canonical events -> Anthropic SSE. Wire block indices count only the blocks the client
    gets (another style's opaque parts are skipped). A thinking block's signature is sent once,
    as the last delta before its ``content_block_stop`` (the SDK keeps the last one), because a
    signature from another style must be wrapped whole; a redacted block is sent whole at its
    stop, since its data belongs in ``content_block_start``.

    Another provider's signature-only reasoning that follows the answer text (Gemini 3 signs a
    plain answer on its last chunk) is held back: if the answer ends there it is dropped, because
    Claude Code takes the message's *last* block as the answer and would print nothing after a
    trailing thinking block; if more parts follow, it is sent before them."""

    content_type = "text/event-stream"

    def __init__(self, req: Request) -> None:
        self._model = req.model
        self._id = ids.derived("msg_", "", ids.nonce())
        self._next = 0  # next wire index
        self._wire: dict[int, int] = {}  # canonical index -> wire index of the open block
        self._parts: dict[int, Part] = {}
        self._signature: dict[int, str] = {}  # from SignatureDelta events
        self._reasoning: dict[int, list[str]] = {}
        self._custom_args: dict[int, str] = {}
        self._saw_tool_use = False
        self._finished = False
        self._after_text = False  # a text block went out and nothing but reasoning since
        self._held: int | None = None  # canonical index of a held-back trailing signature block
        self._held_done = False

    def encode(self, event: StreamEvent) -> bytes:
        if isinstance(event, TextDelta):
            return self._delta(event.index, {"type": "text_delta", "text": event.text})
        if isinstance(event, ToolArgsDelta):
            if event.index in self._custom_args:
                self._custom_args[event.index] += event.arguments
                return b""
            return self._delta(event.index, {"type": "input_json_delta", "partial_json": event.arguments})
        if isinstance(event, ReasoningDelta):
            if event.index in self._reasoning:
                self._reasoning[event.index].append(event.text)
            return self._delta(event.index, {"type": "thinking_delta", "thinking": event.text})
        if isinstance(event, SignatureDelta):
            if event.index in self._parts:
                self._signature[event.index] = self._signature.get(event.index, "") + event.signature
            return b""
        if isinstance(event, PartStart):
            if self._trails_answer(event.part):
                self._held, self._held_done = event.index, False
                self._parts[event.index] = event.part
                self._reasoning[event.index] = [""]
                return b""
            return self._release() + self._start(event.index, event.part)
        if isinstance(event, PartStop):
            if event.index == self._held:
                self._held_done = True
                return b""
            return self._stop(event.index)
        if isinstance(event, StreamStart):
            return self._message_start(event)
        if isinstance(event, Finish):
            return self._finish(event)
        if isinstance(event, StreamError):
            return _event("error", error_body(event.kind, event.status, event.message))
        return b""

    def _message_start(self, ev: StreamStart) -> bytes:
        if ev.id:
            self._id = message_id(ev.id)
        self._model = ev.model or self._model
        usage = usage_to_wire(ev.usage or Usage())
        message: dict[str, Any] = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return _event("message_start", {"type": "message_start", "message": message})

    def _open_block(self, index: int, block: dict[str, Any]) -> bytes:
        k = self._next
        self._next += 1
        self._wire[index] = k
        return _event(
            "content_block_start", {"type": "content_block_start", "index": k, "content_block": block}
        )

    def _delta(self, index: int, delta: dict[str, Any]) -> bytes:
        k = self._wire.get(index)
        if k is None:
            return b""
        return _event("content_block_delta", {"type": "content_block_delta", "index": k, "delta": delta})

    def _trails_answer(self, part: Part) -> bool:
        return (
            self._after_text
            and isinstance(part, ReasoningPart)
            and not part.text
            and not part.redacted
            and part.origin not in (None, STYLE)
        )

    def _release(self) -> bytes:
        """More parts follow a held-back signature block: send it first, whole."""
        index = self._held
        if index is None:
            return b""
        self._held = None
        part = self._parts[index]
        out = self._open_block(index, {"type": "thinking", "thinking": "", "signature": ""})
        self._parts[index] = part
        return out + (self._stop(index) if self._held_done else b"")

    def _start(self, index: int, part: Part) -> bytes:
        still = self._after_text and isinstance(part, ReasoningPart)
        self._after_text = isinstance(part, TextPart) or still
        if isinstance(part, TextPart):
            out = self._open_block(index, {"type": "text", "text": ""})
            return out + (self._delta(index, {"type": "text_delta", "text": part.text}) if part.text else b"")
        if isinstance(part, ReasoningPart):
            self._parts[index] = part
            self._reasoning[index] = [part.text]
            if part.redacted and part.origin == STYLE:
                return b""  # sent whole at PartStop
            out = self._open_block(index, {"type": "thinking", "thinking": "", "signature": ""})
            if part.text:
                out += self._delta(index, {"type": "thinking_delta", "thinking": part.text})
            return out
        if isinstance(part, ToolCallPart):
            self._saw_tool_use = True
            out = self._open_block(index, {"type": "tool_use", "id": part.id, "name": part.name, "input": {}})
            if part.kind == "custom":
                self._custom_args[index] = part.arguments
                return out
            if part.arguments:
                out += self._delta(index, {"type": "input_json_delta", "partial_json": part.arguments})
            return out
        block = answer_block(part)
        if block is None:
            return b""  # another style's opaque block: the client never sees it
        return self._open_block(index, block)

    def _stop(self, index: int) -> bytes:
        out = b""
        part = self._parts.pop(index, None)
        if isinstance(part, ReasoningPart):
            # deltas win over the PartStart copy: StreamAssembler appends them onto the very
            # part object the PartStart event carries, so that copy may already include them
            sig = self._signature.pop(index, "") or part.signature or ""
            text = "".join(self._reasoning.pop(index, []))
            if part.redacted and part.origin == STYLE:
                out += self._open_block(index, {"type": "redacted_thinking", "data": sig})
            else:
                full = ReasoningPart(text, sig or None, part.origin, part.redacted, part.item_id)
                wire_sig = client_signature(full)
                if wire_sig:
                    out += self._delta(index, {"type": "signature_delta", "signature": wire_sig})
        custom = self._custom_args.pop(index, None)
        if custom is not None:
            call = ToolCallPart("", "", custom, kind="custom")
            out += self._delta(
                index, {"type": "input_json_delta", "partial_json": json_text(tool_input(call))}
            )
        k = self._wire.pop(index, None)
        if k is None:
            return out
        return out + _event("content_block_stop", {"type": "content_block_stop", "index": k})

    def _finish(self, ev: Finish) -> bytes:
        if self._finished:
            return b""
        self._finished = True
        if self._held is not None:  # the answer ended on it: drop it (see the class docstring)
            self._parts.pop(self._held, None)
            self._signature.pop(self._held, None)
            self._reasoning.pop(self._held, None)
            self._held = None
        out = b"".join(self._stop(i) for i in sorted(set(self._wire) | set(self._parts)))
        stop = STOP_TO_WIRE[ev.stop_reason]
        if stop == "end_turn" and self._saw_tool_use:
            stop = "tool_use"
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": ev.stop_sequence},
            "usage": usage_to_wire(ev.usage),
        }
        return out + _event("message_delta", delta) + _event("message_stop", {"type": "message_stop"})


def message_id(upstream: str) -> str:
    """The message id a client sees: Anthropic's own, else one unique to this answer (Claude Code
    merges assistant turns that share a message id, and then re-sends its conversation in a
    loop when a provider repeats its response id)."""
    return upstream if upstream.startswith("msg_") else ids.derived("msg_", upstream, ids.nonce())


def _event(name: str, data: dict[str, Any]) -> bytes:
    return frame(_encoder.encode(data), name)
