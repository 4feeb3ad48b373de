"""Prometheus metrics (SPEC §7), correct with several worker processes.

``frugal serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before any worker
starts; prometheus-client then keeps every worker's values in memory-mapped files there and each
scrape, whichever worker answers it, sums the whole process group (no ``pid`` label). Without that
variable (tests, embedding) the metrics live in this process only, in a registry of their own.

Labels are bounded: a provider or model the configuration does not name is counted as ``other``
(``local:<anything>`` included), so a client inventing model names cannot grow the series.

=============================================  ==============================================
``gateway_requests_total{provider,model,status}``  every proxied request; status = HTTP status
``gateway_tokens_total{provider,model,direction}`` direction input|output|cache_read|cache_write
``gateway_cache_hits_total``                       response-cache hits
``gateway_cost_usd_total{provider,model}``         USD billed (priced requests)
``gateway_latency_seconds``                        whole request, histogram
``gateway_ttft_seconds``                           first byte of a streamed answer, histogram
``gateway_tokens_saved_total{optimizer}``          input tokens not sent (cache: whole calls)
``gateway_circuit_state{provider}``                0 closed, 1 half-open, 2 open (worst worker)
``gateway_cascade_total{outcome}``                 accepted | escalated
=============================================  ==============================================

Beyond the SPEC: ``gateway_saved_usd_total{optimizer}``, ``gateway_unpriced_requests_total
{provider,model}``, ``gateway_routing_total{tier,scenario}``, ``gateway_degraded_total
{component}`` (a store or cache that failed and was bypassed), ``gateway_usage_dropped_total``,
``gateway_memory_trims_total`` and ``gateway_memory_trimmed_bytes_total`` (``app.memory``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from app.pipeline import Finished

# sub-millisecond (cache hits, local rejections) to minutes (long reasoning answers)
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
)  # fmt: skip
OTHER = "other"
NONE = "none"
CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The gateway's metrics and the after-hook that fills them from each request's record."""

    def __init__(self, providers: Iterable[str], models: Iterable[str]) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess = multiprocess_dir() is not None
        # one registry per gateway: several gateways in one process (tests) must not collide;
        # in multiprocess mode the values live in files and the registry is built per scrape
        self.registry = None if self.multiprocess else CollectorRegistry()
        reg = self.registry
        self._providers = frozenset([*providers, "cache"])  # "cache": answered by the response cache
        self._models = frozenset(m for m in models if not m.startswith("local:"))
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.requests = Counter(
            "gateway_requests_total", "Proxied requests", ("provider", "model", "status"), registry=reg
        )
        self.tokens = Counter(
            "gateway_tokens_total", "Tokens billed", ("provider", "model", "direction"), registry=reg
        )
        self.cache_hits = Counter("gateway_cache_hits_total", "Response-cache hits", registry=reg)
        self.cost = Counter("gateway_cost_usd_total", "USD billed", ("provider", "model"), registry=reg)
        self.latency = Histogram(
            "gateway_latency_seconds", "Whole request", buckets=LATENCY_BUCKETS, registry=reg
        )
        self.ttft = Histogram(
            "gateway_ttft_seconds", "First byte of a streamed answer", buckets=LATENCY_BUCKETS, registry=reg
        )
        self.saved = Counter(
            "gateway_tokens_saved_total", "Input tokens not sent, per optimizer", ("optimizer",), registry=reg
        )
        self.saved_usd = Counter(
            "gateway_saved_usd_total", "USD not spent, per optimizer", ("optimizer",), registry=reg
        )
        self.circuit = Gauge(
            "gateway_circuit_state",
            "Circuit breaker state per provider: 0 closed, 1 half-open, 2 open",
            ("provider",),
            registry=reg,
            multiprocess_mode="livemax",
        )
        self.cascade = Counter("gateway_cascade_total", "Cascade outcomes", ("outcome",), registry=reg)
        self.unpriced = Counter(
            "gateway_unpriced_requests_total",
            "Requests billed by a model without a price (cost unknown)",
            ("provider", "model"),
            registry=reg,
        )
        self.routing = Counter("gateway_routing_total", "Tier decisions", ("tier", "scenario"), registry=reg)
        self.degraded = Counter(
            "gateway_degraded_total",
            "A dependency failed and was bypassed (cache, usage store, rate-limit store)",
            ("component",),
            registry=reg,
        )
        self.retries = Counter(
            "gateway_retries_total",
            "Provider calls retried after a retryable failure",
            ("provider",),
            registry=reg,
        )
        self.loop_guard = Counter(
            "gateway_loop_guard_total", "Requests refused by the loop guard", registry=reg
        )
        self.usage_dropped = Counter(
            "gateway_usage_dropped_total",
            "Usage rows dropped because the write buffer was full",
            registry=reg,
        )
        self.memory_trims = Counter(
            "gateway_memory_trims_total",
            "Times freed heap was handed back to the OS after a burst (malloc_trim)",
            registry=reg,
        )
        self.memory_trimmed = Counter(
            "gateway_memory_trimmed_bytes_total",
            "Resident memory released by those trims",
            registry=reg,
        )
        for p in sorted(self._providers - {"cache"}):
            self.circuit.labels(p).set(0)

    def init_series(self, optimizers: Iterable[str], tiers: Iterable[str]) -> None:
        """Create the series a dashboard reads at 0, so a panel shows 0 rather than 'no data'
        before the first saving, escalation or outage (Prometheus' own advice)."""
        for name in optimizers:
            self.saved.labels(name)
            self.saved_usd.labels(name)
        for outcome in ("accepted", "escalated"):
            self.cascade.labels(outcome)
        for component in ("cache", "usage_store", "rate_limit", "loop_guard", "circuit"):
            self.degraded.labels(component)
        for tier in tiers:
            self.routing.labels(tier, NONE)

    # ------------------------------------------------------------------ labels

    def provider_label(self, name: str | None) -> str:
        if not name or name == NONE:
            return NONE
        return name if name in self._providers else OTHER

    def model_label(self, name: str | None) -> str:
        if not name or name == NONE:
            return NONE
        return name if name in self._models else OTHER

    # ------------------------------------------------------------------ the after-hook

    def after(self, done: Finished) -> None:
        r = done.record
        provider = self.provider_label(r.provider)
        model = self.model_label(r.model)
        self._child(self.requests, provider, model, str(r.status)).inc()
        self.latency.observe(r.latency_s)
        if r.stream and r.ttft_s is not None:
            self.ttft.observe(r.ttft_s)
        if r.cache == "HIT":
            self.cache_hits.inc()
        else:
            for direction, n in (
                ("input", r.input_tokens),
                ("output", r.output_tokens),
                ("cache_read", r.cache_read_tokens),
                ("cache_write", r.cache_write_tokens),
            ):
                if n > 0:
                    self._child(self.tokens, provider, model, direction).inc(n)
        if r.cost_usd is None:
            self._child(self.unpriced, provider, model).inc()
        elif r.cost_usd > 0:
            self._child(self.cost, provider, model).inc(r.cost_usd)
        for optimizer, s in r.savings.items():
            if s.tokens > 0:
                self._child(self.saved, optimizer).inc(s.tokens)
            if s.usd is not None and s.usd > 0:
                self.saved_usd.labels(optimizer).inc(s.usd)
        if r.cascade is not None:
            self.cascade.labels(r.cascade).inc()
        if r.tier is not None:
            self._child(self.routing, r.tier, r.scenario or NONE).inc()
        if r.decisions.get("loop_guard") == "tripped":
            self.loop_guard.inc()

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered: prometheus-client takes a lock and rebuilds the
        key on every call (~1 µs each, several per request). The labels are bounded (providers,
        models and optimizers the configuration knows, else ``other``), so the dict is too."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    # ------------------------------------------------------------------ other producers

    def set_circuit(self, provider: str, state: str) -> None:
        self.circuit.labels(self.provider_label(provider)).set(CIRCUIT_STATES[state])

    def retried(self, provider: str, err: object, wait: float) -> None:
        self.retries.labels(self.provider_label(provider)).inc()

    def degrade(self, component: str) -> None:
        self.degraded.labels(component).inc()

    def trimmed(self, released_bytes: int) -> None:
        self.memory_trims.inc()
        self.memory_trimmed.inc(released_bytes)

    # ------------------------------------------------------------------ exposition

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of the whole process group, and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if self.registry is not None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def worker_exit(self) -> None:
        """This worker stops: its live gauges must stop counting in the group's view."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
