"""Skills: the prompt goes first, unknown ids list the known ones, forced tiers win."""

from __future__ import annotations

import pytest

from app.auth import Project
from app.canonical import Message, Request, TextPart
from app.config import GatewayConfig
from app.config.schema import ProviderConfig, RouteConfig, StepConfig, TiersConfig
from app.errors import BadRequest
from app.optimizers.skills import BUILT_IN, Skill, SkillStage, skill_table
from app.pipeline import RequestContext
from app.providers.mock import MockProvider
from app.routing.model_names import ModelResolver
from app.routing.routes import Route, Step


def _stage(tiers: dict[str, str]) -> tuple[SkillStage, ModelResolver]:
    mock = MockProvider("mock")
    routes = {n: Route(n, (Step(mock, n, None, ()),), None, ()) for n in ("small", "big", "mid")}
    cfg = GatewayConfig(
        providers=[ProviderConfig(name="mock", style="mock")],
        routes=[RouteConfig(name=n, steps=[StepConfig(provider="mock", model=n)]) for n in routes],
        tiers=TiersConfig(**tiers),
    )
    resolver = ModelResolver(cfg, routes, {"mock": mock})
    custom = [Skill("house-style", "Use the house style."), Skill("quick-fix", "Mine.", tier="cheap")]
    return SkillStage(skill_table(custom), resolver, tiers), resolver


def _ctx(skill: str | None, resolver: ModelResolver) -> RequestContext:
    ctx = RequestContext("r", "openai-chat", Project("p"))
    ctx.skill = skill
    ctx.resolution = resolver.resolve("mid")
    return ctx


def _req() -> Request:
    return Request(
        model="mid",
        messages=[Message("user", [TextPart("fix it")])],
        style="openai-chat",
        system=[TextPart("client")],
    )


def test_eight_built_in_skills() -> None:
    assert {s.id for s in BUILT_IN} == {
        "brainstorming", "systematic-debugging", "code-review", "git-pushing", "concise-planning",
        "architecture-review", "quick-fix", "security-audit",
    }  # fmt: skip
    tiers = {s.id: s.tier for s in BUILT_IN if s.tier}
    assert tiers == {"quick-fix": "local", "architecture-review": "strong", "security-audit": "strong"}


async def test_the_skill_prompt_goes_before_the_system_prompt() -> None:
    stage, resolver = _stage({"strong": "big"})
    req = _req()
    out = await stage.apply(req, _ctx("Code-Review", resolver))
    assert isinstance(out, Request) and out is not req
    assert out.system[0].text.startswith("Skill: code review") and out.system[1].text == "client"
    assert req.system == [TextPart("client")]  # the given request is never mutated


async def test_no_header_leaves_the_request_alone() -> None:
    stage, resolver = _stage({})
    req = _req()
    assert await stage.apply(req, _ctx(None, resolver)) is req


async def test_an_unknown_skill_is_a_400_listing_the_known_ones() -> None:
    stage, resolver = _stage({})
    with pytest.raises(BadRequest) as err:
        await stage.apply(_req(), _ctx("debuging", resolver))
    assert "systematic-debugging" in err.value.message and "house-style" in err.value.message


async def test_a_forced_tier_wins_over_the_model_and_a_missing_tier_keeps_the_route() -> None:
    stage, resolver = _stage({"strong": "big", "cheap": "small"})
    ctx = _ctx("security-audit", resolver)
    await stage.apply(_req(), ctx)
    assert (
        ctx.resolution is not None and ctx.resolution.route.name == "big" and ctx.resolution.tier == "strong"
    )
    ctx = _ctx("quick-fix", resolver)  # replaced in config: forces cheap
    out = await stage.apply(_req(), ctx)
    assert ctx.resolution is not None and ctx.resolution.route.name == "small"
    assert isinstance(out, Request) and out.system[0].text == "Mine."
    stage, resolver = _stage({})
    ctx = _ctx("architecture-review", resolver)
    await stage.apply(_req(), ctx)
    assert ctx.resolution is not None and ctx.resolution.route.name == "mid"
    assert "not configured" in ctx.decisions["skill_tier"]
