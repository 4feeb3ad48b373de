"""Tier selection, scenarios and budgets as stages, on a resolver with three tiers."""

from __future__ import annotations

import pytest

from app.auth import Project
from app.canonical import Message, OpaqueTool, ReasoningConfig, Request, TextPart, ToolDef
from app.config import GatewayConfig
from app.config.schema import ProviderConfig, RouteConfig, StepConfig, TiersConfig
from app.errors import BudgetExceeded
from app.observability.record import RequestRecord
from app.pipeline import Finished, RequestContext
from app.providers.mock import MockProvider
from app.routing.budgets import BudgetGuard, Budgets, month_start
from app.routing.model_names import ModelResolver
from app.routing.router import Thresholds
from app.routing.routes import Route, Step
from app.routing.scenarios import ScenarioRules, detect
from app.routing.tier_stage import ScenarioTarget, TierSelection

NAMES = ("small", "mid", "big", "long")


def _resolver(tiers: dict[str, str] | None = None) -> ModelResolver:
    mock = MockProvider("mock")
    routes = {n: Route(n, (Step(mock, n, None, ()),), None, ()) for n in NAMES}
    cfg = GatewayConfig(
        providers=[ProviderConfig(name="mock", style="mock")],
        routes=[RouteConfig(name=n, steps=[StepConfig(provider="mock", model=n)]) for n in NAMES],
        tiers=TiersConfig(
            **(tiers if tiers is not None else {"local": "small", "cheap": "mid", "strong": "big"})
        ),
    )
    return ModelResolver(cfg, routes, {"mock": mock})


class FixedRouter:
    def __init__(self, score: float) -> None:
        self.value = score

    def score(self, req: Request) -> tuple[float, str]:
        return self.value, f"fixed {self.value}"

    def score_features(self, x: list[float]) -> tuple[float, str]:
        return self.value, f"fixed {self.value}"


def _req(text: str = "hi", model: str = "auto", **kw: object) -> Request:
    return Request(model=model, messages=[Message("user", [TextPart(text)])], style="openai-chat", **kw)  # type: ignore[arg-type]


def _ctx(resolver: ModelResolver, model: str = "auto", project: str = "p") -> RequestContext:
    ctx = RequestContext("r", "openai-chat", Project(project))
    ctx.resolution = resolver.resolve(model)
    return ctx


@pytest.mark.parametrize(("score", "route", "tier"), [(0.05, "small", "local"), (0.3, "mid", "cheap"),
                                                      (0.9, "big", "strong")])  # fmt: skip
async def test_auto_goes_to_the_tier_its_score_picks(score: float, route: str, tier: str) -> None:
    resolver = _resolver()
    stage = TierSelection(resolver, FixedRouter(score), Thresholds(0.15, 0.6))
    ctx = _ctx(resolver)
    req = _req()
    assert await stage.apply(req, ctx) is req
    assert ctx.resolution is not None and ctx.resolution.route.name == route and ctx.resolution.tier == tier
    assert ctx.router_score == score and ctx.tier_reason == f"fixed {score}"


async def test_an_explicit_model_is_honoured_and_a_missing_tier_keeps_auto() -> None:
    resolver = _resolver()
    stage = TierSelection(resolver, FixedRouter(0.99), Thresholds())
    ctx = _ctx(resolver, "mid")
    await stage.apply(_req(model="mid"), ctx)
    assert ctx.resolution is not None and ctx.resolution.route.name == "mid" and ctx.router_score is None
    resolver = _resolver({"cheap": "mid"})
    stage = TierSelection(resolver, FixedRouter(0.99), Thresholds())
    ctx = _ctx(resolver)
    await stage.apply(_req(), ctx)
    assert ctx.resolution is not None and ctx.resolution.route.name == "mid"
    assert "no strong tier configured" in (ctx.tier_reason or "")


async def test_budget_pressure_moves_auto_one_tier_down() -> None:
    resolver = _resolver()
    stage = TierSelection(resolver, FixedRouter(0.9), Thresholds(), budget_pressure=lambda p: p == "spender")
    ctx = _ctx(resolver, project="spender")
    await stage.apply(_req(), ctx)
    assert (
        ctx.resolution is not None and ctx.resolution.tier == "cheap" and "budget" in (ctx.tier_reason or "")
    )


def test_scenarios_are_recognised_in_every_shape() -> None:
    rules = ScenarioRules(long_context_tokens=1000)
    assert detect(_req("x" * 5000), "auto", rules) == ["long_context"]
    assert detect(_req("hi"), "claude-haiku-4-5", rules) == ["background"]
    assert detect(_req("hi"), "gemini-2.5-flash-lite", rules) == ["background"]
    title = Request(model="m", style="openai-chat", system=[TextPart("Generate a short title for this conversation.")],
                    messages=[Message("user", [TextPart("fix my tests")])])  # fmt: skip
    assert detect(title, "gpt-5", rules) == ["background"]
    assert detect(
        _req("think hard", reasoning=ReasoningConfig(mode="enabled", budget_tokens=2000)), "m", rules
    ) == ["thinking"]
    assert detect(_req("x", opaque_tools=[OpaqueTool("anthropic-messages", {"type": "web_search_20250305"})]), "m",
                  rules) == ["web_search"]  # fmt: skip
    assert detect(_req("x", tools=[ToolDef("web_search")]), "m", rules) == ["web_search"]
    assert detect(_req("rename this variable"), "claude-sonnet-4-5", rules) == []


async def test_a_configured_scenario_wins_over_the_named_model() -> None:
    resolver = _resolver()
    targets = {
        "background": ScenarioTarget("local", resolver.tier_route("local"), "local"),  # type: ignore[arg-type]
        "long_context": ScenarioTarget("long", resolver.resolve("long").route, None),
    }
    stage = TierSelection(resolver, FixedRouter(0.9), Thresholds(), scenarios=targets,
                          rules=ScenarioRules(long_context_tokens=1000))  # fmt: skip
    ctx = _ctx(resolver, "big")
    await stage.apply(_req("title please", model="claude-haiku-4-5"), ctx)
    assert (
        ctx.scenario == "background" and ctx.resolution is not None and ctx.resolution.route.name == "small"
    )
    ctx = _ctx(resolver, "mid")
    await stage.apply(_req("y" * 8000, model="mid"), ctx)
    assert (
        ctx.scenario == "long_context" and ctx.resolution is not None and ctx.resolution.route.name == "long"
    )
    ctx = _ctx(resolver)
    await stage.apply(
        _req("think", reasoning=ReasoningConfig(mode="enabled")), ctx
    )  # thinking: not configured
    assert ctx.scenario is None and ctx.resolution is not None and ctx.resolution.tier == "strong"


def _finished(project: str, cost: float) -> Finished:
    record = RequestRecord(request_id="r", ts=0.0, project=project, style="openai-chat", cost_usd=cost)
    return Finished(None, None, None, RequestContext("r", "openai-chat", Project(project)), record)


async def test_a_budget_crossing_its_thresholds() -> None:
    stored = {"team": 70.0}
    budgets = Budgets({"team": 100.0}, lambda p, since: stored[p], soft_share=0.8)
    budgets.refresh_now()
    assert not budgets.pressure("team") and budgets.share("team") == 0.7
    budgets.after(_finished("team", 15.0))  # billed by this process since the last refresh
    assert budgets.pressure("team") and not budgets.exhausted("team")
    budgets.after(_finished("team", 20.0))
    assert budgets.exhausted("team") and budgets.spent("team") == 105.0
    resolver = _resolver()
    with pytest.raises(BudgetExceeded) as err:
        await BudgetGuard(budgets, resolver, "reject").apply(_req(), _ctx(resolver, project="team"))
    assert err.value.status == 402 and "$100.00" in err.value.message
    ctx = _ctx(resolver, project="team")
    await BudgetGuard(budgets, resolver, "local").apply(_req(), ctx)
    assert (
        ctx.resolution is not None
        and ctx.resolution.route.name == "small"
        and ctx.resolution.source == "budget"
    )
    other = _ctx(resolver, project="unbudgeted")
    req = _req()
    assert await BudgetGuard(budgets, resolver, "reject").apply(req, other) is req
    stored["team"] = 10.0  # a new month: the store says so at the next refresh
    budgets.refresh_now()
    assert not budgets.pressure("team")


def test_month_start_is_utc() -> None:
    from app.observability.usage.queries import parse_instant

    assert month_start(parse_instant("2026-12-03T23:59:00Z")) == parse_instant("2026-12-01")
