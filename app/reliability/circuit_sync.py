"""Sharing open circuits between workers and replicas through Redis.

When a breaker of this process opens, it is published as ``frugal:cb:<key>`` with the cooldown as
its TTL. Every second each process reads the TTLs of the keys it guards (one pipelined round
trip) and treats a key another process opened as open for that long. No Redis call happens on the
request path, so a dead provider stops getting traffic from every worker within about a second of
any one of them tripping, at no per-request cost; without Redis each process keeps its own
breakers (documented).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from app.background import cancel_and_wait
from app.reliability.circuit_breaker import CircuitBreakers
from app.reliability.redis_link import RedisLink

log = logging.getLogger("frugal.circuit")
PREFIX = "frugal:cb:"
INTERVAL = 1.0


class CircuitSync:
    def __init__(self, breakers: CircuitBreakers, redis: RedisLink, keys: Iterable[str]) -> None:
        self._breakers = breakers
        self._redis = redis
        self._keys = sorted(set(keys))
        self._task: asyncio.Task[None] | None = None
        self._publishing: set[asyncio.Task[Any]] = set()
        breakers.on_open = self.publish

    def publish(self, key: str, seconds: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        ms = max(1, int(seconds * 1000))
        task = loop.create_task(self._redis.run("circuit", lambda r: r.set(PREFIX + key, "open", px=ms)))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    def start(self) -> None:
        if self._task is None and self._keys:
            self._task = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            ttls = await self._redis.run("circuit", self._read)
            if ttls is None:
                continue
            for key, ttl in zip(self._keys, ttls, strict=True):
                if isinstance(ttl, int) and ttl > 0:
                    self._breakers.mark_remote_open(key, ttl / 1000)

    async def _read(self, r: Any) -> list[Any]:
        async with r.pipeline(transaction=False) as pipe:
            for key in self._keys:
                pipe.pttl(PREFIX + key)
            result: list[Any] = await pipe.execute()
            return result

    async def aclose(self) -> None:
        await cancel_and_wait(self._task)
        if self._publishing:
            await asyncio.wait(list(self._publishing), timeout=1.0)
