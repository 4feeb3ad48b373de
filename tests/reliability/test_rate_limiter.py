"""Sliding-window rate limits: in process with a fake clock, and shared through the real Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from app.errors import RateLimited
from app.reliability.rate_limiter import MemoryRateLimiter, RateLimiter
from app.reliability.redis_link import RedisLink
from tests.support.redis_server import ThrowawayRedis, free_port, service_url


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_sliding_minute_per_key() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    assert [limiter.acquire("p", 3) for _ in range(3)] == [2, 1, 0]
    clock.now += 20
    with pytest.raises(RateLimited) as info:
        limiter.acquire("p", 3)
    assert info.value.retry_after == pytest.approx(40.0)  # the first request leaves the window at 60 s
    clock.now += 40
    assert limiter.acquire("p", 3) == 2  # all three left the window together
    assert limiter.acquire("other", 3) == 2  # keys are independent


def test_tokens_per_minute() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    limiter.acquire("p", 0, tpm=1000, tokens=700)
    with pytest.raises(RateLimited, match="1000 prompt tokens"):
        limiter.acquire("p", 0, tpm=1000, tokens=400)
    limiter.acquire("p", 0, tpm=1000, tokens=300)
    clock.now += 60
    limiter.acquire("p", 0, tpm=1000, tokens=900)


def test_unlimited() -> None:
    limiter = MemoryRateLimiter(Clock())
    assert all(limiter.acquire("p", 0) is None for _ in range(1000))


async def test_two_limiters_on_one_redis_share_one_exact_limit() -> None:
    """Two workers (or replicas) on one Redis: together they admit exactly rpm requests."""
    key = f"test-{uuid.uuid4().hex}"
    a, b = RedisLink(service_url()), RedisLink(service_url())
    try:
        first, second = RateLimiter(a), RateLimiter(b)
        admitted = 0
        for i in range(40):
            try:
                await (first if i % 2 else second).acquire(key, 25)
                admitted += 1
            except RateLimited as exc:
                assert 0 < exc.retry_after <= 60
        assert admitted == 25
    finally:
        await a.aclose()
        await b.aclose()


async def test_concurrent_admissions_stay_exact() -> None:
    key = f"test-{uuid.uuid4().hex}"
    # Exactness is the point here, not timeouts: 200 first connections at once on a busy CI
    # machine can take longer than the production op timeout, which would (correctly) fall back.
    links = [RedisLink(service_url(), op_timeout=10, connect_timeout=10) for _ in range(4)]
    try:
        limiters = [RateLimiter(link) for link in links]

        async def one(i: int) -> bool:
            try:
                await limiters[i % 4].acquire(key, 50)
                return True
            except RateLimited:
                return False

        results = await asyncio.gather(*(one(i) for i in range(200)))
        assert sum(results) == 50
    finally:
        for link in links:
            await link.aclose()


async def test_redis_down_falls_back_to_the_process_and_resumes_sharing() -> None:
    server = ThrowawayRedis().start()
    link = RedisLink(server.url, retry_after=0.2)
    outages: list[str] = []
    link._on_outage = outages.append
    try:
        limiter = RateLimiter(link)
        key = f"test-{uuid.uuid4().hex}"
        assert await limiter.acquire(key, 100) == 99  # shared window in Redis
        server.stop()
        assert await limiter.acquire(key, 100) == 99  # Redis gone: this process's own window
        assert await limiter.acquire(key, 100) == 98
        assert outages == ["rate_limit"] and link.down
        server.start()
        await asyncio.sleep(0.3)
        # back on the (restarted, empty) shared window
        assert await limiter.acquire(key, 100) == 99
        assert not link.down
    finally:
        await link.aclose()
        server.close()


async def test_unreachable_redis_never_slows_a_request_down() -> None:
    link = RedisLink(f"redis://127.0.0.1:{free_port()}/0", retry_after=30)
    try:
        limiter = RateLimiter(link)
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(100):
            await limiter.acquire("p", 1000)
        assert loop.time() - started < 1.0  # one failed connect, then no Redis call for 30 s
    finally:
        await link.aclose()
