"""The SSE parser every stream decoder uses."""

from __future__ import annotations

from app.styles.sse import SSEParser, frame


def test_events_split_anywhere_and_crlf() -> None:
    raw = b'event: a\r\ndata: {"x":1}\r\n\r\n: comment\n\ndata: line1\ndata: line2\n\nevent: done\ndata: [DONE]\n\n'
    for size in (1, 2, 5, len(raw)):
        p = SSEParser()
        events = []
        for i in range(0, len(raw), size):
            events += p.feed(raw[i : i + size])
        assert [(e.event, e.data) for e in events] == [
            ("a", '{"x":1}'),
            (None, "line1\nline2"),
            ("done", "[DONE]"),
        ]


def test_flush_keeps_an_unterminated_last_event() -> None:
    p = SSEParser()
    assert p.feed(b"data: tail") == []
    assert p.pending
    assert [e.data for e in p.flush()] == ["tail"]


def test_frame_format() -> None:
    assert frame(b"{}") == b"data: {}\n\n"
    assert frame(b"{}", "ping") == b"event: ping\ndata: {}\n\n"
