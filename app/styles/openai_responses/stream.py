"""OpenAI Responses streams: typed SSE events (``event: <type>`` + JSON with ``sequence_number``).

A stream is ``response.created``, ``response.in_progress``, then per output item
``response.output_item.added`` / its content events / ``response.output_item.done``, and finally
``response.completed`` (or ``response.incomplete``) carrying the whole response with its usage;
``error`` + ``response.failed`` when it breaks.
"""

from __future__ import annotations

import time
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
from app.streaming import initial_text, with_text
from app.styles.json_fields import loose_object
from app.styles.openai_responses.fields import (
    STYLE,
    ClientTools,
    Envelope,
    encode,
    error_code,
    flat_name,
    item_for_part,
    message_text,
    output_item_id,
    output_text,
    part_from_item,
    reasoning_text,
    response_id,
    status_for,
    stop_reason_from_wire,
    usage_from_wire,
)
from app.styles.sse import SSEEvent, SSEParser, frame

_TERMINAL = frozenset({"response.completed", "response.incomplete"})
_START = frozenset({"response.created", "response.in_progress", "response.queued"})

# ====================================================================== decoding (provider side)


class _Item:
    """One upstream output item on its way to becoming one canonical part."""

    __slots__ = ("done", "has_text", "index", "item", "kind", "pending", "segment", "started")

    def __init__(self, item: dict[str, Any]) -> None:
        self.item = item
        self.kind = str(item.get("type"))
        self.pending: list[tuple[str, str]] = []  # ("text" | "sig", value) before the part opens
        self.started = False
        self.done = False
        self.has_text = False
        self.segment: object = None  # the reasoning segment (summary index / content) last added to
        self.index = -1


class ResponsesStreamDecoder:
    """Typed events -> canonical events.

    Each output item becomes one canonical part, in output order, with at most one part open:
    events for a later item that arrive while an earlier one is still open are buffered
    (OpenAI streams items one after another; other servers may interleave). A message opens
    with its first text, an item without streamed content (built-in tool calls) at its
    ``output_item.done``. ``encrypted_content`` arrives with the reasoning item's
    ``output_item.done`` and becomes a ``SignatureDelta``.
    """

    def __init__(self) -> None:
        self._sse = SSEParser()
        self._started = False
        self._done = False
        self._items: dict[int, _Item] = {}
        self._queue: list[_Item] = []  # items not fully emitted, in output order
        self._next_index = 0
        self._last_output = 0
        self._has_calls = False
        self._refusal = False

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for ev in self._sse.feed(chunk):
            out.extend(self.feed_event(ev))
        return out

    def feed_event(self, ev: SSEEvent) -> list[StreamEvent]:
        if self._done:
            return []
        try:
            obj = msgspec.json.decode(ev.data)
        except msgspec.DecodeError:
            return []  # keep-alive noise, "[DONE]"
        if not isinstance(obj, dict):
            return []
        kind = obj.get("type") if isinstance(obj.get("type"), str) else ev.event
        out: list[StreamEvent] = []
        if kind in _START or not self._started:
            out.extend(self._start(loose_object(obj.get("response"))))
            if kind in _START:
                return out
        if kind in _TERMINAL:
            return out + self._finish(loose_object(obj.get("response")))
        if kind == "response.failed":
            err = loose_object(loose_object(obj.get("response")).get("error"))
            return out + self._error(err)
        if kind == "error":
            return out + self._error(obj.get("error") if isinstance(obj.get("error"), dict) else obj)
        out.extend(self._item_event(str(kind), obj))
        return out

    def close(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for ev in self._sse.flush():
            out.extend(self.feed_event(ev))
        if self._done:
            return out
        self._done = True
        return [*out, StreamError(status=502, message="upstream stream ended before the answer was complete")]

    # ---------------------------------------------------------------- lifecycle

    def _start(self, resp: dict[str, Any]) -> list[StreamEvent]:
        if self._started:
            return []
        self._started = True
        created = resp.get("created_at")
        return [
            StreamStart(
                id=str(resp.get("id") or ""),
                model=str(resp.get("model") or ""),
                created=int(created) if isinstance(created, int | float) else 0,
            )
        ]

    def _finish(self, resp: dict[str, Any]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if not self._items:
            # a server that sends only the final response: its output items are the answer
            for k, item in enumerate(resp.get("output") or []):
                if isinstance(item, dict):
                    out.extend(
                        self._item_event("response.output_item.done", {"output_index": k, "item": item})
                    )
        for it in list(self._queue):
            it.done = True
        out.extend(self._drain())
        self._done = True
        stop: StopReason = stop_reason_from_wire(resp, self._has_calls)
        if self._refusal and stop == "end_turn":
            stop = "refusal"
        out.append(Finish(stop_reason=stop, usage=usage_from_wire(resp.get("usage"))))
        return out

    def _error(self, err: Any) -> list[StreamEvent]:
        self._done = True
        e = err if isinstance(err, dict) else {}
        code = str(e.get("code") or "")
        status = 429 if code == "rate_limit_exceeded" else 502
        kind = e.get("type")  # the flat `error` event's own type is "error": not an error kind
        kind = "rate_limit_error" if status == 429 else kind if kind not in (None, "error") else "api_error"
        return [
            StreamError(
                status=status, message=str(e.get("message") or code or "upstream error"), kind=str(kind)
            )
        ]

    # ---------------------------------------------------------------- items

    def _item_event(self, kind: str, obj: dict[str, Any]) -> list[StreamEvent]:
        k = obj.get("output_index")
        k = k if isinstance(k, int) else self._last_output
        if kind == "response.output_item.added":
            if k not in self._items and isinstance(obj.get("item"), dict):
                self._add(k, obj["item"])
            return self._drain()
        it = self._items.get(k)
        if kind == "response.output_item.done":
            item = loose_object(obj.get("item"))
            if it is None:
                it = self._add(k, item)
            self._complete(it, item)
            return self._drain()
        if it is None:
            return []
        self._content_event(it, kind, obj)
        return self._drain()

    def _add(self, k: int, item: dict[str, Any]) -> _Item:
        it = _Item(item)
        self._items[k] = it
        self._queue.append(it)
        self._last_output = k
        return it

    def _content_event(self, it: _Item, kind: str, obj: dict[str, Any]) -> None:
        delta = obj.get("delta")
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            if kind == "response.refusal.delta":
                self._refusal = True
            if isinstance(delta, str) and delta:
                it.pending.append(("text", delta))
                it.has_text = True
        elif kind in ("response.output_text.done", "response.refusal.done"):
            text = obj.get("text", obj.get("refusal"))
            if not it.has_text and isinstance(text, str) and text:
                it.pending.append(("text", text))
                it.has_text = True
        elif kind in ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta"):
            if isinstance(delta, str) and delta:
                it.pending.append(("text", delta))
                it.has_text = True
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            segment = (
                ("s", obj.get("summary_index")) if "summary" in kind else ("c", obj.get("content_index"))
            )
            if isinstance(delta, str) and delta:
                self._reasoning_text(it, segment, delta)
        elif kind in ("response.reasoning_summary_text.done", "response.reasoning_text.done"):
            segment = (
                ("s", obj.get("summary_index")) if "summary" in kind else ("c", obj.get("content_index"))
            )
            text = obj.get("text")
            if segment != it.segment and isinstance(text, str) and text:
                self._reasoning_text(it, segment, text)

    def _reasoning_text(self, it: _Item, segment: object, text: str) -> None:
        # segments are joined by a blank line, as reasoning_text() does for a whole item
        if segment != it.segment and it.has_text:
            it.pending.append(("text", "\n\n"))
        it.segment = segment
        it.pending.append(("text", text))
        it.has_text = True

    def _complete(self, it: _Item, item: dict[str, Any]) -> None:
        if item:
            it.item = item
            it.kind = str(item.get("type"))
        if not it.has_text:  # nothing was streamed: the finished item holds it all
            if it.kind == "message":
                text, refusal = message_text(it.item)
                self._refusal = self._refusal or refusal
            elif it.kind == "reasoning":
                text = reasoning_text(it.item)
            elif it.kind == "function_call":
                text = str(it.item.get("arguments") or "")
            elif it.kind == "custom_tool_call":
                text = str(it.item.get("input") or "")
            else:
                text = ""
            if text:
                it.pending.append(("text", text))
                it.has_text = True
        enc = it.item.get("encrypted_content")
        if it.kind == "reasoning" and isinstance(enc, str) and enc:
            it.pending.append(("sig", enc))
        it.done = True

    def _drain(self) -> list[StreamEvent]:
        """Emit what the head of the queue can emit; move on while items are finished."""
        out: list[StreamEvent] = []
        while self._queue:
            it = self._queue[0]
            if not it.started:
                part = self._part(it)
                if part is None:
                    if not it.done:
                        return out  # a message before its first text, an opaque item before done
                    self._queue.pop(0)  # an empty message
                    continue
                it.started = True
                it.index = self._next_index
                self._next_index += 1
                out.append(PartStart(it.index, part))
            for what, value in it.pending:
                if what == "sig":
                    out.append(SignatureDelta(it.index, value))
                elif it.kind == "reasoning":
                    out.append(ReasoningDelta(it.index, value))
                elif it.kind in ("function_call", "custom_tool_call"):
                    out.append(ToolArgsDelta(it.index, value))
                else:
                    out.append(TextDelta(it.index, value))
            it.pending.clear()
            if not it.done:
                return out
            out.append(PartStop(it.index))
            self._queue.pop(0)
        return out

    def _part(self, it: _Item) -> Part | None:
        item = it.item
        if it.kind == "message":
            return TextPart("") if it.has_text else None
        if it.kind == "reasoning":
            return ReasoningPart(origin=STYLE, item_id=str(item.get("id") or "") or None)
        if it.kind in ("function_call", "custom_tool_call"):
            self._has_calls = True
            return ToolCallPart(
                id=str(item.get("call_id") or item.get("id") or ""),
                name=flat_name(item.get("namespace"), str(item.get("name") or "")),
                kind="custom" if it.kind == "custom_tool_call" else "function",
                item_id=str(item.get("id") or "") or None,
            )
        return part_from_item(item) if it.done else None


# ====================================================================== encoding (client side)


class _Open:
    """The output item being streamed to the client."""

    __slots__ = ("chunks", "item_id", "kind", "output_index", "part", "signature", "summary_open")

    def __init__(self, part: Part, kind: str, item: str, output_index: int) -> None:
        self.part = part
        self.kind = kind
        self.item_id = item
        self.output_index = output_index
        self.chunks: list[str] = []
        self.signature = ""
        self.summary_open = False


class ResponsesStreamEncoder:
    """Canonical events -> Responses events. Each canonical part is one output item; the items
    finished along the way make up the ``response.completed`` event's output, so the final
    response equals the non-streamed answer."""

    content_type = "text/event-stream"

    def __init__(self, req: Request) -> None:
        self._tools = ClientTools.of(req)
        self._envelope = Envelope.of(req)
        self._model = req.model
        self._id = ""
        self._created = 0
        self._seq = 0
        self._started = False
        self._finished = False
        self._open: dict[int, _Open] = {}  # canonical index -> item
        self._output: list[dict[str, Any]] = []
        self._used: set[str] = set()  # item ids given out in this answer

    def encode(self, event: StreamEvent) -> bytes:
        if self._finished:
            return b""
        out: list[bytes] = []
        if not self._started:
            out.extend(self._start(event if isinstance(event, StreamStart) else StreamStart(id="", model="")))
            if isinstance(event, StreamStart):
                return b"".join(out)
        if isinstance(event, TextDelta | ReasoningDelta | ToolArgsDelta):
            op = self._open.get(event.index)
            if op is not None:
                out.extend(
                    self._delta(op, event.arguments if isinstance(event, ToolArgsDelta) else event.text)
                )
        elif isinstance(event, SignatureDelta):
            op = self._open.get(event.index)
            if op is not None:
                op.signature += event.signature
        elif isinstance(event, PartStart):
            out.extend(self._part_start(event))
        elif isinstance(event, PartStop):
            op = self._open.pop(event.index, None)
            if op is not None:
                out.extend(self._part_stop(op))
        elif isinstance(event, Finish):
            out.extend(self._finish(event))
        elif isinstance(event, StreamError):
            out.extend(self._error(event))
        return b"".join(out)

    def _event(self, kind: str, body: dict[str, Any]) -> bytes:
        body["type"] = kind
        body["sequence_number"] = self._seq
        self._seq += 1
        return frame(encode(body), kind)

    def _response(self, status: str, **kw: Any) -> dict[str, Any]:
        return self._envelope.response(
            resp_id=self._id,
            model=self._model,
            created=self._created,
            status=status,
            output=list(self._output),
            **kw,
        )

    # ---------------------------------------------------------------- lifecycle

    def _start(self, ev: StreamStart) -> list[bytes]:
        self._started = True
        self._model = ev.model or self._model
        self._created = ev.created or int(time.time())
        self._id = response_id(ev.id)  # as response_to_wire does
        response = self._response("in_progress")
        return [
            self._event("response.created", {"response": response}),
            self._event("response.in_progress", {"response": response}),
        ]

    def _finish(self, ev: Finish) -> list[bytes]:
        out: list[bytes] = []
        for index in sorted(self._open):
            out.extend(self._part_stop(self._open.pop(index)))
        self._finished = True
        status = status_for(ev.stop_reason)
        response = self._response(status, usage=ev.usage, stop=ev.stop_reason)
        out.append(self._event(f"response.{status}", {"response": response}))
        return out

    def _error(self, ev: StreamError) -> list[bytes]:
        self._finished = True
        code = error_code(ev.status)
        return [
            self._event("error", {"code": code, "message": ev.message, "param": None}),
            self._event(
                "response.failed",
                {
                    "response": self._response(
                        "failed", usage=Usage(), error={"code": code, "message": ev.message}
                    )
                },
            ),
        ]

    # ---------------------------------------------------------------- items

    def _part_start(self, ev: PartStart) -> list[bytes]:
        kind = self._tools.kind(ev.part)
        if kind is None:
            return []  # not shown to a Responses client (documented per part type)
        output_index = len(self._output) + len(self._open)
        item = output_item_id(ev.part, self._id, kind, output_index, self._used)
        op = _Open(ev.part, kind, item, output_index)
        self._open[ev.index] = op
        added = self._added_item(op)
        if added is None:
            return []
        out = [self._event("response.output_item.added", {"output_index": output_index, "item": added})]
        if kind == "message":
            out.append(
                self._event(
                    "response.content_part.added",
                    {**self._where(op), "content_index": 0, "part": output_text("")},
                )
            )
        initial = initial_text(ev.part)
        if initial:
            out.extend(self._delta(op, initial))
        return out

    def _added_item(self, op: _Open) -> dict[str, Any] | None:
        part = op.part
        if op.kind == "message":
            return {
                "id": op.item_id,
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            }
        if op.kind == "reasoning":
            return {"id": op.item_id, "type": "reasoning", "summary": []}
        if isinstance(part, ToolCallPart):
            item = self._tools.call_item(
                op.item_id, ToolCallPart(part.id, part.name, "", kind=part.kind), "in_progress"
            )
            if item["type"] == "function_call":
                item["arguments"] = ""
            return item
        if op.kind == "image_generation_call":
            return {
                "id": op.item_id,
                "type": "image_generation_call",
                "status": "in_progress",
                "result": None,
            }
        if isinstance(part, OpaquePart):
            return part.data
        return None

    def _where(self, op: _Open) -> dict[str, Any]:
        return {"item_id": op.item_id, "output_index": op.output_index}

    def _delta(self, op: _Open, text: str) -> list[bytes]:
        op.chunks.append(text)
        if op.kind == "message":
            return [
                self._event(
                    "response.output_text.delta",
                    {**self._where(op), "content_index": 0, "delta": text, "logprobs": []},
                )
            ]
        if op.kind == "reasoning":
            out: list[bytes] = []
            if not op.summary_open:
                op.summary_open = True
                out.append(
                    self._event(
                        "response.reasoning_summary_part.added",
                        {**self._where(op), "summary_index": 0, "part": {"type": "summary_text", "text": ""}},
                    )
                )
            out.append(
                self._event(
                    "response.reasoning_summary_text.delta",
                    {**self._where(op), "summary_index": 0, "delta": text},
                )
            )
            return out
        if op.kind == "function_call":
            return [self._event("response.function_call_arguments.delta", {**self._where(op), "delta": text})]
        if op.kind == "custom_tool_call" and isinstance(op.part, ToolCallPart) and op.part.kind == "custom":
            return [self._event("response.custom_tool_call_input.delta", {**self._where(op), "delta": text})]
        return []  # a function call shown as a custom call: its input is unwrapped at the end

    def _part_stop(self, op: _Open) -> list[bytes]:
        text = "".join(op.chunks)
        item = item_for_part(_finished_part(op, text), op.item_id, self._tools)
        if item is None:
            return []
        self._output.append(item)
        where = self._where(op)
        out: list[bytes] = []
        if op.kind == "message":
            out.append(
                self._event(
                    "response.output_text.done", {**where, "content_index": 0, "text": text, "logprobs": []}
                )
            )
            out.append(
                self._event(
                    "response.content_part.done", {**where, "content_index": 0, "part": output_text(text)}
                )
            )
        elif op.kind == "reasoning" and op.summary_open:
            out.append(
                self._event(
                    "response.reasoning_summary_text.done", {**where, "summary_index": 0, "text": text}
                )
            )
            out.append(
                self._event(
                    "response.reasoning_summary_part.done",
                    {**where, "summary_index": 0, "part": {"type": "summary_text", "text": text}},
                )
            )
        elif op.kind == "function_call":
            if not text and item["arguments"]:  # "{}" for a call streamed without arguments
                out.append(
                    self._event(
                        "response.function_call_arguments.delta", {**where, "delta": item["arguments"]}
                    )
                )
            out.append(
                self._event(
                    "response.function_call_arguments.done", {**where, "arguments": item["arguments"]}
                )
            )
        elif op.kind == "custom_tool_call":
            streamed = isinstance(op.part, ToolCallPart) and op.part.kind == "custom"
            if not streamed and item["input"]:
                out.append(
                    self._event("response.custom_tool_call_input.delta", {**where, "delta": item["input"]})
                )
            out.append(self._event("response.custom_tool_call_input.done", {**where, "input": item["input"]}))
        out.append(self._event("response.output_item.done", {"output_index": op.output_index, "item": item}))
        return out


def _finished_part(op: _Open, text: str) -> Part:
    part = with_text(op.part, text)
    if isinstance(part, ReasoningPart) and op.signature:
        # a signature comes whole in PartStart or in deltas, never split across both
        return ReasoningPart(part.text, op.signature, part.origin, part.redacted, part.item_id)
    return part
