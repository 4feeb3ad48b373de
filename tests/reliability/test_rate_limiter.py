"""Token-bucket rate limits with a fake clock."""

from __future__ import annotations

import pytest

from app.errors import RateLimited
from app.reliability.rate_limiter import MemoryRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_at_the_steady_rate() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    assert [limiter.acquire("p", 3) for _ in range(3)] == [2, 1, 0]
    with pytest.raises(RateLimited) as info:
        limiter.acquire("p", 3)
    assert info.value.retry_after == pytest.approx(20.0)  # 3 per minute: one every 20 s
    clock.now += 20
    assert limiter.acquire("p", 3) == 0
    assert limiter.acquire("other", 3) == 2  # keys are independent


def test_unlimited() -> None:
    limiter = MemoryRateLimiter(Clock())
    assert all(limiter.acquire("p", 0) is None for _ in range(1000))
