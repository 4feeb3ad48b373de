"""Circuit breakers: stop calling a provider (or one of its models) that keeps failing.

    closed --(``failures`` failures within ``window``)--> open
    open --(``cooldown`` elapsed)--> half_open: up to ``probes`` calls go through
    half_open --(a probe succeeds)--> closed;  --(a probe fails)--> open again

Two breakers guard each route step: one per provider+model and one per provider. Every failure
counts for the model; only failures that say the *host* is down (connection errors) count for
the provider, so one broken or slow model never takes its healthy siblings down. A step whose
breaker is open is skipped at once (``CircuitOpen``), and when every step of a route is open
the client gets a 503 with ``Retry-After`` = the shortest remaining cooldown.

State lives in this process; with several workers or replicas and Redis configured, a breaker
that opens publishes it (``frugal:cb:<key>`` with the cooldown as TTL) and each process picks
other processes' open breakers up within a second (``CircuitSync``), so a dead provider stops
receiving traffic from every worker, not just the one that saw it fail. A client clock never
decides anything: time comes from an injected monotonic clock (tests use a fake one).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from app.errors import CircuitOpen, UpstreamConnect, UpstreamError

State = Literal["closed", "half_open", "open"]
_SEVERITY: dict[State, int] = {"closed": 0, "half_open": 1, "open": 2}


class StateListener(Protocol):
    def __call__(self, provider: str, state: State) -> None: ...


@dataclass(slots=True)
class Breaker:
    key: str
    failures: int
    window: float
    cooldown: float
    probes: int
    clock: Callable[[], float]
    state: State = "closed"
    opened_at: float = 0.0
    in_flight: int = 0  # probes running while half-open
    recent: deque[float] = field(default_factory=deque)
    remote_until: float = 0.0  # another process reported it open until then (our clock)

    def current(self) -> State:
        now = self.clock()
        if self.state == "open" and now - self.opened_at >= self.cooldown:
            self.state, self.in_flight = "half_open", 0
        if self.state == "closed" and now < self.remote_until:
            return "open"
        return self.state

    def retry_after(self) -> float:
        now = self.clock()
        local = self.opened_at + self.cooldown - now if self.state == "open" else 0.0
        return max(0.0, local, self.remote_until - now)

    def allow(self) -> bool:
        """Whether a call may go through now (a half-open breaker lets ``probes`` through)."""
        state = self.current()
        if state == "closed":
            return True
        if state == "half_open" and self.in_flight < self.probes:
            self.in_flight += 1
            return True
        return False

    def success(self) -> bool:
        """Record a success; True when it closed the breaker."""
        was = self.state
        self.state, self.in_flight, self.remote_until = "closed", 0, 0.0
        self.recent.clear()
        return was != "closed"

    def failure(self) -> bool:
        """Record a failure; True when it opened the breaker."""
        now = self.clock()
        if self.current() == "half_open":
            self._open(now)
            return True
        self.recent.append(now)
        while self.recent and now - self.recent[0] > self.window:
            self.recent.popleft()
        if self.state == "closed" and len(self.recent) >= self.failures:
            self._open(now)
            return True
        return False

    def _open(self, now: float) -> None:
        self.state, self.opened_at, self.in_flight = "open", now, 0
        self.recent.clear()


def counts_for_provider(err: UpstreamError) -> bool:
    """Failures that say the provider's host is in trouble, not just one model: it cannot be
    reached. Statuses and timeouts open only the model's breaker (a provider-wide outage opens
    each model's after ``failures`` calls of its own)."""
    return isinstance(err, UpstreamConnect)


def counts_at_all(err: UpstreamError) -> bool:
    """A client fault (400/401/403/404/413/422) says nothing about the provider's health."""
    return not err.client_fault and not isinstance(err, CircuitOpen)


class CircuitBreakers:
    """All breakers of this process, keyed ``provider`` and ``provider:model``."""

    def __init__(
        self,
        *,
        failures: int,
        window: float,
        cooldown: float,
        probes: int = 1,
        clock: Callable[[], float] = time.monotonic,
        listener: StateListener | None = None,
    ) -> None:
        self._settings = (failures, window, cooldown, probes)
        self._clock = clock
        self._breakers: dict[str, Breaker] = {}
        self._listener = listener
        self.on_open: Callable[[str, float], None] | None = None  # (key, seconds) -> publish

    def breaker(self, key: str) -> Breaker:
        b = self._breakers.get(key)
        if b is None:
            failures, window, cooldown, probes = self._settings
            b = self._breakers[key] = Breaker(key, failures, window, cooldown, probes, self._clock)
        return b

    def check(self, provider: str, model: str) -> None:
        """Raise ``CircuitOpen`` when the step may not be called now."""
        for key in (provider, f"{provider}:{model}"):
            b = self.breaker(key)
            if not b.allow():
                err = CircuitOpen(f"circuit open ({key})", provider=provider)
                err.wait = b.retry_after()
                raise err

    def record_success(self, provider: str, model: str) -> None:
        changed = False
        for key in (provider, f"{provider}:{model}"):
            changed |= self.breaker(key).success()
        if changed:
            self._notify(provider)

    def record_failure(self, provider: str, model: str, err: UpstreamError) -> None:
        if not counts_at_all(err):
            return
        model_key = f"{provider}:{model}"
        opened = self.breaker(model_key).failure()
        if opened and self.on_open is not None:
            self.on_open(model_key, self._settings[2])
        if counts_for_provider(err):
            if self.breaker(provider).failure() and self.on_open is not None:
                self.on_open(provider, self._settings[2])
            opened = True
        if opened:
            self._notify(provider)

    def release_probe(self, provider: str, model: str) -> None:
        """A probe ended without a verdict (cancelled): free its slot."""
        for key in (provider, f"{provider}:{model}"):
            b = self._breakers.get(key)
            if b is not None and b.in_flight:
                b.in_flight -= 1

    def mark_remote_open(self, key: str, seconds: float) -> None:
        """Another process reports ``key`` open for ``seconds`` more."""
        b = self.breaker(key)
        until = self._clock() + seconds
        if until > b.remote_until:
            b.remote_until = until
            self._notify(key.split(":", 1)[0])

    def provider_state(self, provider: str) -> State:
        """The worst state among a provider's breakers (for metrics and /health)."""
        worst: State = "closed"
        for key, b in self._breakers.items():
            if key == provider or key.startswith(provider + ":"):
                s = b.current()
                if _SEVERITY[s] > _SEVERITY[worst]:
                    worst = s
        return worst

    def states(self, providers: Iterable[str]) -> dict[str, dict[str, State]]:
        """provider -> {breaker key: state} for every breaker that is not closed (plus the
        provider itself), for /health."""
        out: dict[str, dict[str, State]] = {}
        for p in providers:
            entry: dict[str, State] = {p: self.breaker(p).current()}
            for key, b in self._breakers.items():
                if key.startswith(p + ":") and b.current() != "closed":
                    entry[key] = b.current()
            out[p] = entry
        return out

    def _notify(self, provider: str) -> None:
        if self._listener is not None:
            self._listener(provider, self.provider_state(provider))
