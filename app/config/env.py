"""Configuration from the seed gateway's environment variables, used when no config file exists.

A provider whose key is set is registered with its usual models (and a pattern, so a newer
model of the same family works without a config change); with no provider at all, the built-in
``mock`` provider answers every model.

=========================  ============================================================
variable                   effect
=========================  ============================================================
GATEWAY_API_KEY            gateway key(s), comma-separated; unset = no auth
ANTHROPIC_API_KEY          provider ``anthropic`` (anthropic-messages), claude-* models
OPENAI_API_KEY             provider ``openai`` (openai-chat), gpt-*, o* models
OPENROUTER_API_KEY         provider ``openrouter`` (openai-chat), vendor/model names, and a
                           fallback step for the Claude and GPT routes
GEMINI_API_KEY             provider ``google`` (google-genai), gemini-* models
LOCAL_LLM_BASE_URL         provider ``local`` (openai-chat); ``local:NAME`` selects it;
                           LOCAL_LLM_MODEL names its default model, LOCAL_LLM_API_KEY its key
*_API_BASE                 override a provider's base URL (ANTHROPIC_API_BASE, ...)
REDIS_URL                  response cache and rate-limit counters in Redis
DATABASE_URL               usage store in PostgreSQL instead of SQLite
CACHE_TTL_SECONDS          response cache lifetime (default 1800)
RATE_LIMIT_RPM             requests per minute per key (default unlimited)
=========================  ============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from app.canonical import Style
from app.config.schema import (
    AuthConfig,
    CacheConfig,
    ConfigError,
    Duration,
    GatewayConfig,
    LoadedConfig,
    ProviderConfig,
    ReliabilityConfig,
    RouteConfig,
    StepConfig,
    TiersConfig,
    UsageConfig,
)
from app.config.switches import apply_switches
from app.config.validate import validate

# model -> OpenRouter's name for the same model, used for the fallback step
_ANTHROPIC_MODELS = {
    "claude-opus-4-5": "anthropic/claude-opus-4.5",
    "claude-sonnet-4-5": "anthropic/claude-sonnet-4.5",
    "claude-haiku-4-5": "anthropic/claude-haiku-4.5",
    "claude-opus-4-1": "anthropic/claude-opus-4.1",
    "claude-sonnet-4-0": "anthropic/claude-sonnet-4",
}
_OPENAI_MODELS = {
    "gpt-5": "openai/gpt-5",
    "gpt-5-mini": "openai/gpt-5-mini",
    "gpt-4.1": "openai/gpt-4.1",
    "gpt-4.1-mini": "openai/gpt-4.1-mini",
    "gpt-4o": "openai/gpt-4o",
    "gpt-4o-mini": "openai/gpt-4o-mini",
    "o3": "openai/o3",
    "o4-mini": "openai/o4-mini",
}
_GEMINI_MODELS = ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-3-pro-preview"]


@dataclass(frozen=True)
class _Seed:
    """A provider the seed gateway registers when its key variable is set."""

    name: str
    key_var: str
    style: Style
    base_var: str
    base_url: str
    models: tuple[str, ...]
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] | None = None


_SEEDS = (
    _Seed("anthropic", "ANTHROPIC_API_KEY", "anthropic-messages", "ANTHROPIC_API_BASE", "https://api.anthropic.com",
          (*_ANTHROPIC_MODELS, "claude-*")),
    _Seed("openai", "OPENAI_API_KEY", "openai-chat", "OPENAI_API_BASE", "https://api.openai.com/v1",
          (*_OPENAI_MODELS, "gpt-*", "o1*", "o3*", "o4*"), "max_completion_tokens"),
    _Seed("google", "GEMINI_API_KEY", "google-genai", "GEMINI_API_BASE", "https://generativelanguage.googleapis.com",
          (*_GEMINI_MODELS, "gemini-*")),
    _Seed("openrouter", "OPENROUTER_API_KEY", "openai-chat", "OPENROUTER_API_BASE", "https://openrouter.ai/api/v1",
          ("*/*",)),
)  # fmt: skip


def config_from_env(env: Mapping[str, str]) -> LoadedConfig:
    def var(name: str) -> str:
        return env.get(name, "").strip()

    providers = _providers(env, var)
    routes = _routes(providers)
    names = {r.name for r in routes}
    aliases: dict[str, str] = {}
    if "claude-sonnet-4-5" in names:
        aliases = {"sonnet": "claude-sonnet-4-5", "opus": "claude-opus-4-5", "haiku": "claude-haiku-4-5"}
    if not providers:
        providers.append(ProviderConfig(name="mock", style="mock", models=["*"]))
    cfg = GatewayConfig(
        auth=AuthConfig(api_keys=[k.strip() for k in var("GATEWAY_API_KEY").split(",") if k.strip()]),
        providers=providers,
        routes=routes,
        tiers=_tiers(names, providers, var("LOCAL_LLM_MODEL")),
        aliases=aliases,
        cache=CacheConfig(
            backend="redis" if var("REDIS_URL") else "memory",
            url=var("REDIS_URL"),
            ttl=Duration(_number(var, "CACHE_TTL_SECONDS", 1800)),
        ),
        reliability=ReliabilityConfig(rate_limit_rpm=int(_number(var, "RATE_LIMIT_RPM", 0))),
        usage=UsageConfig(database_url=var("DATABASE_URL")),
    )
    raw = apply_switches(msgspec.to_builtins(cfg, enc_hook=float), env)
    try:
        cfg = msgspec.convert(raw, GatewayConfig, dec_hook=_duration)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"environment: {exc}") from None
    warnings = validate(cfg, "environment")
    return LoadedConfig(cfg, "environment", tuple(warnings))


def _duration(tp: type, obj: Any) -> Any:
    if tp is Duration:
        return Duration.parse(obj)
    raise NotImplementedError


def _number(var: Callable[[str], str], name: str, default: float) -> float:
    raw = var(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"environment: {name}: expected a number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"environment: {name}: must be 0 or more, got {raw!r}")
    return value


def _providers(env: Mapping[str, str], var: Callable[[str], str]) -> list[ProviderConfig]:
    providers = [
        ProviderConfig(
            name=seed.name,
            style=seed.style,
            base_url=env.get(seed.base_var) or seed.base_url,
            api_key=var(seed.key_var),
            models=list(seed.models),
            max_tokens_field=seed.max_tokens_field,
        )
        for seed in _SEEDS
        if var(seed.key_var)
    ]
    if var("LOCAL_LLM_BASE_URL"):
        local_model = var("LOCAL_LLM_MODEL")
        providers.append(
            ProviderConfig(
                name="local",
                style="openai-chat",
                base_url=var("LOCAL_LLM_BASE_URL"),
                api_key=var("LOCAL_LLM_API_KEY"),
                models=[local_model] if local_model else [],
            )
        )
    return providers


def _routes(providers: list[ProviderConfig]) -> list[RouteConfig]:
    """A route per usual Claude and GPT model, with an OpenRouter step to fall back to."""
    names = {p.name for p in providers}
    openrouter = "openrouter" in names
    routes: list[RouteConfig] = []
    for primary, table in (("anthropic", _ANTHROPIC_MODELS), ("openai", _OPENAI_MODELS)):
        if primary not in names and not openrouter:
            continue
        for model, or_name in table.items():
            steps = [StepConfig(provider=primary, model=model)] if primary in names else []
            if openrouter:
                steps.append(StepConfig(provider="openrouter", model=or_name))
            routes.append(RouteConfig(name=model, steps=steps))
    return routes


def _tiers(route_names: set[str], providers: list[ProviderConfig], local_model: str) -> TiersConfig:
    tiers = TiersConfig()
    if "claude-sonnet-4-5" in route_names:
        tiers = TiersConfig(cheap="claude-sonnet-4-5", strong="claude-opus-4-5")
    elif "gpt-5-mini" in route_names:
        tiers = TiersConfig(cheap="gpt-5-mini", strong="gpt-5")
    elif any(p.name == "google" for p in providers):
        tiers = TiersConfig(cheap="gemini-2.5-flash", strong="gemini-2.5-pro")
    if local_model and any(p.name == "local" for p in providers):
        tiers.local = local_model
    return tiers
