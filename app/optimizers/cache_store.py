"""Where cached answers live: process memory (an LRU bounded in bytes) or Redis.

Both stores hold the canonical ``Response`` encoded with msgspec, so one entry serves every
client style. Redis is reached through the process's ``RedisLink``: while it is down ``get``
returns ``None`` and ``put`` does nothing (the cache is bypassed, never an error), and both
resume on their own once it answers again.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal, Protocol

from app.reliability.redis_link import RedisLink

Lookup = Literal["hit", "miss", "unavailable"]


class CacheStore(Protocol):
    name: str

    async def get(self, key: str) -> tuple[Lookup, bytes | None]: ...

    async def put(self, key: str, value: bytes, ttl: float) -> None: ...


# What an entry costs beyond its answer and key bytes: the bytes and str headers, the
# (expiry, value) tuple and its float, the ordered dict's slot. Measured with tracemalloc:
# 100,000 small answers took 382 bytes an entry, of which 65 were answer bytes and 64 key.
ENTRY_OVERHEAD = 256


def entry_cost(key: str, value: bytes) -> int:
    return len(value) + len(key) + ENTRY_OVERHEAD


class MemoryStore:
    """An LRU of encoded answers, bounded by what its entries cost in memory (answer, key and
    bookkeeping: ``entry_cost``), so ``cache.memory_max_bytes`` bounds the process's memory and
    not only the answers'; expired entries are dropped when read or when room is needed."""

    name = "memory"

    def __init__(self, max_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> tuple[Lookup, bytes | None]:
        entry = self._entries.get(key)
        if entry is None:
            return "miss", None
        expires, value = entry
        if self._clock() >= expires:
            self._drop(key)
            return "miss", None
        self._entries.move_to_end(key)
        return "hit", value

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        self.put_now(key, value, ttl)

    def put_now(self, key: str, value: bytes, ttl: float) -> None:
        """``put`` without a coroutine: the after-hook stores in memory without a task."""
        if entry_cost(key, value) > self._max_bytes:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (self._clock() + ttl, value)
        self._bytes += entry_cost(key, value)
        while self._bytes > self._max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self._bytes -= entry_cost(key, value)


class RedisStore:
    name = "redis"
    PREFIX = "frugal:cache:"

    def __init__(self, link: RedisLink) -> None:
        self._link = link

    async def get(self, key: str) -> tuple[Lookup, bytes | None]:
        value: Any = await self._link.run("cache", lambda r: r.get(self.PREFIX + key))
        if value is None:
            # None is both "no such key" and "Redis is down": tell them apart for X-Cache
            return ("unavailable", None) if self._link.down else ("miss", None)
        return "hit", bytes(value)

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        seconds = max(1, int(ttl))
        await self._link.run("cache", lambda r: r.set(self.PREFIX + key, value, ex=seconds))
