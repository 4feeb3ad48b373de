"""Per-project limits: requests per minute and, optionally, prompt tokens per minute.

A sliding one-minute window: a request is admitted when fewer than ``rpm`` requests (and fewer
than ``tpm`` estimated prompt tokens) were admitted in the 60 seconds before it. With Redis the
window is one sorted set per project, checked and updated atomically by one Lua script that reads
Redis's own clock, so every worker and replica shares one exact limit. While Redis is down the
process keeps its own window (a limit per process, so briefly looser with several workers) and
goes back to the shared one when Redis answers again.

Rejected requests get ``RateLimited`` (429 in the caller's style) with ``Retry-After`` = the time
until the oldest request in the window leaves it.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.errors import RateLimited
from app.reliability.redis_link import RedisLink

WINDOW = 60.0

# KEYS[1] requests zset, KEYS[2] tokens zset; ARGV: rpm, tpm, tokens, member, window ms.
# Members are "<unique id>" (requests) and "<unique id>:<tokens>" (tokens); scores are ms.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rpm, tpm, tokens, win = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, now - win)
local n = redis.call('ZCARD', KEYS[1])
local wait = 0
if rpm > 0 and n >= rpm then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  wait = tonumber(oldest[2]) + win - now
end
local used = 0
if tpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], 0, now - win)
  local entries = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    used = used + tonumber(string.match(entries[i], ':(%d+)$'))
  end
  if used > 0 and used + tokens > tpm then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + win - now)
  end
end
if wait > 0 then
  return {0, 0, wait}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], win)
if tpm > 0 then
  redis.call('ZADD', KEYS[2], now, ARGV[4] .. ':' .. tokens)
  redis.call('PEXPIRE', KEYS[2], win)
end
local left = -1
if rpm > 0 then left = rpm - n - 1 end
return {1, left, 0}
"""


@dataclass(slots=True)
class _Window:
    times: deque[float] = field(default_factory=deque)
    tokens: deque[tuple[float, int]] = field(default_factory=deque)


class MemoryRateLimiter:
    """The same sliding window, in this process only (no Redis, or Redis down)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def acquire(self, key: str, rpm: int, tpm: int = 0, tokens: int = 0) -> int | None:
        """Admit one request of ``tokens`` prompt tokens; returns the requests left in the window
        (None: no request limit). Raises ``RateLimited`` with the wait until one is allowed."""
        if rpm <= 0 and tpm <= 0:
            return None
        now = self._clock()
        w = self._windows.get(key)
        if w is None:
            w = self._windows[key] = _Window()
        while w.times and now - w.times[0] >= WINDOW:
            w.times.popleft()
        while w.tokens and now - w.tokens[0][0] >= WINDOW:
            w.tokens.popleft()
        wait = 0.0
        if rpm > 0 and len(w.times) >= rpm:
            wait = w.times[0] + WINDOW - now
        used = sum(n for _, n in w.tokens)
        if tpm > 0 and used and used + tokens > tpm:
            wait = max(wait, w.tokens[0][0] + WINDOW - now)
        if wait > 0:
            raise _limited(rpm, tpm, wait)
        w.times.append(now)
        if tpm > 0:
            w.tokens.append((now, tokens))
        return rpm - len(w.times) if rpm > 0 else None


class RateLimiter:
    """Shared through Redis when it is configured and reachable, else per process."""

    def __init__(self, redis: RedisLink | None = None, memory: MemoryRateLimiter | None = None) -> None:
        self._redis = redis
        self._memory = memory or MemoryRateLimiter()
        self._script: Any = None
        self._ids = itertools.count()
        self._prefix = f"{time.time_ns():x}-"

    async def acquire(self, key: str, rpm: int, tpm: int = 0, tokens: int = 0) -> int | None:
        if rpm <= 0 and tpm <= 0:
            return None
        if self._redis is not None and self._redis.usable():
            shared = await self._redis.run("rate_limit", lambda r: self._run(r, key, rpm, tpm, tokens))
            if shared is not None:
                admitted, left, wait_ms = (int(x) for x in shared)
                if not admitted:
                    raise _limited(rpm, tpm, wait_ms / 1000)
                return left if left >= 0 else None
        return self._memory.acquire(key, rpm, tpm, tokens)

    async def _run(self, r: Any, key: str, rpm: int, tpm: int, tokens: int) -> list[Any]:
        if self._script is None:
            self._script = r.register_script(_SCRIPT)
        member = f"{self._prefix}{next(self._ids)}"
        keys = [f"frugal:rl:{key}", f"frugal:rlt:{key}"]
        result: list[Any] = await self._script(keys=keys, args=[rpm, tpm, tokens, member, int(WINDOW * 1000)])
        return result


def _limited(rpm: int, tpm: int, wait: float) -> RateLimited:
    limits = " and ".join(
        s for s in (f"{rpm} requests" if rpm > 0 else "", f"{tpm} prompt tokens" if tpm > 0 else "") if s
    )
    return RateLimited(
        f"rate limit of {limits} per minute exceeded for this key; retry in {math.ceil(wait)}s",
        retry_after=wait,
    )
