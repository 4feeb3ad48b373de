"""Retrying one route step before moving on to the next (tenacity).

Only what is safe to repeat is retried: connection errors, timeouts before any byte, 408/409/429
and 5xx (Anthropic's 529 ``overloaded_error`` included) — never a client fault
(400/401/403/404/413/422), never an open circuit, and never after a stream's first byte reached
the client (a stream is only returned once its first chunk arrived, so a failure that reaches
this code had sent the client nothing). Waits grow exponentially with full jitter
(``uniform(0, min(max_backoff, 0.5 s x 2^n))``), unless the provider said how long to wait
(``Retry-After``, ``retry-after-ms``): that wait is honoured when it fits under ``max_backoff``,
and a longer one moves on to the next step at once. A request never retries past its deadline.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from app.errors import CircuitOpen, UpstreamError

T = TypeVar("T")
BASE_WAIT = 0.5


def retryable(exc: BaseException) -> bool:
    return isinstance(exc, UpstreamError) and not exc.client_fault and not isinstance(exc, CircuitOpen)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int  # calls per step, the first included (1 = no retry)
    max_backoff: float
    deadline: float  # seconds a whole request may take before no retry starts any more
    rng: Callable[[], float] = random.random
    sleep: Callable[[float], Awaitable[None]] | None = None  # tests pass a fake

    def wait_for(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        told = exc.retry_after if isinstance(exc, UpstreamError) else None
        if told is not None:
            return float(told)
        cap: float = min(self.max_backoff, BASE_WAIT * 2.0 ** (state.attempt_number - 1))
        jitter: float = self.rng()
        return jitter * cap

    async def run(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        started: float,
        on_retry: Callable[[UpstreamError, float], None] | None = None,
    ) -> T:
        """``call`` until it succeeds, fails in a way not worth retrying, or runs out of tries,
        waits that fit, or time (``started``: the request's perf_counter start)."""
        if self.attempts <= 1:
            return await call()
        # the first try runs bare: building tenacity's machinery cost ~20 µs a request, and
        # almost every call succeeds the first time
        try:
            return await call()
        except Exception as exc:
            if not retryable(exc):
                raise
            first: list[Exception] = [exc]

        async def again() -> T:
            if first:
                raise first.pop()  # tenacity's attempt 1 is the failure already seen
            return await call()

        def give_up(state: RetryCallState) -> bool:
            if stop_after_attempt(self.attempts)(state):
                return True
            wait = self.wait_for(state)
            if wait > self.max_backoff:
                return True  # the provider asks for longer than we may wait: next step now
            return time.perf_counter() - started + wait > self.deadline

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            if on_retry is not None and isinstance(exc, UpstreamError):
                on_retry(exc, state.upcoming_sleep)

        kwargs = {"sleep": self.sleep} if self.sleep is not None else {}
        retrying = AsyncRetrying(
            stop=give_up,
            wait=self.wait_for,
            retry=retry_if_exception(retryable),
            reraise=True,
            before_sleep=before_sleep,
            **kwargs,  # type: ignore[arg-type]
        )
        async for attempt in retrying:
            with attempt:
                return await again()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
