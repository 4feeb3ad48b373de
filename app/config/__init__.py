"""Gateway configuration: ``schema`` (the keys), ``load`` (lookup, YAML, ``${VAR}``), ``validate``
(cross-references), ``env`` (the seed gateway's environment variables when no file exists).

The public names are re-exported here: ``from app.config import GatewayConfig, load``.
"""

from app.config.load import DEFAULT_PATHS, expand_env, find_config, load, load_file, parse
from app.config.schema import (
    AuthConfig,
    CacheConfig,
    CircuitBreakerConfig,
    ConfigError,
    ConflictKind,
    Duration,
    GatewayConfig,
    HedgeConfig,
    LimitsConfig,
    LoadedConfig,
    LoggingConfig,
    MetricsConfig,
    PriceConfig,
    ProjectConfig,
    ProviderConfig,
    ReliabilityConfig,
    RetriesConfig,
    RouteConfig,
    RoutingConfig,
    StepConfig,
    TiersConfig,
    UsageConfig,
)
from app.config.validate import validate

__all__ = [
    "DEFAULT_PATHS",
    "AuthConfig",
    "CacheConfig",
    "CircuitBreakerConfig",
    "ConfigError",
    "ConflictKind",
    "Duration",
    "GatewayConfig",
    "HedgeConfig",
    "LimitsConfig",
    "LoadedConfig",
    "LoggingConfig",
    "MetricsConfig",
    "PriceConfig",
    "ProjectConfig",
    "ProviderConfig",
    "ReliabilityConfig",
    "RetriesConfig",
    "RouteConfig",
    "RoutingConfig",
    "StepConfig",
    "TiersConfig",
    "UsageConfig",
    "expand_env",
    "find_config",
    "load",
    "load_file",
    "parse",
    "validate",
]
