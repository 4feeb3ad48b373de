"""Server-sent events: an incremental parser for provider streams and a frame formatter.

Every streamed style here (OpenAI Chat and Responses, Anthropic, Gemini with ``alt=sse``) frames
its events as SSE, so one parser serves all four decoders.
"""

from __future__ import annotations

import msgspec


class SSEEvent(msgspec.Struct):
    event: str | None
    data: str
    raw: bytes  # the frame as received, terminator included: passthrough forwards it verbatim


class SSEParser:
    """Splits a byte stream into events. Handles LF and CRLF line endings, several ``data:``
    lines per event, comments and events cut across chunk boundaries."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        buf = self._buf + chunk if self._buf else chunk
        hold = b""
        if buf.endswith(b"\r"):
            # a CRLF may be split across chunks: decide what this CR means with the next byte
            buf, hold = buf[:-1], b"\r"
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events: list[SSEEvent] = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            frame = buf[start : end + 2]
            start = end + 2
            ev = _parse_frame(frame)
            if ev is not None:
                events.append(ev)
        self._buf = buf[start:] + hold
        return events

    def flush(self) -> list[SSEEvent]:
        """The stream ended: a last event without its blank line still counts."""
        rest, self._buf = self._buf, b""
        if rest.strip():
            ev = _parse_frame(rest + b"\n\n")
            return [ev] if ev is not None else []
        return []

    @property
    def pending(self) -> bool:
        return bool(self._buf.strip())


def _parse_frame(frame: bytes) -> SSEEvent | None:
    event: str | None = None
    data: list[str] = []
    for line in frame.split(b"\n"):
        if not line or line.startswith(b":"):
            continue
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            data.append(value.decode("utf-8", "replace"))
        elif name == b"event":
            event = value.decode("utf-8", "replace")
    if not data and event is None:
        return None
    return SSEEvent(event=event, data="\n".join(data), raw=frame)


def frame(data: bytes, event: str | None = None) -> bytes:
    """One SSE frame. ``data`` must not contain newlines (compact JSON never does)."""
    if event is None:
        return b"data: " + data + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"
