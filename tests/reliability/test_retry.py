"""Retries: only what is safe, growing full-jitter waits, Retry-After honoured, deadline kept."""

from __future__ import annotations

import time

import pytest

from app.errors import CircuitOpen, UpstreamConnect, UpstreamStatus, UpstreamTimeout
from app.reliability.retry import RetryPolicy


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def policy(
    sleeps: Sleeps, attempts: int = 4, max_backoff: float = 8.0, deadline: float = 600.0
) -> RetryPolicy:
    return RetryPolicy(attempts, max_backoff, deadline, rng=lambda: 1.0, sleep=sleeps)


class Flaky:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def err(code: int, retry_after: float | None = None) -> UpstreamStatus:
    return UpstreamStatus("x", provider="p", upstream_status=code, retry_after=retry_after)


async def test_5xx_retried_with_growing_gaps() -> None:
    sleeps = Sleeps()
    call = Flaky(err(500), err(503), UpstreamConnect("x", provider="p"))
    assert await policy(sleeps).run(call, started=time.perf_counter()) == "ok"
    assert call.calls == 4
    assert sleeps.waits == [0.5, 1.0, 2.0]  # full jitter with rng=1.0: the cap itself


async def test_backoff_is_capped_and_jittered() -> None:
    sleeps = Sleeps()
    p = RetryPolicy(6, 1.5, 600, rng=lambda: 0.5, sleep=sleeps)
    await p.run(Flaky(*[err(502)] * 5), started=time.perf_counter())
    assert sleeps.waits == [0.25, 0.5, 0.75, 0.75, 0.75]


async def test_retry_after_is_honoured_when_it_fits() -> None:
    sleeps = Sleeps()
    await policy(sleeps).run(Flaky(err(429, retry_after=3.0)), started=time.perf_counter())
    assert sleeps.waits == [3.0]


async def test_a_longer_retry_after_moves_on_at_once() -> None:
    sleeps = Sleeps()
    call = Flaky(err(429, retry_after=30.0))
    with pytest.raises(UpstreamStatus):
        await policy(sleeps).run(call, started=time.perf_counter())
    assert call.calls == 1 and sleeps.waits == []


@pytest.mark.parametrize("code", [400, 401, 403, 404, 413, 422])
async def test_client_faults_are_never_retried(code: int) -> None:
    call = Flaky(err(code))
    with pytest.raises(UpstreamStatus):
        await policy(Sleeps()).run(call, started=time.perf_counter())
    assert call.calls == 1


async def test_open_circuit_is_never_retried() -> None:
    call = Flaky(CircuitOpen("open", provider="p"))
    with pytest.raises(CircuitOpen):
        await policy(Sleeps()).run(call, started=time.perf_counter())
    assert call.calls == 1


async def test_timeouts_are_retried_and_attempts_are_bounded() -> None:
    call = Flaky(*[UpstreamTimeout("t", provider="p")] * 10)
    with pytest.raises(UpstreamTimeout):
        await policy(Sleeps(), attempts=3).run(call, started=time.perf_counter())
    assert call.calls == 3


async def test_no_retry_past_the_deadline() -> None:
    call = Flaky(err(500), err(500))
    with pytest.raises(UpstreamStatus):
        await policy(Sleeps(), deadline=5.0).run(call, started=time.perf_counter() - 4.9)
    assert call.calls == 1


async def test_the_first_try_runs_without_tenacity_and_retries_behave_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import app.reliability.retry as retry_module

    real = retry_module.AsyncRetrying
    built: list[int] = []

    def counting(*args: object, **kwargs: object) -> object:
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(retry_module, "AsyncRetrying", counting)
    sleeps = Sleeps()
    ok = Flaky()
    assert await policy(sleeps).run(ok, started=time.perf_counter()) == "ok"
    assert (ok.calls, built, sleeps.waits) == (1, [], [])  # success: no retry machinery at all
    with pytest.raises(UpstreamStatus):
        await policy(sleeps).run(Flaky(err(400)), started=time.perf_counter())
    assert built == []  # a client fault is raised as it is
    retried: list[float] = []
    call = Flaky(err(500), err(503))
    result = await policy(sleeps, attempts=3).run(
        call, started=time.perf_counter(), on_retry=lambda exc, wait: retried.append(wait)
    )
    assert result == "ok" and call.calls == 3 and built == [1]
    assert sleeps.waits == [0.5, 1.0] and retried == [0.5, 1.0]  # the first failure counts as attempt 1
    with pytest.raises(UpstreamStatus) as info:
        await policy(Sleeps(), attempts=2).run(Flaky(err(500), err(502)), started=time.perf_counter())
    assert info.value.upstream_status == 502  # out of tries: the last error, as before
