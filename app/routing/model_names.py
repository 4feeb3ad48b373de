"""Model names as users type them -> the route that answers.

In order: an exact route name; a config alias or a route's own alias; the seed gateway's family
aliases (``sonnet``, ``opus``, ``haiku``: the newest route of that family); ``auto`` and
``smartroute`` (tier selection); ``local:NAME`` (the local provider, model NAME); a model a
provider lists (exact name or pattern such as ``claude-*``: one step per matching provider); and,
only where ``routing.fuzzy_models`` is on, the closest known name. Anything else is a 400 that
lists the closest known names.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.config import GatewayConfig
from app.errors import BadRequest
from app.providers.base import Provider
from app.routing.routes import Route, Step

AUTO_NAMES = ("auto", "smartroute")
FAMILY_ALIASES = ("sonnet", "opus", "haiku")
TIER_NAMES = ("local", "cheap", "strong")


@dataclass(frozen=True, slots=True)
class Resolution:
    route: Route
    requested: str
    source: str  # request | alias | auto | provider-model | local | fuzzy
    tier: str | None  # the tier the route belongs to, if any


class ModelResolver:
    def __init__(
        self, cfg: GatewayConfig, routes: Mapping[str, Route], providers: Mapping[str, Provider]
    ) -> None:
        self._routes = dict(routes)
        self._providers = dict(providers)
        self._aliases: dict[str, str] = {}
        for r in routes.values():
            for a in r.aliases:
                self._aliases[a] = r.name
        self._aliases.update(cfg.aliases)
        self._fuzzy = cfg.routing.fuzzy_models
        self._tiers = {t: getattr(cfg.tiers, t) for t in TIER_NAMES if getattr(cfg.tiers, t)}
        self._exact_models: dict[str, list[str]] = {}
        self._patterns: list[tuple[str, str]] = []
        for p in cfg.providers:
            for m in p.models:
                if any(c in m for c in "*?["):
                    self._patterns.append((m, p.name))
                else:
                    self._exact_models.setdefault(m, []).append(p.name)
        self._implicit: dict[str, Route] = {}
        self._route_tier = {self._lookup_plain(target): tier for tier, target in self._tiers.items()}

    # ------------------------------------------------------------------ public

    def resolve(self, model: str, provider: str | None = None) -> Resolution:
        """The route for ``model``; ``provider`` (the body field) pins the call to one provider,
        which may then be asked for a model the gateway does not know."""
        if provider is None:
            return self._resolve(model)
        if provider not in self._providers:
            raise BadRequest(f"unknown provider '{provider}' (known: {', '.join(sorted(self._providers))})")
        try:
            res = self._resolve(model)
        except BadRequest:
            route = self._implicit_route(f"{provider}::{model}", [(provider, model)])
            return Resolution(route, model, "provider", None)
        return self._restrict(res, model, provider)

    def names(self) -> list[str]:
        """Every name a client may send, for model listings."""
        out = list(self._routes)
        out += [a for a in self._aliases if a not in self._routes]
        out += [m for m in self._exact_models if m not in self._routes]
        if self._tiers or self._routes or self._exact_models or self._patterns:
            out += [a for a in AUTO_NAMES if a not in out]
        return out

    def tier_route(self, tier: str) -> Route | None:
        target = self._tiers.get(tier)
        return self._lookup_plain(target) if target else None

    # ------------------------------------------------------------------ internals

    def _resolve(self, model: str) -> Resolution:
        route = self._routes.get(model)
        if route is not None:
            return Resolution(route, model, "request", self._route_tier.get(route))
        target = self._aliases.get(model)
        if target is not None:
            route = self._lookup_plain(target)
            if route is not None:
                return Resolution(route, model, "alias", self._route_tier.get(route))
        if model in FAMILY_ALIASES:
            family = sorted((n for n in self._routes if model in n), reverse=True)
            if family:
                route = self._routes[family[0]]
                return Resolution(route, model, "alias", self._route_tier.get(route))
        if model in AUTO_NAMES:
            return self._auto(model)
        if model.startswith("local:"):
            return Resolution(self._local(model), model, "local", "local")
        route = self._provider_route(model)
        if route is not None:
            return Resolution(route, model, "provider-model", self._route_tier.get(route))
        close = self.closest(model)
        if self._fuzzy and close:
            res = self._resolve(close[0])
            return Resolution(res.route, model, "fuzzy", res.tier)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        known = self.names()
        listing = "" if close or not known else f" Known models: {', '.join(known[:20])}."
        raise BadRequest(f"unknown model '{model}'.{hint}{listing}")

    def closest(self, model: str) -> list[str]:
        return difflib.get_close_matches(model, self.names(), n=3, cutoff=0.5)

    def _lookup_plain(self, name: str | None) -> Route | None:
        """A route by name, alias or provider model, without auto/fuzzy (config targets)."""
        if name is None:
            return None
        route = self._routes.get(name)
        if route is None and name in self._aliases:
            route = self._routes.get(self._aliases[name])
        if route is None:
            route = self._provider_route(name)
        return route

    def _auto(self, model: str) -> Resolution:
        # Tier selection by complexity arrives with the routing stage; until a router is
        # configured, `auto` is the cheap tier (then strong, then local).
        for tier in ("cheap", "strong", "local"):
            route = self.tier_route(tier)
            if route is not None:
                return Resolution(route, model, "auto", tier)
        if self._routes:
            first = next(iter(self._routes.values()))
            return Resolution(first, model, "auto", None)
        route = self._provider_route(model)
        if route is not None:
            return Resolution(route, model, "auto", None)
        raise BadRequest("model 'auto' needs at least one route or tier in the configuration")

    def _local(self, model: str) -> Route:
        name = model.split(":", 1)[1]
        provider = self._providers.get("local")
        if provider is None:
            raise BadRequest(
                f"model '{model}' asks for the local provider, but none is configured "
                "(set LOCAL_LLM_BASE_URL or add a provider named 'local')"
            )
        if not name:
            raise BadRequest("model 'local:' needs a model name after the colon, e.g. local:qwen2.5-coder")
        return self._implicit_route(model, [("local", name)])

    def _provider_route(self, model: str) -> Route | None:
        route = self._implicit.get(model)
        if route is not None:
            return route
        owners = list(self._exact_models.get(model, ()))
        owners += [
            p for pattern, p in self._patterns if p not in owners and fnmatch.fnmatchcase(model, pattern)
        ]
        if not owners:
            return None
        return self._implicit_route(model, [(p, model) for p in owners])

    def _implicit_route(self, name: str, steps: Iterable[tuple[str, str]]) -> Route:
        route = Route(name, tuple(Step(self._providers[p], m) for p, m in steps))
        if len(self._implicit) < 4096:  # bounded: names come from clients
            self._implicit[name] = route
        return route

    def _restrict(self, res: Resolution, model: str, provider: str) -> Resolution:
        steps = tuple(s for s in res.route.steps if s.provider.name == provider)
        if not steps:
            steps = (Step(self._providers[provider], model),)
        return Resolution(
            Route(res.route.name, steps, res.route.hedge_after), res.requested, res.source, res.tier
        )
