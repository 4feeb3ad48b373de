"""The seed gateway's switch variables: applied where the config is silent, never over it."""

from __future__ import annotations

import pytest

from app.config import ConfigError, load, parse


def test_env_switch_applies_without_a_config_file() -> None:
    cfg = load(None, {"ENABLE_FILE_HASH_CACHE": "0", "ENABLE_CASCADE_ROUTING": "on"}).config
    assert cfg.optimizers.dedup is False
    assert cfg.routing.cascade is True
    assert cfg.optimizers.prompt_cache is True  # untouched default


def test_config_file_wins_over_the_environment() -> None:
    text = "optimizers: {dedup: true}\ncache: {ttl: 90s}\n"
    env = {"ENABLE_FILE_HASH_CACHE": "false", "CACHE_TTL_SECONDS": "5", "STRIP_IDE_BOILERPLATE": "0"}
    cfg = parse(text, "gw.yaml", env).config
    assert cfg.optimizers.dedup is True
    assert cfg.cache.ttl == 90
    assert cfg.optimizers.boilerplate is False  # the file is silent on it: the variable applies


def test_a_bad_switch_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="ENABLE_SKILLS: expected 1/true/on or 0/false/off"):
        parse("", "gw.yaml", {"ENABLE_SKILLS": "maybe"})
    with pytest.raises(ConfigError, match="RATE_LIMIT_RPM: expected a number"):
        load(None, {"RATE_LIMIT_RPM": "lots"})
