"""Stop sequences for providers that do not take them (OpenAI Responses has no ``stop``).

The gateway cuts the answer where a stop sequence first appears, as the provider would have:
the text before it is kept, the rest dropped, and the stop reason becomes ``stop_sequence``. In a
stream, text deltas are held back just long enough to see a sequence that spans two deltas (the
longest sequence minus one character); once a sequence is seen the stream ends there and the
caller stops reading the provider, so the tokens it would still generate are not paid for. Output
usage is then estimated from the text actually returned.
"""

from __future__ import annotations

import msgspec

from app.canonical import (
    Finish,
    Part,
    PartStart,
    PartStop,
    Response,
    StreamEvent,
    StreamStart,
    TextDelta,
    TextPart,
    Usage,
)
from app.observability.token_estimate import estimate_text


def _first_stop(text: str, stops: list[str]) -> tuple[int, str] | None:
    best: tuple[int, str] | None = None
    for s in stops:
        if not s:
            continue
        at = text.find(s)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, s)
    return best


def cut_response(resp: Response, stops: list[str]) -> Response:
    """``resp`` ended at the first stop sequence in its text, if any."""
    content: list[Part] = []
    for part in resp.content:
        if isinstance(part, TextPart):
            hit = _first_stop(part.text, stops)
            if hit is not None:
                kept = part.text[: hit[0]]
                if kept:
                    content.append(TextPart(kept, cache_control=part.cache_control))
                usage = msgspec.structs.replace(
                    resp.usage, output_tokens=min(resp.usage.output_tokens, _estimate(content))
                )
                return msgspec.structs.replace(
                    resp, content=content, stop_reason="stop_sequence", stop_sequence=hit[1], usage=usage
                )
        content.append(part)
    return resp


def _estimate(parts: list[Part]) -> int:
    return sum(estimate_text(p.text) for p in parts if isinstance(p, TextPart))


class StopCutter:
    """Applies stop sequences to a canonical event stream; ``done`` once a sequence was seen."""

    def __init__(self, stops: list[str]) -> None:
        self._stops = [s for s in stops if s]
        self._hold = max((len(s) for s in self._stops), default=1) - 1
        self._open_text: int | None = None
        self._pending = ""  # held-back text of the open text part
        self._emitted = 0  # characters of text passed on, for the usage estimate
        self._start_usage: Usage | None = None
        self.done = False

    def feed(self, events: list[StreamEvent]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for ev in events:
            if self.done:
                break
            if isinstance(ev, StreamStart):
                self._start_usage = ev.usage
                out.append(ev)
            elif isinstance(ev, PartStart) and isinstance(ev.part, TextPart):
                self._open_text, self._pending = ev.index, ev.part.text
                out.append(PartStart(ev.index, TextPart("", cache_control=ev.part.cache_control)))
                out.extend(self._scan(final=False))
            elif isinstance(ev, TextDelta) and ev.index == self._open_text:
                self._pending += ev.text
                out.extend(self._scan(final=False))
            elif isinstance(ev, PartStop) and ev.index == self._open_text:
                out.extend(self._scan(final=True))
                if not self.done:
                    out.append(ev)
                    self._open_text = None
            else:
                out.append(ev)
        return out

    def _scan(self, *, final: bool) -> list[StreamEvent]:
        assert self._open_text is not None
        index = self._open_text
        hit = _first_stop(self._pending, self._stops)
        if hit is not None:
            kept = self._pending[: hit[0]]
            self.done = True
            self._emitted += len(kept)
            out: list[StreamEvent] = [TextDelta(index, kept)] if kept else []
            start = self._start_usage or Usage()
            usage = Usage(input_tokens=start.input_tokens, output_tokens=(self._emitted + 3) // 4)
            return [*out, PartStop(index), Finish("stop_sequence", hit[1], usage)]
        cut = len(self._pending) if final else max(0, len(self._pending) - self._hold)
        if cut == 0:
            return []
        text, self._pending = self._pending[:cut], self._pending[cut:]
        self._emitted += len(text)
        return [TextDelta(index, text)]
