"""Gateway-side stop sequences for providers without them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.canonical import (
    Finish,
    PartStart,
    PartStop,
    Response,
    StreamStart,
    TextDelta,
    TextPart,
    ToolCallPart,
    Usage,
)
from app.streaming import StreamAssembler
from app.styles.stop_sequences import StopCutter, cut_response


def test_cut_whole_answer_at_the_earliest_sequence() -> None:
    resp = Response("r", "m", [TextPart("one two END three STOP four")], usage=Usage(10, 50))
    cut = cut_response(resp, ["STOP", "END"])
    assert cut.text() == "one two "
    assert (cut.stop_reason, cut.stop_sequence) == ("stop_sequence", "END")
    assert cut.usage.output_tokens == 2 and cut.usage.input_tokens == 10
    assert cut_response(resp, ["absent"]) is resp


def _stream(text: str, pieces: list[int]) -> list[object]:
    events: list[object] = [StreamStart("s", "m", usage=Usage(input_tokens=7)), PartStart(0, TextPart(""))]
    at = 0
    for n in pieces:
        if at >= len(text):
            break
        events.append(TextDelta(0, text[at : at + n]))
        at += n
    if at < len(text):
        events.append(TextDelta(0, text[at:]))
    events += [
        PartStop(0),
        PartStart(1, ToolCallPart("c", "f")),
        PartStop(1),
        Finish("end_turn", usage=Usage(7, 99)),
    ]
    return events


@given(
    st.text(alphabet="abc XY", max_size=40),
    st.lists(st.integers(1, 5), max_size=20),
    st.sampled_from(["XY", "b X", "Y"]),
)
def test_stream_cut_equals_whole_cut_wherever_deltas_split(text: str, pieces: list[int], stop: str) -> None:
    cutter = StopCutter([stop])
    asm = StreamAssembler()
    for ev in _stream(text, pieces):
        for out in cutter.feed([ev]):  # type: ignore[list-item]
            asm.add(out)
    got = asm.response()
    whole = Response("s", "m", [TextPart(text), ToolCallPart("c", "f")], usage=Usage(7, 99))
    expected = cut_response(whole, [stop])
    assert got.text() == expected.text()
    assert got.stop_reason == ("stop_sequence" if stop in text else "end_turn")
    assert cutter.done == (stop in text)
    if stop in text:
        assert got.tool_calls() == []  # nothing after the stop point
