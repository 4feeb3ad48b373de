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

from collections.abc import Mapping

from app.config import (
    AuthConfig,
    CacheConfig,
    Duration,
    GatewayConfig,
    LoadedConfig,
    ProviderConfig,
    ReliabilityConfig,
    RouteConfig,
    StepConfig,
    TiersConfig,
    UsageConfig,
    validate,
)

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


def config_from_env(env: Mapping[str, str]) -> LoadedConfig:
    providers: list[ProviderConfig] = []
    routes: list[RouteConfig] = []
    aliases: dict[str, str] = {}

    def key(name: str) -> str:
        return env.get(name, "").strip()

    openrouter = key("OPENROUTER_API_KEY")
    anthropic = key("ANTHROPIC_API_KEY")
    openai = key("OPENAI_API_KEY")
    gemini = key("GEMINI_API_KEY")
    local_url = key("LOCAL_LLM_BASE_URL")

    if anthropic:
        providers.append(
            ProviderConfig(
                name="anthropic",
                style="anthropic-messages",
                base_url=env.get("ANTHROPIC_API_BASE", "https://api.anthropic.com"),
                api_key=anthropic,
                models=[*_ANTHROPIC_MODELS, "claude-*"],
            )
        )
    if openai:
        providers.append(
            ProviderConfig(
                name="openai",
                style="openai-chat",
                base_url=env.get("OPENAI_API_BASE", "https://api.openai.com/v1"),
                api_key=openai,
                models=[*_OPENAI_MODELS, "gpt-*", "o1*", "o3*", "o4*"],
                max_tokens_field="max_completion_tokens",
            )
        )
    if gemini:
        providers.append(
            ProviderConfig(
                name="google",
                style="google-genai",
                base_url=env.get("GEMINI_API_BASE", "https://generativelanguage.googleapis.com"),
                api_key=gemini,
                models=[*_GEMINI_MODELS, "gemini-*"],
            )
        )
    if openrouter:
        providers.append(
            ProviderConfig(
                name="openrouter",
                style="openai-chat",
                base_url=env.get("OPENROUTER_API_BASE", "https://openrouter.ai/api/v1"),
                api_key=openrouter,
                models=["*/*"],
            )
        )
    if local_url:
        local_model = key("LOCAL_LLM_MODEL")
        providers.append(
            ProviderConfig(
                name="local",
                style="openai-chat",
                base_url=local_url,
                api_key=key("LOCAL_LLM_API_KEY"),
                models=[local_model] if local_model else [],
            )
        )

    # Routes with an OpenRouter fallback step for the families OpenRouter also serves.
    for primary, table in (("anthropic", _ANTHROPIC_MODELS), ("openai", _OPENAI_MODELS)):
        has_primary = any(p.name == primary for p in providers)
        if not has_primary and not openrouter:
            continue
        for model, or_name in table.items():
            steps = []
            if has_primary:
                steps.append(StepConfig(provider=primary, model=model))
            if openrouter:
                steps.append(StepConfig(provider="openrouter", model=or_name))
            routes.append(RouteConfig(name=model, steps=steps))

    route_names = {r.name for r in routes}
    if "claude-sonnet-4-5" in route_names:
        aliases.update(
            {"sonnet": "claude-sonnet-4-5", "opus": "claude-opus-4-5", "haiku": "claude-haiku-4-5"}
        )

    tiers = TiersConfig()
    if "claude-sonnet-4-5" in route_names:
        tiers = TiersConfig(cheap="claude-sonnet-4-5", strong="claude-opus-4-5")
    elif "gpt-4o-mini" in route_names:
        tiers = TiersConfig(cheap="gpt-5-mini", strong="gpt-5")
    elif gemini:
        tiers = TiersConfig(cheap="gemini-2.5-flash", strong="gemini-2.5-pro")
    if local_url and key("LOCAL_LLM_MODEL"):
        tiers.local = key("LOCAL_LLM_MODEL")

    if not providers:
        providers.append(ProviderConfig(name="mock", style="mock", models=["*"]))

    api_keys = [k.strip() for k in env.get("GATEWAY_API_KEY", "").split(",") if k.strip()]
    cache = CacheConfig(
        backend="redis" if key("REDIS_URL") else "memory",
        url=key("REDIS_URL"),
        ttl=Duration(float(env.get("CACHE_TTL_SECONDS") or 1800)),
    )
    cfg = GatewayConfig(
        auth=AuthConfig(api_keys=api_keys),
        providers=providers,
        routes=routes,
        tiers=tiers,
        aliases=aliases,
        cache=cache,
        reliability=ReliabilityConfig(rate_limit_rpm=int(env.get("RATE_LIMIT_RPM") or 0)),
        usage=UsageConfig(database_url=key("DATABASE_URL")),
    )
    warnings = validate(cfg, "environment")
    return LoadedConfig(cfg, "environment", tuple(warnings))
