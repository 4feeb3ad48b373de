"""Builds the running gateway from a loaded configuration: providers, routes, stages, hooks.

Everything heavy is created here, once: one pooled client per provider, the route table, the
stage list in SPEC order (a stage switched off in config is simply not in the list).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.auth import Authenticator
from app.config import GatewayConfig, LoadedConfig
from app.gateway import Gateway
from app.observability.logging import AccessLog
from app.observability.metrics import Metrics
from app.observability.pricing import PriceTable
from app.observability.record import RecordBuilder
from app.observability.tokens import TokenCounter
from app.observability.tracing import tracing_enabled
from app.optimizers import build_token_savers
from app.pipeline import AfterHook, Stage
from app.providers.base import Provider
from app.providers.http_provider import HttpProvider
from app.providers.mock import MockProvider
from app.reliability.circuit_breaker import CircuitBreakers
from app.reliability.circuit_sync import CircuitSync
from app.reliability.fallback import Dispatcher
from app.reliability.loop_guard import LoopGuard, LoopGuardHook
from app.reliability.rate_limiter import RateLimiter
from app.reliability.redis_link import RedisLink
from app.reliability.retry import RetryPolicy
from app.routing.model_names import ModelResolver
from app.routing.routes import Route, Step

if TYPE_CHECKING:
    from app.observability.tracing import Tracing


@dataclass(slots=True)
class Runtime:
    config: GatewayConfig
    source: str
    gateway: Gateway
    providers: dict[str, Provider]
    routes: dict[str, Route]
    metrics: Metrics
    prices: PriceTable
    tracing: Tracing | None = None
    redis: RedisLink | None = None
    breakers: CircuitBreakers | None = None
    circuit_sync: CircuitSync | None = None

    async def start(self) -> None:
        """Background work that needs the event loop (called once the server runs)."""
        if self.circuit_sync is not None:
            self.circuit_sync.start()

    async def aclose(self) -> None:
        await self.gateway.drain()
        if self.circuit_sync is not None:
            await self.circuit_sync.aclose()
        for provider in self.providers.values():
            await provider.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        if self.tracing is not None:
            await asyncio.to_thread(self.tracing.shutdown)
        self.metrics.worker_exit()


def build_providers(cfg: GatewayConfig) -> dict[str, Provider]:
    providers: dict[str, Provider] = {}
    for p in cfg.providers:
        providers[p.name] = MockProvider(p.name) if p.style == "mock" else HttpProvider(p)
    return providers


def build_routes(cfg: GatewayConfig, providers: dict[str, Provider]) -> dict[str, Route]:
    routes: dict[str, Route] = {}
    for r in cfg.routes:
        steps = tuple(
            Step(
                providers[s.provider],
                s.model,
                float(s.timeout) if s.timeout is not None else None,
                s.conflicts(),
            )
            for s in r.steps
        )
        routes[r.name] = Route(
            r.name,
            steps,
            float(r.hedge.after) if r.hedge is not None else None,
            tuple(r.aliases),
        )
    return routes


def build_breakers(cfg: GatewayConfig, metrics: Metrics) -> CircuitBreakers | None:
    cb = cfg.reliability.circuit_breaker
    if not cb.enabled:
        return None
    return CircuitBreakers(
        failures=cb.failures,
        window=float(cb.window),
        cooldown=float(cb.cooldown),
        probes=cb.probes,
        listener=metrics.set_circuit,
    )


def build_dispatcher(cfg: GatewayConfig, metrics: Metrics, breakers: CircuitBreakers | None) -> Dispatcher:
    rel = cfg.reliability
    retry = None
    if rel.retries.enabled and rel.retries.attempts > 1:
        r = rel.retries
        retry = RetryPolicy(r.attempts, float(r.max_backoff), float(r.deadline))
    return Dispatcher(breakers, retry, on_retry=metrics.retried)


def build_stages(cfg: GatewayConfig) -> list[Stage]:
    """The stage list in SPEC §2 order; a stage switched off in config is simply not in it.

    skill -> 1 response cache lookup -> 2 prompt-cache annotation -> 3 file dedup ->
    4 boilerplate strip -> extras (stale tool output, size limits, diff-first) ->
    5 tier selection -> context fit -> 6 cascade
    """
    stages: list[Stage] = []
    stages.extend(build_token_savers(cfg.optimizers))
    return stages


def known_models(cfg: GatewayConfig, routes: dict[str, Route], prices: PriceTable) -> set[str]:
    """Model names the configuration knows: metric labels for anything else are ``other``."""
    names = set(routes) | set(prices.names()) | set(cfg.pricing)
    names.update(step.model for route in routes.values() for step in route.steps)
    names.update(m for p in cfg.providers for m in p.models if not any(c in m for c in "*?["))
    return names


def build(loaded: LoadedConfig) -> Runtime:
    cfg = loaded.config
    providers = build_providers(cfg)
    routes = build_routes(cfg, providers)
    prices = PriceTable.load(cfg.pricing)
    metrics = Metrics(providers, known_models(cfg, routes, prices))
    stages = build_stages(cfg)
    tiers = [t for t in ("local", "cheap", "strong") if getattr(cfg.tiers, t)]
    metrics.init_series(["cache", *(s.name for s in stages)], tiers)
    hooks: list[AfterHook] = [metrics]
    if cfg.logging.access_log:
        hooks.append(AccessLog())
    tracing = None
    if tracing_enabled():
        from app.observability.tracing import Tracing

        tracing = Tracing()
        hooks.append(tracing)
    rel = cfg.reliability
    redis_url = rel.redis_url or cfg.cache.url
    redis = RedisLink(redis_url, on_outage=metrics.degrade) if redis_url else None
    breakers = build_breakers(cfg, metrics)
    sync = None
    if breakers is not None and redis is not None:
        keys = {s.provider.name for r in routes.values() for s in r.steps}
        keys |= {f"{s.provider.name}:{s.model}" for r in routes.values() for s in r.steps}
        sync = CircuitSync(breakers, redis, keys)
    loop_guard = None
    if rel.loop_guard.enabled:
        lg = rel.loop_guard
        loop_guard = LoopGuard(max_repeats=lg.max_repeats, window=float(lg.window), redis=redis)
        hooks.append(LoopGuardHook(loop_guard))
    gateway = Gateway(
        auth=Authenticator(cfg.auth, rel.rate_limit_rpm, rel.rate_limit_tpm),
        resolver=ModelResolver(cfg, routes, providers),
        dispatcher=build_dispatcher(cfg, metrics, breakers),
        limits=cfg.limits,
        stages=stages,
        after_hooks=hooks,
        smart_routing_default=cfg.routing.smart_routing,
        rate_limiter=RateLimiter(redis),
        records=RecordBuilder(prices, TokenCounter()),
        loop_guard=loop_guard,
    )
    return Runtime(
        cfg, loaded.source, gateway, providers, routes, metrics, prices, tracing, redis, breakers, sync
    )
