"""Checks the schema alone cannot make: cross-references between providers, routes, tiers and
aliases, and value ranges. Each failure names the key path."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

from app.config.schema import ConfigError, GatewayConfig, ProviderConfig


def validate(cfg: GatewayConfig, name: str) -> list[str]:
    """Cross-references and values the schema alone cannot check. Returns warnings."""
    warnings: list[str] = []

    def err(path: str, what: str) -> ConfigError:
        return ConfigError(f"{name}: {path}: {what}")

    providers: dict[str, ProviderConfig] = {}
    for i, p in enumerate(cfg.providers):
        if p.name in providers:
            raise err(f"providers[{i}].name", f"duplicate provider name '{p.name}'")
        providers[p.name] = p
        if p.style != "mock":
            if not p.base_url:
                warnings.append(f"provider '{p.name}' has no base_url (its variable is unset?): disabled")
            elif not p.base_url.startswith(("http://", "https://")):
                raise err(
                    f"providers[{i}].base_url", f"expected an http:// or https:// URL, got {p.base_url!r}"
                )
        if p.max_connections < 1:
            raise err(f"providers[{i}].max_connections", "must be at least 1")

    routes: set[str] = set()
    for i, r in enumerate(cfg.routes):
        if r.name in routes:
            raise err(f"routes[{i}].name", f"duplicate route name '{r.name}'")
        routes.add(r.name)
        if not r.steps:
            raise err(f"routes[{i}].steps", "a route needs at least one step")
        for j, s in enumerate(r.steps):
            if s.provider not in providers:
                listed = ", ".join(sorted(providers)) or "none configured"
                raise err(
                    f"routes[{i}].steps[{j}].provider", f"unknown provider '{s.provider}' (known: {listed})"
                )
    names = set(routes)
    for r in cfg.routes:
        names.update(r.aliases)
    patterns = [m for p in cfg.providers for m in p.models if any(c in m for c in "*?[")]
    names.update(m for p in cfg.providers for m in p.models)

    def known(target: str) -> bool:
        return target in names or any(fnmatch.fnmatchcase(target, pat) for pat in patterns)

    for alias, target in cfg.aliases.items():
        if not known(target):
            raise err(f"aliases.{alias}", f"target '{target}' is not a route or provider model")
    for tier in ("local", "cheap", "strong"):
        target = getattr(cfg.tiers, tier)
        if target and not known(target) and target not in cfg.aliases:
            raise err(f"tiers.{tier}", f"'{target}' is not a route, alias or provider model")
    for i, proj in enumerate(cfg.auth.projects):
        if not proj.api_key:
            warnings.append(f"project '{proj.name}' has an empty api_key: it cannot authenticate")
        if proj.rpm is not None and proj.rpm < 0:
            raise err(f"auth.projects[{i}].rpm", "must be 0 (unlimited) or more")
    if cfg.limits.max_body_bytes < 1024:
        raise err("limits.max_body_bytes", "must be at least 1024")
    if cfg.limits.max_messages < 1:
        raise err("limits.max_messages", "must be at least 1")
    if cfg.memory.trim_interval < 0.1:
        raise err("memory.trim_interval", "must be at least 100ms")
    if cfg.memory.history_max_bytes < 0:
        raise err("memory.history_max_bytes", "must be 0 (off) or more")
    if cfg.reliability.retries.attempts < 1:
        raise err("reliability.retries.attempts", "must be 1 or more (1 = no retry)")
    if cfg.reliability.loop_guard.max_repeats < 1:
        raise err("reliability.loop_guard.max_repeats", "must be 1 or more")
    cb = cfg.reliability.circuit_breaker
    if cb.failures < 1:
        raise err("reliability.circuit_breaker.failures", "must be 1 or more")
    if cb.probes < 1:
        raise err("reliability.circuit_breaker.probes", "must be 1 or more")
    th = cfg.routing.thresholds
    if not 0.0 <= th.cheap <= th.strong <= 1.0:
        got = f"got cheap {th.cheap}, strong {th.strong}"
        raise err("routing.thresholds", f"need 0 <= cheap <= strong <= 1 ({got})")
    if cfg.cache.backend == "redis" and not cfg.cache.url:
        warnings.append("cache.backend is redis but cache.url is empty: the cache stays in memory")
    _validate_optimizers(cfg, err)
    return warnings


def _validate_optimizers(cfg: GatewayConfig, err: Callable[[str, str], ConfigError]) -> None:
    """The token-saving stages' settings (app/optimizers/)."""
    opt = cfg.optimizers
    for i, pattern in enumerate(opt.boilerplate_patterns or []):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise err(f"optimizers.boilerplate_patterns[{i}]", f"not a regular expression: {exc}") from None
    for key in ("dedup_min_lines", "stale_every_turns"):
        if getattr(opt, key) < 1:
            raise err(f"optimizers.{key}", "must be at least 1")
    for key in ("stale_keep_recent_turns", "stale_long_chars", "stale_long_after_turns"):
        if getattr(opt, key) < 0:
            raise err(f"optimizers.{key}", "must be 0 or more")
