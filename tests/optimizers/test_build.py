from __future__ import annotations

import pytest

from app.bootstrap import build
from app.config import LoadedConfig
from app.config.schema import (
    AuthConfig,
    CacheConfig,
    ConfigError,
    GatewayConfig,
    OptimizersConfig,
    ProjectConfig,
    ProviderConfig,
    RouteConfig,
    RoutingConfig,
    SkillsConfig,
    StepConfig,
    TiersConfig,
)
from app.config.validate import validate


def _names(cfg: GatewayConfig) -> list[str]:
    return [s.name for s in build(LoadedConfig(cfg, "test")).gateway.stages]


def _config(**kw: object) -> GatewayConfig:
    base: dict[str, object] = {
        "providers": [ProviderConfig(name="mock", style="mock")],
        "routes": [RouteConfig(name=n, steps=[StepConfig(provider="mock", model=n)]) for n in ("a", "b")],
        "tiers": TiersConfig(cheap="a", strong="b"),
    }
    base.update(kw)
    return GatewayConfig(**base)  # type: ignore[arg-type]


def test_stages_come_in_spec_order_and_a_switched_off_stage_is_absent() -> None:
    everything = _config(
        auth=AuthConfig(projects=[ProjectConfig(name="t", api_key="k", monthly_budget_usd=10.0)]),
        optimizers=OptimizersConfig(stale_tool_output=True, diff_first=True, tool_result_max_chars=1000),
        routing=RoutingConfig(cascade=True),
    )
    assert _names(everything) == [
        "skills",
        "cache",
        "budget",
        "prompt_cache",
        "dedup",
        "boilerplate",
        "stale_tool_output",
        "limits",
        "diff_first",
        "tier",
        "cascade",
    ]
    off = _config(
        optimizers=OptimizersConfig(dedup=False, boilerplate=False),
        cache=CacheConfig(backend="off"),
        skills=SkillsConfig(enabled=False),
    )
    assert _names(off) == ["prompt_cache", "tier"]


def test_a_bad_boilerplate_pattern_fails_at_start_naming_the_key() -> None:
    cfg = GatewayConfig(optimizers=OptimizersConfig(boilerplate_patterns=["<(a>"]))
    with pytest.raises(ConfigError, match=r"optimizers.boilerplate_patterns\[0\]"):
        validate(cfg, "gw.yaml")


async def test_start_moves_what_was_built_out_of_the_collectors_generations() -> None:
    import gc

    gc.unfreeze()
    threshold = gc.get_threshold()
    runtime = build(LoadedConfig(_config(), "test"))
    try:
        await runtime.start()
        assert gc.get_freeze_count() > 0  # full collections walk only what requests allocate
        assert gc.get_threshold()[0] >= 10_000  # a big request's objects die before collection
    finally:
        await runtime.aclose()
        gc.unfreeze()
        gc.set_threshold(*threshold)
