"""Requests-per-minute limits per project, as token buckets.

A bucket holds up to ``rpm`` tokens and refills at ``rpm / 60`` per second, so a project may
burst up to its minute's allowance and then continues at its steady rate. The counters live in
this process (one set per worker); sharing them across replicas through Redis is on the roadmap.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import RateLimited


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class MemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, key: str, rpm: int) -> int | None:
        """Take one request from ``key``'s allowance; returns what remains (None: unlimited).

        Raises ``RateLimited`` with the seconds until the next request is allowed.
        """
        if rpm <= 0:
            return None
        now = self._clock()
        rate = rpm / 60.0
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(rpm), now)
        else:
            bucket.tokens = min(float(rpm), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
        if bucket.tokens < 1.0:
            wait = (1.0 - bucket.tokens) / rate
            raise RateLimited(
                f"rate limit of {rpm} requests per minute exceeded for this key; retry in {math.ceil(wait)}s",
                retry_after=wait,
            )
        bucket.tokens -= 1.0
        return int(bucket.tokens)
