"""Builds the running gateway from a loaded configuration: providers, routes, stages, hooks.

Everything heavy is created here, once: one pooled client per provider, the route table, the
stage list in SPEC order (a stage switched off in config is simply not in the list).
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.auth import Authenticator
from app.config import GatewayConfig, LoadedConfig
from app.config.schema import ConfigError
from app.errors import GatewayError
from app.gateway import Gateway
from app.memory import MemoryTrimmer, find_malloc_trim
from app.observability.logging import AccessLog
from app.observability.metrics import Metrics
from app.observability.pricing import PriceTable
from app.observability.record import RecordBuilder
from app.observability.recorder import Recorder
from app.observability.tokens import TokenCounter
from app.observability.tracing import tracing_enabled
from app.observability.usage.database import Connection
from app.observability.usage.migrations import migrate
from app.observability.usage.queries import project_spend
from app.observability.usage.writer import UsageWriter
from app.optimizers import build_token_savers
from app.optimizers.cache import ResponseCacheLookup, ResponseCacheStore
from app.optimizers.cache_store import CacheStore, MemoryStore, RedisStore
from app.optimizers.context_fit import DEFAULT_WINDOWS, ContextFit, FitSettings
from app.optimizers.diff_first import DiffFirst
from app.optimizers.limits import Limits, SizeLimits
from app.optimizers.skills import Skill, SkillStage, skill_table
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
from app.routing.budgets import BudgetGuard, Budgets
from app.routing.cascade import Cascade
from app.routing.model_names import ModelResolver
from app.routing.router import Thresholds, load_router
from app.routing.routes import Route, Step
from app.routing.scenarios import ScenarioRules
from app.routing.tier_stage import ScenarioTarget, TierSelection
from app.styles.history_parse import HISTORY

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
    cache: CacheStore | None = None
    cache_writer: ResponseCacheStore | None = None
    usage: UsageWriter | None = None
    budgets: Budgets | None = None
    trimmer: MemoryTrimmer | None = None

    async def start(self) -> None:
        """Background work that needs the event loop (called once the server runs)."""
        # Everything built so far (modules, routes, pools, the router) lives as long as the
        # process: out of the collector's generations, so a full collection walks only what
        # requests allocated. And a young generation of 50,000 objects instead of 700: a 50k-token
        # agent request decodes to ~10,000 objects that die with it (reference counting frees
        # them), but at 700 they were collected ~15 times while alive, promoted, and set off a
        # full collection every few requests: ~1.7 ms of collector per request (~20% of CPU).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 10, 10)
        if self.circuit_sync is not None:
            self.circuit_sync.start()
        if self.usage is not None:
            self.usage.start()
        if self.budgets is not None:
            self.budgets.start()
        if self.gateway.recorder is not None:
            self.gateway.recorder.start()
        if self.trimmer is not None:
            self.trimmer.start()

    async def aclose(self) -> None:
        if self.trimmer is not None:
            await self.trimmer.aclose()
        await self.gateway.drain()
        if self.cache_writer is not None:
            await self.cache_writer.drain()
        if self.budgets is not None:
            await self.budgets.aclose()
        if self.usage is not None:
            await asyncio.to_thread(self.usage.close)
        if self.gateway.recorder is not None:
            await asyncio.to_thread(self.gateway.recorder.close)
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


def usage_url(cfg: GatewayConfig) -> str:
    return cfg.usage.database_url or cfg.usage.sqlite_path


def build_usage(cfg: GatewayConfig, metrics: Metrics) -> UsageWriter | None:
    u = cfg.usage
    if not u.enabled:
        return None
    return UsageWriter(
        usage_url(cfg),
        queue_size=u.queue_size,
        batch_size=u.batch_size,
        flush_interval=float(u.flush_interval),
        on_outage=metrics.degrade,
        on_drop=metrics.usage_dropped.inc,
    )


def build_cache_store(cfg: GatewayConfig, redis: RedisLink | None) -> CacheStore | None:
    c = cfg.cache
    if c.backend == "off":
        return None
    if c.backend == "redis" and redis is not None:
        return RedisStore(redis)
    return MemoryStore(c.memory_max_bytes)


@dataclass(slots=True)
class StageDeps:
    """What the stages are built from (created once in ``build``)."""

    resolver: ModelResolver
    dispatcher: Dispatcher
    prices: PriceTable
    cache: CacheStore | None = None
    budgets: Budgets | None = None


def build_stages(cfg: GatewayConfig, deps: StageDeps) -> list[Stage]:
    """The stage list in SPEC §2 order; a stage switched off in config is simply not in it.

    skill -> 1 response cache lookup -> budget guard -> 2 prompt-cache annotation -> 3 file dedup
    -> 4 boilerplate strip -> extras (stale tool output, size limits, diff-first) ->
    5 tier selection -> 6 cascade
    """
    resolver = deps.resolver
    stages: list[Stage] = []
    if cfg.skills.enabled:
        custom = [Skill(s.id.strip().lower(), s.prompt, s.tier) for s in cfg.skills.custom]
        tiers = {t: r for t in ("local", "cheap", "strong") if (r := getattr(cfg.tiers, t))}
        stages.append(SkillStage(skill_table(custom), resolver, tiers))
    if deps.cache is not None:
        stages.append(ResponseCacheLookup(deps.cache))
    if deps.budgets is not None:
        stages.append(BudgetGuard(deps.budgets, resolver, cfg.budgets.on_exhausted))
    tier_styles = frozenset(
        step.provider.style
        for t in ("local", "cheap", "strong")
        if (route := resolver.tier_route(t)) is not None
        for step in route.steps
    )
    tier_stage = build_tier_selection(cfg, resolver, deps.budgets)
    scenario_styles = frozenset(
        step.provider.style for target in tier_stage.scenarios.values() for step in target.route.steps
    )
    stages.extend(build_token_savers(cfg.optimizers, tier_styles, scenario_styles))
    opt = cfg.optimizers
    limits = Limits(
        opt.system_max_chars, opt.user_msg_max_chars, opt.tool_result_max_chars, opt.default_max_tokens
    )
    if limits.any:
        stages.append(SizeLimits(limits))
    if opt.diff_first:
        stages.append(DiffFirst())
    stages.append(tier_stage)
    if opt.context_fit:
        windows = tuple(opt.context_windows.items()) + DEFAULT_WINDOWS
        fit = FitSettings(opt.context_fill_share, opt.context_keep_share, windows)
        summariser = resolver.tier_route("cheap") or resolver.tier_route("local")
        stages.append(ContextFit(deps.dispatcher, summariser, fit))
    if cfg.routing.cascade or any(r.cascade for r in cfg.routes):
        overrides = {r.name: r.cascade for r in cfg.routes if r.cascade is not None}
        default = cfg.routing.cascade
        checks = frozenset(cfg.routing.cascade_checks) if cfg.routing.cascade_checks is not None else None
        stages.append(
            Cascade(
                resolver,
                deps.dispatcher,
                deps.prices,
                enabled_for=lambda route: overrides.get(route, default),
                checks=checks,
            )
        )
    return stages


def stage_names(cfg: GatewayConfig) -> list[str]:
    """The names of the stages ``build`` puts in the pipeline, in order, for the start-up
    summary: the same ``build_stages`` on the real resolver, with nothing that does I/O (no
    Redis, no database, no metrics files)."""
    providers = build_providers(cfg)
    resolver = ModelResolver(cfg, build_routes(cfg, providers), providers)
    deps = StageDeps(resolver, Dispatcher(), PriceTable.load(cfg.pricing), build_cache_store(cfg, None))
    deps.budgets = build_budgets(cfg)
    return [s.name for s in build_stages(cfg, deps)]


def build_tier_selection(
    cfg: GatewayConfig, resolver: ModelResolver, budgets: Budgets | None
) -> TierSelection:
    r = cfg.routing
    router = load_router(r.router, r.router_artifact)
    scenarios: dict[str, ScenarioTarget] = {}
    for name, target in r.scenarios.items():
        if target in ("local", "cheap", "strong"):
            route = resolver.tier_route(target)
            if route is None:
                raise ConfigError(f"routing.scenarios.{name}: the {target} tier is not configured (tiers:)")
            scenarios[name] = ScenarioTarget(target, route, target)
        else:
            try:
                scenarios[name] = ScenarioTarget(target, resolver.resolve(target).route, None)
            except GatewayError as exc:
                raise ConfigError(f"routing.scenarios.{name}: {exc.message}") from None
    return TierSelection(
        resolver,
        router,
        Thresholds(r.thresholds.cheap, r.thresholds.strong),
        scenarios=scenarios,
        rules=ScenarioRules(r.long_context_tokens),
        budget_pressure=budgets.pressure if budgets is not None else None,
    )


def build_budgets(cfg: GatewayConfig) -> Budgets | None:
    limits = {p.name: p.monthly_budget_usd for p in cfg.auth.projects if p.monthly_budget_usd is not None}
    if not limits or not cfg.usage.enabled:
        return None
    url = usage_url(cfg)

    def read(project: str, since: float) -> float:
        conn = Connection(url)
        try:
            migrate(conn)
            return project_spend(conn, project, since)
        finally:
            conn.close()

    b = cfg.budgets
    return Budgets(limits, read, soft_share=b.soft_share, refresh=float(b.refresh))


def build_trimmer(cfg: GatewayConfig, metrics: Metrics) -> MemoryTrimmer | None:
    trim = find_malloc_trim() if cfg.memory.trim else None
    if trim is None:
        return None
    return MemoryTrimmer(trim, float(cfg.memory.trim_interval), on_trim=metrics.trimmed)


def known_models(cfg: GatewayConfig, routes: dict[str, Route], prices: PriceTable) -> set[str]:
    """Model names the configuration knows: metric labels for anything else are ``other``."""
    names = set(routes) | set(prices.names()) | set(cfg.pricing)
    names.update(step.model for route in routes.values() for step in route.steps)
    names.update(m for p in cfg.providers for m in p.models if not any(c in m for c in "*?["))
    return names


def build(loaded: LoadedConfig) -> Runtime:
    cfg = loaded.config
    HISTORY.max_bytes = cfg.memory.history_max_bytes  # one parser per process, as the codecs' memo
    providers = build_providers(cfg)
    routes = build_routes(cfg, providers)
    prices = PriceTable.load(cfg.pricing)
    metrics = Metrics(providers, known_models(cfg, routes, prices))
    rel = cfg.reliability
    redis_url = rel.redis_url or cfg.cache.url
    redis = RedisLink(redis_url, on_outage=metrics.degrade) if redis_url else None
    resolver = ModelResolver(cfg, routes, providers)
    cache = build_cache_store(cfg, redis)
    breakers = build_breakers(cfg, metrics)
    dispatcher = build_dispatcher(cfg, metrics, breakers)
    budgets = build_budgets(cfg)
    stages = build_stages(cfg, StageDeps(resolver, dispatcher, prices, cache, budgets))
    tiers = [t for t in ("local", "cheap", "strong") if getattr(cfg.tiers, t)]
    metrics.init_series(["cache", *(s.name for s in stages)], tiers)
    hooks: list[AfterHook] = [metrics]
    usage = build_usage(cfg, metrics)
    if usage is not None:
        hooks.append(usage)
    if budgets is not None:
        hooks.append(budgets)
    cache_writer = None
    if cache is not None:
        cache_writer = ResponseCacheStore(cache, float(cfg.cache.ttl), cfg.cache.max_entry_bytes)
        hooks.append(cache_writer)
    if cfg.logging.access_log:
        hooks.append(AccessLog())
    tracing = None
    if tracing_enabled():
        from app.observability.tracing import Tracing

        tracing = Tracing()
        hooks.append(tracing)
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
    recorder = Recorder(cfg.record.dir, queue_size=cfg.record.queue_size) if cfg.record.enabled else None
    trimmer = build_trimmer(cfg, metrics)
    if trimmer is not None:
        hooks.append(trimmer)
    gateway = Gateway(
        auth=Authenticator(cfg.auth, rel.rate_limit_rpm, rel.rate_limit_tpm),
        resolver=resolver,
        dispatcher=dispatcher,
        limits=cfg.limits,
        stages=stages,
        after_hooks=hooks,
        smart_routing_default=cfg.routing.smart_routing,
        rate_limiter=RateLimiter(redis),
        records=RecordBuilder(prices, TokenCounter(mode=cfg.usage.token_counts)),
        loop_guard=loop_guard,
        recorder=recorder,
    )
    return Runtime(
        cfg,
        loaded.source,
        gateway,
        providers,
        routes,
        metrics,
        prices,
        tracing,
        redis,
        breakers,
        sync,
        cache,
        cache_writer,
        usage,
        budgets,
        trimmer,
    )
