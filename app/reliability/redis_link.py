"""The process's one Redis connection pool, and whether Redis is usable right now.

Everything the gateway keeps in Redis (rate-limit windows, the loop guard, breaker states, the
response cache) is an optimisation or a way to share state between replicas — never a reason to
fail a request. So every call goes through ``RedisLink.run``: short socket timeouts, and after a
failure Redis is considered down for ``retry_after`` seconds, during which callers get ``None``
at once and use their in-process fallback instead of waiting on a dead server. The first failure
of an outage is logged once and counted (``gateway_degraded_total{component}``); the first
success after it logs the recovery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("frugal.redis")
T = TypeVar("T")


class RedisLink:
    def __init__(
        self,
        url: str,
        *,
        on_outage: Callable[[str], None] | None = None,
        op_timeout: float = 0.5,
        connect_timeout: float = 1.0,
        retry_after: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from redis.asyncio import Redis

        self.url = url
        self._client: Redis = Redis.from_url(
            url,
            socket_timeout=op_timeout,
            socket_connect_timeout=connect_timeout,
            health_check_interval=0,
            retry_on_timeout=False,
            max_connections=256,
        )
        self._on_outage = on_outage
        self._retry_after = retry_after
        self._clock = clock
        self._down_since: float | None = None
        self._next_try = 0.0
        self.last_error: str | None = None

    @property
    def client(self) -> Redis:
        return self._client

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def usable(self) -> bool:
        return self._down_since is None or self._clock() >= self._next_try

    async def run(self, component: str, op: Callable[[Redis], Awaitable[T]]) -> T | None:
        """``op(client)``, or None when Redis is down (now or just found to be)."""
        if not self.usable():
            return None
        try:
            result = await op(self._client)
        except Exception as exc:  # any Redis or socket failure means "bypass", never "fail"
            self._failed(component, exc)
            return None
        if self._down_since is not None:
            outage = self._clock() - self._down_since
            log.warning("redis is back after %.1fs; %s shares state again", outage, component)
            self._down_since = None
            self.last_error = None
        return result

    def _failed(self, component: str, exc: Exception) -> None:
        now = self._clock()
        self._next_try = now + self._retry_after
        self.last_error = type(exc).__name__
        if self._down_since is None:
            self._down_since = now
            log.warning(
                "redis unreachable (%s): %s falls back to this process", type(exc).__name__, component
            )
            if self._on_outage is not None:
                self._on_outage(component)

    async def ping(self) -> bool:
        result: Any = await self.run("health", lambda r: r.ping())
        return bool(result)

    async def aclose(self) -> None:
        await self._client.aclose()
