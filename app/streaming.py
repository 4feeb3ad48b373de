"""Conversions between a whole canonical ``Response`` and its stream of events.

``StreamAssembler`` folds events into the Response they describe (a streamed answer that must be
cached, checked by the cascade, or returned to a non-streaming client). ``events_from_response``
does the reverse (a cached or non-streamed answer replayed to a streaming client).
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from app.canonical import (
    Finish,
    ImagePart,
    OpaquePart,
    Part,
    PartStart,
    PartStop,
    ReasoningDelta,
    ReasoningPart,
    Response,
    SignatureDelta,
    StreamError,
    StreamEvent,
    StreamStart,
    TextDelta,
    TextPart,
    ToolArgsDelta,
    ToolCallPart,
    Usage,
)


class StreamAssembler:
    """Accumulates events; ``response()`` is the answer so far (complete after ``Finish``)."""

    __slots__ = ("_chunks", "_created", "_finish", "_id", "_model", "_parts", "_usage", "error")

    def __init__(self) -> None:
        self._id = ""
        self._model = ""
        self._created = 0
        self._parts: list[Part] = []
        self._chunks: list[list[str]] = []
        self._finish: Finish | None = None
        self._usage: Usage | None = None
        self.error: StreamError | None = None

    @property
    def finished(self) -> bool:
        return self._finish is not None and self.error is None

    def add(self, ev: StreamEvent) -> None:
        if isinstance(ev, TextDelta | ReasoningDelta | ToolArgsDelta):
            self._chunks[ev.index].append(ev.text if not isinstance(ev, ToolArgsDelta) else ev.arguments)
        elif isinstance(ev, PartStart):
            while len(self._parts) <= ev.index:
                self._parts.append(TextPart(""))
                self._chunks.append([])
            # a copy: the event's part is shared with the client encoder, which must not see
            # the signature deltas folded into it
            self._parts[ev.index] = msgspec.structs.replace(ev.part)
            self._chunks[ev.index] = [initial_text(ev.part)]
        elif isinstance(ev, SignatureDelta):
            part = self._parts[ev.index]
            if isinstance(part, ReasoningPart):
                part.signature = (part.signature or "") + ev.signature
        elif isinstance(ev, PartStop):
            pass
        elif isinstance(ev, StreamStart):
            self._id, self._model, self._created = ev.id, ev.model, ev.created
            self._usage = ev.usage
        elif isinstance(ev, Finish):
            self._finish = ev
        elif isinstance(ev, StreamError):
            self.error = ev

    def response(self) -> Response:
        content: list[Part] = []
        for part, chunks in zip(self._parts, self._chunks, strict=True):
            content.append(with_text(part, "".join(chunks)))
        fin = self._finish or Finish()
        usage = fin.usage
        if self._usage is not None and usage.input_tokens == 0:
            usage = Usage(
                self._usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_tokens or self._usage.cache_read_tokens,
                usage.cache_write_tokens or self._usage.cache_write_tokens,
                usage.reasoning_tokens,
            )
        return Response(
            id=self._id,
            model=self._model,
            content=content,
            stop_reason=fin.stop_reason,
            stop_sequence=fin.stop_sequence,
            usage=usage,
            created=self._created,
        )


def initial_text(part: Part) -> str:
    """What a PartStart's part already holds of the text its deltas extend."""
    if isinstance(part, TextPart | ReasoningPart):
        return part.text
    if isinstance(part, ToolCallPart):
        return part.arguments
    return ""


def with_text(part: Part, text: str) -> Part:
    """``part`` with its accumulated text (arguments, for a tool call)."""
    if isinstance(part, TextPart | ReasoningPart):
        return msgspec.structs.replace(part, text=text)
    if isinstance(part, ToolCallPart):
        return msgspec.structs.replace(part, arguments=text)
    return part


def events_from_response(resp: Response) -> Iterator[StreamEvent]:
    """The stream a provider would have sent for ``resp``: one delta per part."""
    yield StreamStart(id=resp.id, model=resp.model, created=resp.created)
    for i, part in enumerate(resp.content):
        if isinstance(part, TextPart):
            yield PartStart(i, TextPart("", cache_control=part.cache_control))
            if part.text:
                yield TextDelta(i, part.text)
        elif isinstance(part, ReasoningPart):
            yield PartStart(
                i,
                ReasoningPart(origin=part.origin, redacted=part.redacted, item_id=part.item_id),
            )
            if part.text:
                yield ReasoningDelta(i, part.text)
            if part.signature:
                yield SignatureDelta(i, part.signature)
        elif isinstance(part, ToolCallPart):
            yield PartStart(i, ToolCallPart(id=part.id, name=part.name, kind=part.kind, item_id=part.item_id))
            if part.arguments:
                yield ToolArgsDelta(i, part.arguments)
        elif isinstance(part, ImagePart | OpaquePart):
            yield PartStart(i, part)
        else:
            yield PartStart(i, part)
        yield PartStop(i)
    yield Finish(stop_reason=resp.stop_reason, stop_sequence=resp.stop_sequence, usage=resp.usage)
