from __future__ import annotations

import pytest

from app.bootstrap import build_stages
from app.config.schema import ConfigError, GatewayConfig, OptimizersConfig
from app.config.validate import validate


def test_stages_come_in_spec_order_and_a_switched_off_stage_is_absent() -> None:
    cfg = GatewayConfig(optimizers=OptimizersConfig(stale_tool_output=True))
    assert [s.name for s in build_stages(cfg)] == [
        "prompt_cache",
        "dedup",
        "boilerplate",
        "stale_tool_output",
    ]
    off = GatewayConfig(optimizers=OptimizersConfig(dedup=False, boilerplate=False))
    assert [s.name for s in build_stages(off)] == ["prompt_cache"]


def test_a_bad_boilerplate_pattern_fails_at_start_naming_the_key() -> None:
    cfg = GatewayConfig(optimizers=OptimizersConfig(boilerplate_patterns=["<(a>"]))
    with pytest.raises(ConfigError, match=r"optimizers.boilerplate_patterns\[0\]"):
        validate(cfg, "gw.yaml")
