"""The loop guard: refuse a conversation that was already answered again and again, unchanged.

A client that sends the very same conversation over and over without adding anything — a real
agent did it 1,375 times in 180 s after a conversion bug made it lose track of its own turns —
turns a bug into a bill. Each request gets a fingerprint of what decides the answer (model,
system, messages, tools, response format); when the same fingerprint already got ``max_repeats``
*successful* answers within ``window`` for the same project, the request is refused with a 400
in the caller's style (``x-should-retry: false``, so SDKs do not retry it) and counted. A retry
of a request that failed is not a loop: failed answers are not counted.

With Redis the counts are shared by every worker and replica (one sorted set per project and
fingerprint); without it, or while it is down, each process counts alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import msgspec

from app.canonical import Request
from app.errors import BadRequest
from app.pipeline import Finished
from app.reliability.redis_link import RedisLink

_encoder = msgspec.json.Encoder()
_MAX_TRACKED = 10_000  # fingerprints kept in memory (least recently seen dropped first)


class LoopDetected(BadRequest):
    kind = "invalid_request_error"


def fingerprint(req: Request) -> str:
    """What decides the answer, hashed (the stream flag and sampling knobs do not make a new
    conversation)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(req.model.encode())
    digest.update(_encoder.encode(req.system))
    digest.update(_encoder.encode(req.messages))
    digest.update(_encoder.encode(req.tools))
    if req.response_format is not None:
        digest.update(_encoder.encode(req.response_format))
    return digest.hexdigest()


class LoopGuard:
    def __init__(
        self,
        *,
        max_repeats: int,
        window: float,
        redis: RedisLink | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_repeats = max_repeats
        self.window = window
        self._redis = redis
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._ids = itertools.count()
        self._prefix = f"{time.time_ns():x}-"

    async def check(self, project: str, fp: str) -> None:
        """Raise ``LoopDetected`` when this conversation was answered too often already."""
        key = f"{project}:{fp}"
        count: int | None = None
        if self._redis is not None and self._redis.usable():
            count = await self._redis.run("loop_guard", lambda r: self._count(r, key))
        if count is None:
            count = self._local_count(key)
        if count >= self.max_repeats:
            raise LoopDetected(
                f"loop guard: this exact conversation was already answered {count} times in the last "
                f"{self.window:g}s; the gateway will not send it again until it has new content "
                "(reliability.loop_guard)"
            )

    async def answered(self, project: str, fp: str) -> None:
        """Count one successful answer to this conversation."""
        key = f"{project}:{fp}"
        shared: Any = None
        if self._redis is not None and self._redis.usable():
            shared = await self._redis.run("loop_guard", lambda r: self._add(r, key))
        if shared is None:
            self._local_add(key)

    # ---------------------------------------------------------------- in process

    def _local_count(self, key: str) -> int:
        times = self._seen.get(key)
        if times is None:
            return 0
        now = self._clock()
        while times and now - times[0] >= self.window:
            times.popleft()
        return len(times)

    def _local_add(self, key: str) -> None:
        times = self._seen.get(key)
        if times is None:
            times = self._seen[key] = deque()
            if len(self._seen) > _MAX_TRACKED:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(key)
        times.append(self._clock())

    # ---------------------------------------------------------------- shared

    async def _count(self, r: Any, key: str) -> int:
        now_ms = int(time.time() * 1000)
        redis_key = f"frugal:loop:{key}"
        await r.zremrangebyscore(redis_key, 0, now_ms - int(self.window * 1000))
        n: int = await r.zcard(redis_key)
        return n

    async def _add(self, r: Any, key: str) -> bool:
        now_ms = int(time.time() * 1000)
        redis_key = f"frugal:loop:{key}"
        async with r.pipeline(transaction=True) as pipe:
            pipe.zadd(redis_key, {f"{self._prefix}{next(self._ids)}": now_ms})
            pipe.pexpire(redis_key, int(self.window * 1000))
            await pipe.execute()
        return True


class LoopGuardHook:
    """After-hook: counts each successful answer for the loop guard, off the request path."""

    def __init__(self, guard: LoopGuard) -> None:
        self._guard = guard
        self._tasks: set[asyncio.Task[None]] = set()

    def after(self, done: Finished) -> None:
        ctx = done.ctx
        if ctx.fingerprint is None or done.record.status != 200:
            return
        task = asyncio.get_running_loop().create_task(self._guard.answered(ctx.project.name, ctx.fingerprint))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
