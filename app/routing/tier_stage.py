"""Stage 5, tier selection: which route answers.

1. A skill that forced a tier has decided already (``ctx.resolution.source == "skill"``).
2. A configured scenario that fires (``routing.scenarios``: long context, the client's background
   calls, thinking or plan mode, web search) sends the request to its target — a tier or a route
   — whatever model the client named: that is what users of agent routers configure it for
   (Claude Code names a haiku model for its title calls; the user wants them on a local model).
3. ``model: auto`` (or ``smart_routing``): the router scores the request and the thresholds pick
   the tier; a project past its budget's soft share is moved one tier down (``budget``).
4. Any other explicit model is honoured.

What was chosen and why goes to ``ctx`` (tier, reason, scenario, score): the ``X-Gateway-Tier``
and ``X-Model-Source`` headers, the access log, the metrics and the usage row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.canonical import Request, Response
from app.pipeline import RequestContext
from app.routing.features import of_request
from app.routing.model_names import ModelResolver, Resolution
from app.routing.router import Router, Thresholds
from app.routing.routes import Route
from app.routing.scenarios import ScenarioRules, detect

_DOWN = {"strong": "cheap", "cheap": "local", "local": "local"}


@dataclass(frozen=True, slots=True)
class ScenarioTarget:
    label: str  # as configured: a tier or a route name
    route: Route
    tier: str | None  # when the target is a tier


class TierSelection:
    name = "tier"

    def __init__(
        self,
        resolver: ModelResolver,
        router: Router,
        thresholds: Thresholds,
        *,
        scenarios: dict[str, ScenarioTarget] | None = None,
        rules: ScenarioRules | None = None,
        budget_pressure: Callable[[str], bool] | None = None,
    ) -> None:
        self.resolver = resolver
        self.router = router
        self.thresholds = thresholds
        self.scenarios = scenarios or {}
        self.rules = rules or ScenarioRules()
        self.budget_pressure = budget_pressure
        self.tiers = {t for t in ("local", "cheap", "strong") if resolver.tier_route(t) is not None}

    async def apply(self, req: Request, ctx: RequestContext) -> Request | Response:
        res = ctx.resolution
        if res is None or res.source in ("skill", "provider", "budget"):
            return req
        if self.scenarios and self._scenario(req, res, ctx):
            return req
        if res.source != "auto":
            return req
        features = of_request(req)
        score, reason = self.router.score_features(features)
        ctx.router_features = features
        tier: str = self.thresholds.tier_for(score, has_local="local" in self.tiers)
        if self.budget_pressure is not None and self.budget_pressure(ctx.project.name):
            lower = _DOWN[tier]
            if lower in self.tiers and lower != tier:
                reason += f"; budget nearly spent: {tier} -> {lower}"
                tier = lower
        ctx.router_score = score
        ctx.tier_reason = reason
        route = self.resolver.tier_route(tier) if tier in self.tiers else None
        if route is None:  # that tier is not configured: keep the default auto route
            ctx.tier_reason = f"{reason}; no {tier} tier configured"
            return req
        ctx.resolution = Resolution(route, res.requested, "auto", tier)
        return req

    def _scenario(self, req: Request, res: Resolution, ctx: RequestContext) -> bool:
        for name in detect(req, req.model, self.rules):
            target = self.scenarios.get(name)
            if target is None:
                continue
            ctx.scenario = name
            ctx.tier_reason = f"scenario {name} -> {target.label}"
            ctx.resolution = Resolution(target.route, res.requested, "scenario", target.tier)
            return True
        return False
