"""Configuration from the seed gateway's environment variables (no config file)."""

from __future__ import annotations

from app.config.env import config_from_env


def test_no_keys_means_mock_answers_everything() -> None:
    cfg = config_from_env({}).config
    assert [(p.name, p.style, p.models) for p in cfg.providers] == [("mock", "mock", ["*"])]
    assert cfg.auth.api_keys == []


def test_each_key_registers_its_provider_with_usual_models() -> None:
    env = {
        "ANTHROPIC_API_KEY": "a",
        "OPENAI_API_KEY": "o",
        "GEMINI_API_KEY": "g",
        "OPENROUTER_API_KEY": "r",
        "LOCAL_LLM_BASE_URL": "http://127.0.0.1:11434/v1",
        "LOCAL_LLM_MODEL": "qwen2.5-coder",
        "GATEWAY_API_KEY": "k1, k2",
        "RATE_LIMIT_RPM": "30",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CACHE_TTL_SECONDS": "60",
        "DATABASE_URL": "postgresql://localhost/test",
    }
    cfg = config_from_env(env).config
    by_name = {p.name: p for p in cfg.providers}
    assert set(by_name) == {"anthropic", "openai", "google", "openrouter", "local"}
    assert by_name["anthropic"].style == "anthropic-messages" and "claude-*" in by_name["anthropic"].models
    assert by_name["google"].style == "google-genai"
    assert by_name["openai"].max_tokens_field == "max_completion_tokens"
    assert by_name["local"].models == ["qwen2.5-coder"]
    routes = {r.name: r for r in cfg.routes}
    # Claude routes fall back to the same model on OpenRouter
    assert [(s.provider, s.model) for s in routes["claude-sonnet-4-5"].steps] == [
        ("anthropic", "claude-sonnet-4-5"),
        ("openrouter", "anthropic/claude-sonnet-4.5"),
    ]
    assert cfg.aliases["sonnet"] == "claude-sonnet-4-5"
    assert cfg.tiers.cheap == "claude-sonnet-4-5" and cfg.tiers.local == "qwen2.5-coder"
    assert cfg.auth.api_keys == ["k1", "k2"]
    assert cfg.reliability.rate_limit_rpm == 30
    assert cfg.cache.backend == "redis" and cfg.cache.ttl == 60.0
    assert cfg.usage.database_url == "postgresql://localhost/test"


def test_openrouter_alone_still_serves_claude_routes() -> None:
    cfg = config_from_env({"OPENROUTER_API_KEY": "r"}).config
    routes = {r.name: r for r in cfg.routes}
    assert [(s.provider, s.model) for s in routes["claude-opus-4-5"].steps] == [
        ("openrouter", "anthropic/claude-opus-4.5")
    ]
    assert cfg.tiers.strong == "claude-opus-4-5"


def test_bad_numbers_in_the_environment_are_config_errors() -> None:
    import pytest

    from app.config import ConfigError

    with pytest.raises(ConfigError, match="environment: RATE_LIMIT_RPM: expected a number, got 'lots'"):
        config_from_env({"RATE_LIMIT_RPM": "lots"})
    with pytest.raises(ConfigError, match="CACHE_TTL_SECONDS: must be 0 or more"):
        config_from_env({"CACHE_TTL_SECONDS": "-5"})
