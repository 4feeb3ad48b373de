"""Request bodies parsed with the history's elements shared across turns.

An agent resends its whole conversation with every request: turn N+1's ``messages`` (``input``,
``contents``) array starts with turn N's elements, byte for byte. ``HistoryParser`` parses the
top level of a body, then each element of its history array once per distinct bytes: an element
seen before comes back as the very same object. That saves the parse (~0.5 ms of a 50k-token
body) and lets the codecs remember what they made of an element by its identity
(``decoded``/``remember``, with ``DecodedElement``), which saves the decode (~1 ms).

The shared objects must never be changed (the read-only rule in ``app.styles.base``): stages
build new canonical objects, and ``_pop_hints`` only touches the top level, which is parsed fresh
every time. Bounded by the bytes of the elements it holds, least recently used out first.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import msgspec

from app.canonical import Message, Style, ToolCallPart, ToolResultPart

HISTORY_FIELDS: dict[Style, str] = {
    "openai-chat": "messages",
    "anthropic-messages": "messages",
    "openai-responses": "input",
    "google-genai": "contents",
}

_full = msgspec.json.Decoder()
_top = msgspec.json.Decoder(dict[str, msgspec.Raw])
_array = msgspec.json.Decoder(list[msgspec.Raw])
DEFAULT_MAX_BYTES = 8_000_000  # memory.history_max_bytes
_ENTRY_OVERHEAD = 512  # what a kept element costs besides its bytes (its parsed objects too)
_HEAD_BYTES = 512  # a conversation's history is looked up by its first bytes
_CONVERSATIONS = 256
_PER_HEAD = 8  # conversations kept per first bytes
_SAME_CONVERSATION_TAIL = 4  # elements a turn may rewrite at its end and still be the same one
# Below this size a body is parsed whole: sharing saves nothing measurable there, and the prefix
# bookkeeping (~8 µs) was a tenth of what the gateway adds to a one-message request.
SMALL_BODY = 4096


class HistoryParser:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, min_bytes: int = SMALL_BODY) -> None:
        self.max_bytes = max_bytes
        self.min_bytes = min_bytes  # smaller bodies are parsed whole
        self._items: OrderedDict[bytes, _Entry] = OrderedDict()
        self._by_id: dict[int, _Entry] = {}
        self._bytes = 0
        # the latest history of each recent conversation, by its first bytes
        self._recent: OrderedDict[bytes, list[_Seen]] = OrderedDict()
        self._recent_bytes = 0
        self._lock = threading.Lock()

    def parse(self, raw: bytes, style: Style) -> Any:
        """What ``msgspec.json.decode(raw)`` gives, with shared history elements; raises
        ``msgspec.DecodeError`` for what it would refuse."""
        field = HISTORY_FIELDS.get(style)
        if (
            len(raw) < self.min_bytes
            or field is None
            or self.max_bytes <= 0
            or not raw.lstrip().startswith(b"{")
        ):
            return _full.decode(raw)
        top = _top.decode(raw)
        out: dict[str, Any] = {}
        for key, value in top.items():
            if key != field:
                out[key] = _full.decode(value)
                continue
            history = bytes(value)
            if not history.startswith(b"["):  # not an array: the codec says what is wrong
                out[key] = _full.decode(history)
                continue
            out[key] = self._history(history)
        return out

    def _history(self, history: bytes) -> list[Any]:
        """The elements of a history array: those in the part it shares with a recent history
        of the same conversation come from that one (no scan, no hash), the rest are parsed
        (once per distinct bytes)."""
        key = history[:_HEAD_BYTES]
        with self._lock:
            candidates = list(self._recent.get(key, ()))
        base: _Seen | None = None
        same = 0
        for c in candidates:
            n = _common_prefix(history, c.raw)
            if n > same:
                base, same = c, n
        values: list[Any] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 1  # after "["
        k = 0
        if base is not None:
            k = bisect.bisect_right(base.ends, same - 1)  # elements ending inside the shared part
            values, starts, ends = base.values[:k], base.starts[:k], base.ends[:k]
            pos = ends[-1] if k else 1
            if 0 <= base.unkept < k:  # the newest element then, resent now: worth keeping
                i = base.unkept
                values[i] = self._element(history[starts[i] : ends[i]], keep=True)
        tail = _array.decode(_rest(history, pos))
        for j, element in enumerate(tail):
            data = bytes(element)
            start = history.index(data, pos)  # next to ``pos``: only a comma and spaces between
            pos = start + len(data)
            # the newest element is often new for good (a prompt with a timestamp): kept only
            # once a later request resends it
            values.append(self._element(data, keep=j < len(tail) - 1))
            starts.append(start)
            ends.append(pos)
        unkept = len(values) - 1 if tail else -1
        # the same conversation a turn later replaces its entry; another one that merely starts
        # alike (one agent's opening message for many users) gets its own
        moved_on = base is not None and len(base.ends) - k <= _SAME_CONVERSATION_TAIL
        self._keep(key, _Seen(history, starts, ends, values, unkept), base if moved_on else None)
        return list(values)

    def _keep(self, key: bytes, seen: _Seen, replaces: _Seen | None) -> None:
        with self._lock:
            group = self._recent.pop(key, [])
            if replaces is not None and replaces in group:
                group.remove(replaces)  # the same conversation, a turn behind
                self._recent_bytes -= len(replaces.raw)
            group.append(seen)
            if len(group) > _PER_HEAD:
                self._recent_bytes -= len(group.pop(0).raw)
            self._recent[key] = group
            self._recent_bytes += len(seen.raw)
            while self._recent and (
                self._recent_bytes > self.max_bytes // 4 or len(self._recent) > _CONVERSATIONS
            ):
                old_key = next(iter(self._recent))
                old = self._recent[old_key].pop(0)
                self._recent_bytes -= len(old.raw)
                if not self._recent[old_key]:
                    del self._recent[old_key]

    def decoded(self, element: object, style: Style) -> Any | None:
        """What the codec of ``style`` remembered of this shared element (None: not shared, or
        nothing yet; an element valid in two styles is decoded by each for itself)."""
        entry = self._by_id.get(id(element))
        if entry is None or entry.value is not element or entry.decoded is None:
            return None
        known_style, value = entry.decoded
        return value if known_style == style else None

    def remember(self, element: object, style: Style, decoded: Any) -> None:
        """Keeps a codec's result for ``element`` while the element is kept; for an element
        this parser did not share, nothing (it will not come back)."""
        entry = self._by_id.get(id(element))
        if entry is not None and entry.value is element:
            entry.decoded = (style, decoded)

    def _element(self, key: bytes, *, keep: bool) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found.value
        if not keep:
            return _full.decode(key)
        entry = _Entry(_full.decode(key))
        with self._lock:
            if key in self._items:
                return self._items[key].value
            self._items[key] = entry
            self._by_id[id(entry.value)] = entry
            self._bytes += len(key) + _ENTRY_OVERHEAD
            while self._bytes > self.max_bytes and self._items:
                old_key, old = self._items.popitem(last=False)
                del self._by_id[id(old.value)]
                self._bytes -= len(old_key) + _ENTRY_OVERHEAD
        return entry.value

    def __len__(self) -> int:
        return len(self._items)


class _Seen:
    __slots__ = ("ends", "raw", "starts", "unkept", "values")

    def __init__(
        self, raw: bytes, starts: list[int], ends: list[int], values: list[Any], unkept: int
    ) -> None:
        self.raw = raw  # a history array's bytes
        self.starts = starts  # where each element starts
        self.ends = ends  # the offset just past each element
        self.values = values  # the elements, parsed
        self.unkept = unkept  # the element parsed but not kept (the newest), or -1


def _rest(history: bytes, pos: int) -> bytes:
    """The array's elements from offset ``pos`` on (``pos``: just past an element, or the
    opening bracket), as an array of their own."""
    rest = history[pos:].lstrip()
    if rest.startswith(b","):
        rest = rest[1:]
    return b"[" + rest


def _common_prefix(a: bytes, b: bytes) -> int:
    """How many leading bytes ``a`` and ``b`` share: slices compared in growing steps, then a
    binary search in the step that differs, so the cost follows the shared length (~25 µs for
    200 kB shared; a history that differs early costs next to nothing)."""
    n = min(len(a), len(b))
    lo, step = 0, 4096
    while lo < n:
        hi = min(n, lo + step)
        if a[lo:hi] != b[lo:hi]:
            break
        lo, step = hi, step * 2
    else:
        return n
    # a[:lo] == b[:lo] and a[:hi] != b[:hi]
    while hi - lo > 64:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    while lo < hi and a[lo] == b[lo]:
        lo += 1
    return lo


class _Entry:
    __slots__ = ("decoded", "value")

    def __init__(self, value: Any) -> None:
        self.value = value  # the parsed element, shared
        self.decoded: tuple[Style, Any] | None = None  # what a codec made of it


# one per process: the gateway parses with it, the codecs look their results up in it
HISTORY = HistoryParser()


@dataclass(frozen=True, slots=True)
class DecodedElement:
    """What a codec made of one history element: its canonical messages, and the context they
    depend on — the tool names its results were given (from earlier calls; a reuse checks them)
    and the calls it makes (the names later results take)."""

    messages: tuple[Message, ...]
    results: tuple[tuple[str, str | None], ...]
    calls: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, messages: list[Message]) -> DecodedElement:
        parts = [p for m in messages for p in m.content]
        results = tuple((p.tool_call_id, p.name) for p in parts if isinstance(p, ToolResultPart))
        calls = tuple((p.id, p.name) for m in messages if m.role == "assistant" for p in m.content
                      if isinstance(p, ToolCallPart))  # fmt: skip
        return cls(tuple(messages), results, calls)

    def fits(self, names: dict[str, str]) -> bool:
        """Whether the earlier calls name this element's results as they did when decoded."""
        return all(names.get(cid) == name for cid, name in self.results)
