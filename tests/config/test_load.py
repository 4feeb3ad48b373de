"""Config loading: schema, ${VAR} expansion, durations, cross-reference checks, error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, Duration, expand_env, find_config, load, parse

GOOD = """
auth:
  api_keys: ["${GATEWAY_API_KEY}"]
  projects:
    - {name: team-a, api_key: "${TEAM_A_KEY}", rpm: 60}
providers:
  - {name: anthropic, style: anthropic-messages, base_url: https://api.anthropic.com, api_key: "${ANTHROPIC_API_KEY}"}
  - {name: openrouter, style: openai-chat, base_url: https://openrouter.ai/api/v1, api_key: "${OPENROUTER_API_KEY}"}
  - {name: local, style: openai-chat, base_url: "${LOCAL_LLM_BASE_URL:-http://127.0.0.1:11434/v1}"}
routes:
  - name: claude-sonnet-4-0
    hedge: {after: 2s}
    steps:
      - {provider: anthropic, model: claude-sonnet-4-0, timeout: 120s}
      - {provider: openrouter, model: anthropic/claude-sonnet-4, conflict_resolution: tools}
  - name: local-qwen
    steps: [{provider: local, model: qwen2.5-coder}]
  - name: claude-opus-4-5
    steps: [{provider: anthropic, model: claude-opus-4-5}]
tiers: {local: local-qwen, cheap: claude-sonnet-4-0, strong: claude-opus-4-5}
cache: {backend: redis, url: "${REDIS_URL:-}", ttl: 1800s}
reliability:
  circuit_breaker: {failures: 5, window: 60s, cooldown: 30s}
  retries: {attempts: 2, max_backoff: 8s}
  rate_limit_rpm: 60
limits: {max_body_bytes: 10485760, max_messages: 2000}
pricing:
  claude-sonnet-4-0: {input: 3.0, output: 15.0, cache_read: 0.30, cache_write: 3.75}
"""


def test_spec_example_loads_with_env_expansion() -> None:
    env = {"GATEWAY_API_KEY": "gk", "TEAM_A_KEY": "tk", "ANTHROPIC_API_KEY": "ak"}
    loaded = parse(GOOD, "gateway.yaml", env)
    cfg = loaded.config
    assert cfg.auth.api_keys == ["gk"]
    assert cfg.auth.projects[0].api_key == "tk" and cfg.auth.projects[0].rpm == 60
    assert cfg.providers[0].api_key == "ak"
    assert cfg.providers[1].api_key == ""  # unset variable expands to empty, like a shell
    assert cfg.providers[2].base_url == "http://127.0.0.1:11434/v1"  # ${VAR:-default}
    route = cfg.routes[0]
    assert route.hedge is not None and route.hedge.after == 2.0
    assert route.steps[0].timeout == 120.0
    assert route.steps[1].conflicts() == ("tools",)
    assert cfg.reliability.circuit_breaker.cooldown == 30.0
    assert cfg.cache.url == "" and cfg.cache.ttl == 1800.0
    assert cfg.pricing["claude-sonnet-4-0"].cache_write == 3.75


def test_default_in_expansion_only_when_unset_or_empty() -> None:
    assert expand_env("${A:-x}", {"A": "set"}) == "set"
    assert expand_env("${A:-x}", {"A": ""}) == "x"
    assert expand_env("${A:-x}", {}) == "x"
    assert expand_env("pre-${A}-post", {"A": "mid"}) == "pre-mid-post"
    assert expand_env({"k": ["${A}", 3, True]}, {"A": "v"}) == {"k": ["v", 3, True]}
    # keys are never expanded: the structure cannot be changed from the environment
    assert expand_env({"${A}": 1}, {"A": "v"}) == {"${A}": 1}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("120s", 120.0), ("500ms", 0.5), ("2m", 120.0), ("1h", 3600.0), (3, 3.0), ("1.5s", 1.5), ("7", 7.0)],
)
def test_durations(text: object, seconds: float) -> None:
    assert Duration.parse(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "-1s", True, "5 days", None])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        Duration.parse(bad)


@pytest.mark.parametrize(
    ("yaml_text", "path", "reason"),
    [
        ("limits: {max_messages: lots}", "limits.max_messages", "expected int"),
        (
            "providers: [{name: a, style: telepathy, base_url: http://x}]",
            "providers[0].style",
            "expected one of",
        ),
        (
            "providers: [{name: a, style: openai-chat, base_url: http://x, colour: red}]",
            "providers[0]",
            "unknown field",
        ),
        (
            "routes: [{name: r, steps: [{provider: ghost, model: m}]}]",
            "routes[0].steps[0].provider",
            "unknown provider 'ghost'",
        ),
        (
            "routes: [{name: r, steps: [{provider: p, model: m, timeout: soon}]}]\nproviders: [{name: p, style: mock}]",
            "routes[0].steps[0].timeout",
            "duration",
        ),
        ("providers: [{name: p, style: openai-chat, base_url: ftp://x}]", "providers[0].base_url", "http"),
        ("providers: [{name: p, style: mock}, {name: p, style: mock}]", "providers[1].name", "duplicate"),
        ("tiers: {cheap: nowhere}", "tiers.cheap", "not a route"),
        ("aliases: {fast: nowhere}", "aliases.fast", "not a route"),
        ("- just\n- a list", "", "top level must be a mapping"),
        ("routes: [{name: r, steps: []}]", "routes[0].steps", "at least one step"),
        ("key: [unclosed", "", "not valid YAML"),
        ("usage: {token_counts: exact}", "usage.token_counts", "expected one of: auto, tokenizer, estimate"),
        ("memory: {trim: sometimes}", "memory.trim", "expected bool"),
        ("memory: {trim_interval: 10ms}", "memory.trim_interval", "at least 100ms"),
        ("memory: {history_max_bytes: -1}", "memory.history_max_bytes", "0 (off) or more"),
    ],
)
def test_bad_config_names_file_path_and_reason(yaml_text: str, path: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(yaml_text, "conf/gw.yaml", {})
    message = str(info.value)
    assert message.startswith("conf/gw.yaml: ")
    assert path in message
    assert reason in message


def test_provider_without_base_url_is_a_warning_not_an_error() -> None:
    loaded = parse('providers: [{name: local, style: openai-chat, base_url: "${UNSET}"}]', "g.yaml", {})
    assert any("local" in w and "disabled" in w for w in loaded.warnings)


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_config(None, {}) is None
    (tmp_path / "gateway.yaml").write_text("{}")
    assert find_config(None, {}) == Path("gateway.yaml")
    other = tmp_path / "other.yaml"
    other.write_text("{}")
    assert find_config(None, {"FRUGAL_CONFIG": str(other)}) == other
    assert find_config(str(other), {"FRUGAL_CONFIG": "/nope.yaml"}) == other
    with pytest.raises(ConfigError, match="not found"):
        find_config(str(tmp_path / "missing.yaml"), {})
    with pytest.raises(ConfigError, match="FRUGAL_CONFIG"):
        find_config(None, {"FRUGAL_CONFIG": str(tmp_path / "missing.yaml")})


def test_load_without_file_uses_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    loaded = load(None, {})
    assert loaded.source == "environment"
    assert [p.style for p in loaded.config.providers] == ["mock"]


def test_token_counts_and_memory_trim_defaults_and_choices() -> None:
    cfg = parse("{}", "g.yaml", {}).config
    assert cfg.usage.token_counts == "auto"
    assert cfg.memory.trim and cfg.memory.trim_interval == 2.0
    cfg = parse(
        "usage: {token_counts: estimate}\nmemory: {trim: false, trim_interval: 3s}", "g.yaml", {}
    ).config
    assert cfg.usage.token_counts == "estimate"
    assert not cfg.memory.trim and cfg.memory.trim_interval == 3.0


def test_history_memo_bound_defaults_and_off() -> None:
    assert parse("{}", "g.yaml", {}).config.memory.history_max_bytes == 8_000_000
    assert parse("memory: {history_max_bytes: 0}", "g.yaml", {}).config.memory.history_max_bytes == 0
