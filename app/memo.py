"""Memos for work the gateway would otherwise redo on every turn of a conversation.

``TextMemo``: a bounded memo for pure functions of long texts.

Agents resend their whole history with every turn, so the gateway sees the same long texts
(file views, tool outputs) again and again: turn N+1 holds every message of turn N byte for
byte. Work that depends on a text alone — where its file bodies are, how many tokens it holds —
is done once per text and looked up after that. Only the result is kept, keyed by the text
itself; what the callers do with it is unchanged, so no answer depends on the memo.

Bounded by the memory of the texts it holds (least recently used out first): Python stores a
text in 1, 2 or 4 bytes a character depending on its widest one, so one emoji in a file view
makes it cost four times its length, and a bound in characters would let the memo hold 16 MB
instead of 4. Thread-safe (token counting runs in worker threads).
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class TextMemo(Generic[V]):
    def __init__(self, max_bytes: int = 4_000_000, min_chars: int = 512) -> None:
        self.max_bytes = max_bytes
        self.min_chars = min_chars  # shorter texts are cheaper to redo than to keep
        self._items: OrderedDict[tuple[Hashable, str], V] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def worth(self, text: str) -> bool:
        return len(text) >= self.min_chars and _cost(text) <= self.max_bytes // 4

    def get(self, key: Hashable, text: str) -> V | None:
        with self._lock:
            value = self._items.get((key, text))
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end((key, text))
            self.hits += 1
            return value

    def put(self, key: Hashable, text: str, value: V) -> None:
        with self._lock:
            if (key, text) in self._items:
                return
            self._items[(key, text)] = value
            self._bytes += _cost(text)
            while self._bytes > self.max_bytes and self._items:
                (_, old), _ = self._items.popitem(last=False)
                self._bytes -= _cost(old)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        return self._bytes


def _cost(text: str) -> int:
    return sys.getsizeof(text)  # O(1): header plus length times the width of a character


class IdentityMemo(Generic[V]):
    """What was made of an object, for as long as that object lives.

    Canonical messages are shared across a conversation's turns (the history parser and the
    stages' walk memos hand back the same objects), so a codec can keep the wire form it built
    for one by the object's identity. Entries leave with their object (a weak reference's
    callback), so the memo needs no bound of its own: it is as big as the live messages."""

    def __init__(self) -> None:
        self._items: dict[int, tuple[weakref.ref[Any], V]] = {}

    def get(self, obj: object) -> V | None:
        entry = self._items.get(id(obj))
        if entry is None or entry[0]() is not obj:
            return None
        return entry[1]

    def put(self, obj: object, value: V) -> None:
        key = id(obj)
        items = self._items

        def gone(ref: weakref.ref[Any], key: int = key) -> None:
            entry = items.get(key)
            if entry is not None and entry[0] is ref:
                del items[key]

        items[key] = (weakref.ref(obj, gone), value)

    def __len__(self) -> int:
        return len(self._items)
