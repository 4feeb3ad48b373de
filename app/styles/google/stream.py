"""Google GenAI streams: ``GenerateContentResponse`` chunks, as SSE (``alt=sse``) or as one JSON
array written progressively (``streamGenerateContent`` without ``alt=sse``).

``GoogleChunkDecoder`` reads chunks from a Gemini upstream and also decodes whole
(non-streamed) answers, which are one big chunk: streamed and non-streamed answers therefore
decode by the same rules.
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.canonical import (
    FilePart,
    Finish,
    ImagePart,
    OpaquePart,
    Part,
    PartStart,
    PartStop,
    ReasoningDelta,
    ReasoningPart,
    Request,
    Response,
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
from app.errors import UpstreamProtocol
from app.streaming import StreamAssembler
from app.styles import ids
from app.styles.google.fields import (
    FINISH_REASON,
    KIND_BY_STATUS,
    STYLE,
    SignaturePlacer,
    args_json,
    camel_keys,
    encode_json,
    error_fields,
    function_call_to_wire,
    media_part,
    media_to_wire,
    stop_reason,
    stream_error_to_wire,
    usage_from_wire,
    usage_to_wire,
)
from app.styles.sse import SSEEvent, SSEParser, frame

_KNOWN_PART_KEYS = frozenset({"text", "thought", "functionCall", "inlineData", "fileData"})


class GoogleChunkDecoder:
    """Gemini chunks -> canonical events.

    Each chunk carries complete parts (a function call arrives whole) or text deltas; consecutive
    text (or thought) chunks continue one open part. A ``thoughtSignature`` on a thought part is
    that part's signature; on a function call or on the text that starts a part it becomes a
    text-less ReasoningPart just before that part. Gemini 3 signs a plain answer on its *last*
    part, which a stream sends as a short (often empty) last chunk of the text already open: that
    chunk's text continues the open part and its signature becomes a text-less ReasoningPart right
    after it, so every client sees the answer as one piece of text. ``finishReason`` and
    ``usageMetadata`` come on the last chunk: ``Finish`` is sent once both arrived (or at the end
    of the body). Gemini sends no function-call ids: the gateway makes them unique per answer
    (``app.styles.ids``), never from the response id, which a proxy or cache may repeat.
    """

    def __init__(self) -> None:
        self._sse = SSEParser()
        self._started = False
        self._done = False
        self._index = -1
        self._open: str | None = None  # "text" | "reasoning"
        self._open_signed = False
        self._calls = 0
        self._nonce = ids.nonce()
        self._trailing: str | None = None  # the signature of the open text's last chunk
        self._finish: StopReason | None = None
        self._usage: Usage | None = None

    # ------------------------------------------------------------------ StreamDecoder protocol

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for ev in self._sse.feed(chunk):
            out.extend(self.feed_event(ev))
        return out

    def feed_event(self, event: SSEEvent) -> list[StreamEvent]:
        data = event.data.strip()
        if self._done or not data:
            return []
        try:
            obj = msgspec.json.decode(data)
        except msgspec.DecodeError:
            return []  # keep-alive noise
        return self.feed_object(obj)

    def close(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for ev in self._sse.flush():
            out.extend(self.feed_event(ev))
        if self._done:
            return out
        if self._finish is not None:
            return out + self._end()
        self._done = True
        return [*out, StreamError(status=502, message="upstream stream ended before the answer was complete")]

    # ------------------------------------------------------------------ chunks

    def feed_object(self, obj: Any) -> list[StreamEvent]:
        """One decoded ``GenerateContentResponse`` (or a JSON array of them)."""
        if self._done:
            return []
        if isinstance(obj, list):
            return [ev for item in obj for ev in self.feed_object(item)]
        if not isinstance(obj, dict):
            return []
        obj = camel_keys(obj)
        if "error" in obj and not obj.get("candidates"):
            self._done = True
            return [_stream_error(obj["error"])]
        out: list[StreamEvent] = []
        if not self._started:
            self._started = True
            rid, version = obj.get("responseId"), obj.get("modelVersion")
            out.append(StreamStart(id=str(rid or ""), model=str(version or "")))
        usage = obj.get("usageMetadata")
        if isinstance(usage, dict):
            self._usage = usage_from_wire(usage)
        feedback = obj.get("promptFeedback")
        if isinstance(feedback, dict) and camel_keys(feedback).get("blockReason"):
            self._finish = "content_filter"
        cands = obj.get("candidates")
        if isinstance(cands, list) and cands and isinstance(cands[0], dict):
            cand = camel_keys(cands[0])
            content = cand.get("content")
            parts = content.get("parts") if isinstance(content, dict) else None
            for p in parts if isinstance(parts, list) else []:
                if isinstance(p, dict):
                    out.extend(self._part(camel_keys(p)))
            if cand.get("finishReason"):
                self._finish = stop_reason(cand["finishReason"])
        if self._finish is not None and isinstance(usage, dict):
            out.extend(self._end())
        return out

    def end_whole(self) -> list[StreamEvent]:
        """A non-streamed answer ends with its one chunk, finish reason or not."""
        if self._done:
            return []
        if self._finish is None:
            self._finish = "end_turn"
        return self._end()

    @property
    def finished(self) -> bool:
        return self._done

    # ------------------------------------------------------------------ parts

    def _part(self, p: dict[str, Any]) -> list[StreamEvent]:
        if not (_KNOWN_PART_KEYS & p.keys()):
            return self._whole(OpaquePart(STYLE, p))  # executableCode, codeExecutionResult, ...
        raw_sig, text = p.get("thoughtSignature"), p.get("text")
        sig = raw_sig if isinstance(raw_sig, str) and raw_sig else None
        if p.get("thought") is True:
            return self._thought(text if isinstance(text, str) else "", sig)
        is_text = not (p.keys() & {"functionCall", "inlineData", "fileData"})
        if sig and is_text and self._open == "text" and self._trailing is None:
            # the signed last chunk of an answer already streaming: one text, signature after it
            self._trailing = sig
            return [TextDelta(self._index, text)] if isinstance(text, str) and text else []
        out = self._signature(sig) if sig else []
        if "functionCall" in p:
            out.extend(self._call(p["functionCall"]))
        elif "inlineData" in p or "fileData" in p:
            inline = "inlineData" in p
            data = p.get("inlineData" if inline else "fileData")
            if isinstance(data, dict):
                out.extend(self._whole(media_part(data, inline)))
        elif isinstance(text, str) and text:
            if self._open != "text":
                out.extend(self._switch("text", TextPart("")))
            out.append(TextDelta(self._index, text))
        return out

    def _thought(self, text: str, sig: str | None) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if self._open != "reasoning" or (sig and self._open_signed):
            # a signature that comes with the part's start rides in PartStart: StreamAssembler
            # appends SignatureDeltas onto the very object PartStart carries, so a delta in the
            # same chunk would reach client encoders twice
            out.extend(self._switch("reasoning", ReasoningPart(signature=sig, origin=STYLE)))
            self._open_signed = bool(sig)
            if text:
                out.append(ReasoningDelta(self._index, text))
            return out
        if text:
            out.append(ReasoningDelta(self._index, text))
        if sig:
            out.append(SignatureDelta(self._index, sig))
            self._open_signed = True
        return out

    def _signature(self, sig: str) -> list[StreamEvent]:
        out = self._close()
        self._index += 1
        i = self._index
        return [*out, PartStart(i, ReasoningPart(signature=sig, origin=STYLE)), PartStop(i)]

    def _call(self, raw: Any) -> list[StreamEvent]:
        fc = camel_keys(raw) if isinstance(raw, dict) else {}
        name = str(fc.get("name") or "")
        args = args_json(fc.get("args"))
        cid = fc.get("id") if isinstance(fc.get("id"), str) and fc.get("id") else None
        part = ToolCallPart(id=cid or ids.call_id(self._nonce, self._calls), name=name)
        self._calls += 1
        out = self._close()
        self._index += 1
        out.append(PartStart(self._index, part))
        if args:
            out.append(ToolArgsDelta(self._index, args))
        out.append(PartStop(self._index))
        return out

    def _whole(self, part: Part) -> list[StreamEvent]:
        out = self._close()
        self._index += 1
        return [*out, PartStart(self._index, part), PartStop(self._index)]

    def _switch(self, kind: str, part: Part) -> list[StreamEvent]:
        out = self._close()
        self._index += 1
        self._open = kind
        out.append(PartStart(self._index, part))
        return out

    def _close(self) -> list[StreamEvent]:
        if self._open is None:
            return []
        self._open = None
        out: list[StreamEvent] = [PartStop(self._index)]
        if self._trailing is not None:
            self._index += 1
            sig, self._trailing = self._trailing, None
            out += [PartStart(self._index, ReasoningPart(signature=sig, origin=STYLE)), PartStop(self._index)]
        return out

    def _end(self) -> list[StreamEvent]:
        out = self._close()
        if not self._started:
            self._started = True
            out.insert(0, StreamStart(id="", model=""))
        reason = self._finish or "end_turn"
        if reason == "end_turn" and self._calls:
            reason = "tool_use"
        self._done = True
        out.append(Finish(stop_reason=reason, usage=self._usage or Usage()))
        return out


def _stream_error(err: Any) -> StreamError:
    if not isinstance(err, dict):
        return StreamError(status=502, message=str(err))
    code = err.get("code")
    status = err.get("status")
    return StreamError(
        status=code if isinstance(code, int) and 400 <= code < 600 else 502,
        message=str(err.get("message") or err),
        kind=KIND_BY_STATUS.get(status, "api_error") if isinstance(status, str) else "api_error",
    )


class GoogleStreamEncoder:
    """Canonical events -> ``GenerateContentResponse`` chunks for a Gemini client.

    Text and reasoning deltas go out as they come (reasoning as ``thought: true`` parts); a tool
    call goes out whole as one ``functionCall`` part once its arguments are complete; reasoning
    signatures ride on the next non-thought part (``SignaturePlacer``); the finish reason and
    usage come on the last chunk. ``sse=False`` writes the JSON-array form Google serves to
    ``streamGenerateContent`` calls without ``alt=sse``.
    """

    def __init__(self, req: Request, *, sse: bool = True) -> None:
        self.content_type = "text/event-stream" if sse else "application/json"
        self._sse = sse
        self._first = True
        self._closed = False
        self._id = ""
        self._model = req.model
        self._placer = SignaturePlacer()
        self._reasoning: ReasoningPart | None = None
        self._reasoning_text: list[str] = []
        self._signature: list[str] = []
        self._call: ToolCallPart | None = None
        self._args: list[str] = []

    def encode(self, event: StreamEvent) -> bytes:
        if self._closed:
            return b""
        if isinstance(event, TextDelta):
            return self._parts([self._placer.attach({"text": event.text})]) if event.text else b""
        if isinstance(event, ReasoningDelta):
            self._reasoning_text.append(event.text)
            return self._parts([{"text": event.text, "thought": True}]) if event.text else b""
        if isinstance(event, ToolArgsDelta):
            self._args.append(event.arguments)
            return b""
        if isinstance(event, SignatureDelta):
            self._signature.append(event.signature)
            return b""
        if isinstance(event, PartStart):
            return self._start(event.part)
        if isinstance(event, PartStop):
            return self._stop()
        if isinstance(event, StreamStart):
            self._id = event.id
            self._model = event.model or self._model
            return b""
        if isinstance(event, Finish):
            carrier = self._placer.flush()
            usage = usage_to_wire(event.usage)
            out = self._chunk([carrier] if carrier else [], FINISH_REASON[event.stop_reason], usage)
            return self._end(out)
        if isinstance(event, StreamError):
            return self._end(self._frame(stream_error_to_wire(event.status, event.message)))
        return b""

    def _start(self, part: Part) -> bytes:
        if isinstance(part, ReasoningPart):
            carrier = self._placer.flush()
            self._reasoning = ReasoningPart(
                signature=part.signature, origin=part.origin, redacted=part.redacted, item_id=part.item_id
            )
            self._reasoning_text = [part.text]
            self._signature = []
            out = [carrier] if carrier else []
            if part.text:
                out.append({"text": part.text, "thought": True})
            return self._parts(out)
        if isinstance(part, ToolCallPart):
            self._call = part
            self._args = [part.arguments]
            return b""
        wire: dict[str, Any] | None = None
        if isinstance(part, TextPart):
            wire = {"text": part.text} if part.text else None
        elif isinstance(part, ImagePart | FilePart):
            wire = media_to_wire(part)
        elif isinstance(part, OpaquePart) and part.style == STYLE:
            wire = dict(part.data)
        return self._parts([self._placer.attach(wire)]) if wire is not None else b""

    def _stop(self) -> bytes:
        if self._reasoning is not None:
            self._reasoning.text = "".join(self._reasoning_text)
            # deltas win over the PartStart copy: StreamAssembler may already have appended
            # them onto the object that PartStart carried
            self._reasoning.signature = "".join(self._signature) or self._reasoning.signature
            carrier = self._placer.add(self._reasoning)
            self._reasoning = None
            return self._parts([carrier]) if carrier else b""
        if self._call is not None:
            c = self._call
            call = ToolCallPart(id=c.id, name=c.name, arguments="".join(self._args), kind=c.kind)
            self._call = None
            return self._parts([self._placer.attach(function_call_to_wire(call))])
        return b""

    def _parts(self, parts: list[dict[str, Any]]) -> bytes:
        return self._chunk(parts) if parts else b""

    def _chunk(
        self, parts: list[dict[str, Any]], finish: str | None = None, usage: dict[str, Any] | None = None
    ) -> bytes:
        cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish is not None:
            cand["finishReason"] = finish
        obj: dict[str, Any] = {"candidates": [cand]}
        if usage is not None:
            obj["usageMetadata"] = usage
        obj["modelVersion"] = self._model
        if self._id:
            obj["responseId"] = self._id
        return self._frame(obj)

    def _frame(self, obj: dict[str, Any]) -> bytes:
        data = encode_json(obj)
        if self._sse:
            return frame(data)
        if self._first:
            self._first = False
            return b"[" + data
        return b",\r\n" + data

    def _end(self, out: bytes) -> bytes:
        self._closed = True
        return out if self._sse else out + b"]"


def response_from_wire(obj: Any) -> Response:
    """A whole answer (or a ``streamGenerateContent`` JSON array read whole) -> Response."""
    chunks = obj if isinstance(obj, list) else [obj]
    if not chunks or not all(isinstance(c, dict) for c in chunks):
        raise UpstreamProtocol("upstream answer is not a JSON object", provider="")
    fields = error_fields(chunks[0])
    if fields is not None:
        raise UpstreamProtocol(f"upstream answered an error: {fields[0]}", provider="")
    if not any(camel_keys(c).get("candidates") or camel_keys(c).get("promptFeedback") for c in chunks):
        raise UpstreamProtocol("Gemini answer without candidates", provider="")
    dec = GoogleChunkDecoder()
    asm = StreamAssembler()
    for ev in dec.feed_object(obj) + dec.end_whole():
        asm.add(ev)
    return asm.response()
