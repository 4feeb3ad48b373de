"""Model names as users type them -> routes."""

from __future__ import annotations

import pytest

from app.bootstrap import build_providers, build_routes
from app.config import parse
from app.errors import BadRequest
from app.routing.model_names import ModelResolver

CFG = parse(
    """
providers:
  - {name: a, style: mock, models: [fixed-model, "claude-*"]}
  - {name: b, style: mock, models: ["claude-*"]}
  - {name: local, style: mock}
routes:
  - {name: claude-sonnet-4-0, steps: [{provider: a, model: s40}]}
  - {name: claude-sonnet-4-5, aliases: [s45], steps: [{provider: a, model: s45}, {provider: b, model: s45b}]}
  - {name: claude-opus-4-5, steps: [{provider: b, model: o45}]}
tiers: {cheap: claude-sonnet-4-5, strong: claude-opus-4-5}
aliases: {house: claude-opus-4-5}
""",
    "t.yaml",
    {},
).config
PROVIDERS = build_providers(CFG)
RESOLVER = ModelResolver(CFG, build_routes(CFG, PROVIDERS), PROVIDERS)


@pytest.mark.parametrize(
    ("model", "route", "source", "tier"),
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5", "request", "cheap"),
        ("s45", "claude-sonnet-4-5", "alias", "cheap"),
        ("house", "claude-opus-4-5", "alias", "strong"),
        ("sonnet", "claude-sonnet-4-5", "alias", "cheap"),  # newest of the family
        ("opus", "claude-opus-4-5", "alias", "strong"),
        ("auto", "claude-sonnet-4-5", "auto", "cheap"),
        ("fixed-model", "fixed-model", "provider-model", None),
        ("claude-haiku-9", "claude-haiku-9", "provider-model", None),
    ],
)
def test_resolution(model: str, route: str, source: str, tier: str | None) -> None:
    res = RESOLVER.resolve(model)
    assert (res.route.name, res.source, res.tier) == (route, source, tier)


def test_pattern_matches_every_provider_in_order() -> None:
    res = RESOLVER.resolve("claude-new")
    assert [(s.provider.name, s.model) for s in res.route.steps] == [("a", "claude-new"), ("b", "claude-new")]


def test_local_prefix() -> None:
    res = RESOLVER.resolve("local:qwen")
    assert [(s.provider.name, s.model) for s in res.route.steps] == [("local", "qwen")]
    with pytest.raises(BadRequest, match="needs a model name"):
        RESOLVER.resolve("local:")


def test_provider_pin() -> None:
    assert [s.model for s in RESOLVER.resolve("claude-sonnet-4-5", provider="b").route.steps] == ["s45b"]
    assert [(s.provider.name, s.model) for s in RESOLVER.resolve("brand-new", provider="a").route.steps] == [
        ("a", "brand-new")
    ]
    with pytest.raises(BadRequest, match="unknown provider 'zz'"):
        RESOLVER.resolve("x", provider="zz")


def test_unknown_model_suggests_closest() -> None:
    with pytest.raises(BadRequest) as info:
        RESOLVER.resolve("claud-sonnet-4-5")  # no pattern matches this one
    assert "Did you mean: claude-sonnet-4-5" in info.value.message


def test_fuzzy_only_when_opted_in() -> None:
    fuzzy_cfg = parse(
        "providers: [{name: a, style: mock}]\nroutes: [{name: gpt-4o-mini, steps: [{provider: a, model: m}]}]\nrouting: {fuzzy_models: true}",
        "t.yaml",
        {},
    ).config
    providers = build_providers(fuzzy_cfg)
    resolver = ModelResolver(fuzzy_cfg, build_routes(fuzzy_cfg, providers), providers)
    res = resolver.resolve("gpt4o-mini")
    assert (res.route.name, res.source) == ("gpt-4o-mini", "fuzzy")
