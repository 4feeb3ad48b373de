"""Circuit breakers with a fake clock: open, skip, half-open probes, close; per model and provider."""

from __future__ import annotations

import pytest

from app.errors import CircuitOpen, UpstreamConnect, UpstreamStatus
from app.reliability.circuit_breaker import CircuitBreakers


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def status(code: int) -> UpstreamStatus:
    return UpstreamStatus("boom", provider="p", upstream_status=code)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def cb(clock: Clock, events: list[tuple[str, str]]) -> CircuitBreakers:
    return CircuitBreakers(
        failures=3, window=60, cooldown=30, probes=1, clock=clock, listener=lambda p, s: events.append((p, s))
    )


def test_opens_after_failures_in_the_window_and_skips_at_once(cb: CircuitBreakers, clock: Clock) -> None:
    for _ in range(2):
        cb.check("p", "m")
        cb.record_failure("p", "m", status(500))
    cb.check("p", "m")  # two failures: still closed
    cb.record_failure("p", "m", status(500))
    with pytest.raises(CircuitOpen) as exc:
        cb.check("p", "m")
    assert exc.value.retry_after == pytest.approx(30)
    clock.now += 10
    with pytest.raises(CircuitOpen) as exc:
        cb.check("p", "m")
    assert exc.value.retry_after == pytest.approx(20)
    assert cb.provider_state("p") == "open"


def test_failures_outside_the_window_do_not_add_up(cb: CircuitBreakers, clock: Clock) -> None:
    for _ in range(5):
        cb.record_failure("p", "m", status(503))
        clock.now += 31  # each failure 31 s after the previous: never 3 within 60 s
    cb.check("p", "m")


def test_half_open_lets_one_probe_through_and_closes_on_success(
    cb: CircuitBreakers, clock: Clock, events: list[tuple[str, str]]
) -> None:
    for _ in range(3):
        cb.record_failure("p", "m", status(500))
    clock.now += 30
    assert cb.provider_state("p") == "half_open"
    cb.check("p", "m")  # the probe
    with pytest.raises(CircuitOpen):
        cb.check("p", "m")  # a second caller while the probe runs
    cb.record_success("p", "m")
    cb.check("p", "m")
    assert cb.provider_state("p") == "closed"
    assert events[0] == ("p", "open") and events[-1] == ("p", "closed")


def test_a_failed_probe_opens_again_for_a_full_cooldown(cb: CircuitBreakers, clock: Clock) -> None:
    for _ in range(3):
        cb.record_failure("p", "m", status(500))
    clock.now += 30
    cb.check("p", "m")
    cb.record_failure("p", "m", status(500))
    clock.now += 29
    with pytest.raises(CircuitOpen):
        cb.check("p", "m")
    clock.now += 1
    cb.check("p", "m")


def test_a_cancelled_probe_frees_its_slot(cb: CircuitBreakers, clock: Clock) -> None:
    for _ in range(3):
        cb.record_failure("p", "m", status(500))
    clock.now += 30
    cb.check("p", "m")
    cb.release_probe("p", "m")
    cb.check("p", "m")


def test_one_failing_model_does_not_open_its_siblings(cb: CircuitBreakers) -> None:
    for _ in range(5):
        cb.record_failure("p", "bad", status(500))
    with pytest.raises(CircuitOpen):
        cb.check("p", "bad")
    cb.check("p", "good")


def test_connection_errors_open_the_whole_provider(cb: CircuitBreakers) -> None:
    for _ in range(3):
        cb.record_failure("p", "a", UpstreamConnect("refused", provider="p"))
    with pytest.raises(CircuitOpen):
        cb.check("p", "other-model")


def test_client_faults_never_count(cb: CircuitBreakers) -> None:
    for code in (400, 401, 403, 404, 413, 422) * 3:
        cb.record_failure("p", "m", status(code))
    cb.check("p", "m")


def test_another_process_reports_open(cb: CircuitBreakers, clock: Clock) -> None:
    cb.mark_remote_open("p:m", 12)
    with pytest.raises(CircuitOpen) as exc:
        cb.check("p", "m")
    assert exc.value.retry_after == pytest.approx(12)
    clock.now += 12
    cb.check("p", "m")
