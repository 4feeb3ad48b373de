"""Gateway configuration: the YAML schema, ``${VAR}`` expansion, and validation with clear errors.

Lookup order (SPEC §4): ``--config``, ``$FRUGAL_CONFIG``, ``./gateway.yaml``,
``/etc/frugal/gateway.yaml``; with none found the seed gateway's environment variables configure
the gateway (``app.config_env``). A bad config raises ``ConfigError`` naming the file, the key path
and what is wrong, e.g. ``gateway.yaml: routes[0].steps[1].provider: unknown provider 'x'``.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

from app.canonical import Style


class ConfigError(Exception):
    """The configuration cannot be used; the message names file, key path and reason."""


class Duration(float):
    """Seconds, written in YAML as ``120s``, ``500ms``, ``2m``, ``1h`` or a plain number."""

    _UNITS: Mapping[str, float] = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    _PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")

    @classmethod
    def parse(cls, value: Any) -> Duration:
        if isinstance(value, bool):
            raise ValueError("expected a duration like 30s, 500ms, 2m")
        if isinstance(value, int | float):
            if value < 0:
                raise ValueError("a duration cannot be negative")
            return cls(value)
        if isinstance(value, str):
            m = cls._PATTERN.match(value)
            if m:
                return cls(float(m.group(1)) * cls._UNITS[m.group(2) or "s"])
        raise ValueError(f"expected a duration like 30s, 500ms, 2m, got {value!r}")


class _Strict(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class ProjectConfig(_Strict):
    name: str
    api_key: str
    rpm: int | None = None
    allowed_models: list[str] | None = None  # route names / aliases this project may use


class AuthConfig(_Strict):
    api_keys: list[str] = []
    projects: list[ProjectConfig] = []


class ProviderConfig(_Strict):
    name: str
    style: Style
    base_url: str = ""
    api_key: str = ""
    headers: dict[str, str] = {}
    models: list[str] = []  # models it serves: each becomes a one-step route unless a route has its name
    timeout: Duration = Duration(600)  # read timeout for one upstream call
    connect_timeout: Duration = Duration(10)
    max_connections: int = 256
    # OpenAI deprecated max_tokens for max_completion_tokens; other OpenAI-style servers differ
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] | None = None


ConflictKind = Literal["tools", "format", "reasoning"]


class StepConfig(_Strict):
    provider: str
    model: str
    timeout: Duration | None = None
    conflict_resolution: ConflictKind | list[ConflictKind] | None = None

    def conflicts(self) -> tuple[ConflictKind, ...]:
        c = self.conflict_resolution
        if c is None:
            return ()
        return (c,) if isinstance(c, str) else tuple(c)


class HedgeConfig(_Strict):
    after: Duration


class RouteConfig(_Strict):
    name: str
    steps: list[StepConfig]
    hedge: HedgeConfig | None = None
    aliases: list[str] = []


class TiersConfig(_Strict):
    local: str | None = None
    cheap: str | None = None
    strong: str | None = None


class RoutingConfig(_Strict):
    fuzzy_models: bool = False  # map an unknown model to its closest route instead of a 400
    smart_routing: bool = False  # route every request by complexity unless it opts out


class CacheConfig(_Strict):
    backend: Literal["memory", "redis", "off"] = "memory"
    url: str = ""
    ttl: Duration = Duration(1800)


class CircuitBreakerConfig(_Strict):
    failures: int = 5
    window: Duration = Duration(60)
    cooldown: Duration = Duration(30)


class RetriesConfig(_Strict):
    attempts: int = 2
    max_backoff: Duration = Duration(8)


class ReliabilityConfig(_Strict):
    circuit_breaker: CircuitBreakerConfig = msgspec.field(default_factory=CircuitBreakerConfig)
    retries: RetriesConfig = msgspec.field(default_factory=RetriesConfig)
    rate_limit_rpm: int = 0  # per project key; 0 = unlimited


class LimitsConfig(_Strict):
    max_body_bytes: int = 10 * 1024 * 1024
    max_messages: int = 2000


class PriceConfig(_Strict):
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


class MetricsConfig(_Strict):
    public: bool = False  # serve /metrics without a key


class LoggingConfig(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True  # one JSON line per proxied request


class UsageConfig(_Strict):
    database_url: str = ""  # empty: a SQLite file


class GatewayConfig(_Strict):
    auth: AuthConfig = msgspec.field(default_factory=AuthConfig)
    providers: list[ProviderConfig] = []
    routes: list[RouteConfig] = []
    tiers: TiersConfig = msgspec.field(default_factory=TiersConfig)
    aliases: dict[str, str] = {}
    routing: RoutingConfig = msgspec.field(default_factory=RoutingConfig)
    cache: CacheConfig = msgspec.field(default_factory=CacheConfig)
    reliability: ReliabilityConfig = msgspec.field(default_factory=ReliabilityConfig)
    limits: LimitsConfig = msgspec.field(default_factory=LimitsConfig)
    pricing: dict[str, PriceConfig] = {}
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    usage: UsageConfig = msgspec.field(default_factory=UsageConfig)
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)


class LoadedConfig(msgspec.Struct, frozen=True):
    config: GatewayConfig
    source: str  # the file it came from, or "environment"
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- loading

DEFAULT_PATHS = ("gateway.yaml", "/etc/frugal/gateway.yaml")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def find_config(explicit: str | None, env: Mapping[str, str]) -> Path | None:
    """The config file to use, or None to configure from environment variables."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        return path
    from_env = env.get("FRUGAL_CONFIG")
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"{from_env}: config file not found (from $FRUGAL_CONFIG)")
        return path
    for candidate in DEFAULT_PATHS:
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def load(explicit: str | None = None, env: Mapping[str, str] | None = None) -> LoadedConfig:
    env = os.environ if env is None else env
    path = find_config(explicit, env)
    if path is None:
        from app.config_env import config_from_env

        return config_from_env(env)
    return load_file(path, env)


def load_file(path: Path, env: Mapping[str, str]) -> LoadedConfig:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read: {exc.strerror}") from None
    return parse(text, name, env)


def parse(text: str, name: str, env: Mapping[str, str]) -> LoadedConfig:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (line {mark.line + 1}, column {mark.column + 1})"
        raise ConfigError(f"{name}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{name}: the top level must be a mapping of keys, not {type(raw).__name__}")
    expanded = expand_env(raw, env)
    try:
        cfg = msgspec.convert(expanded, GatewayConfig, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{name}: {_describe(exc)}") from None
    warnings = validate(cfg, name)
    return LoadedConfig(cfg, name, tuple(warnings))


def expand_env(value: Any, env: Mapping[str, str]) -> Any:
    """Expand ``${VAR}`` and ``${VAR:-default}`` in every string (never in keys); an unset
    variable without a default expands to the empty string, as in a shell."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        return _VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: expand_env(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, env) for v in value]
    return value


def _dec_hook(tp: type, obj: Any) -> Any:
    if tp is Duration:
        return Duration.parse(obj)
    raise NotImplementedError


def _describe(exc: msgspec.ValidationError) -> str:
    """msgspec says ``Expected `int`, got `str` - at `$.limits.max_messages```; we say
    ``limits.max_messages: expected int, got str``."""
    msg = str(exc)
    what, sep, where = msg.rpartition(" - at `")
    if not sep:
        return msg
    path = where.rstrip("`").removeprefix("$").lstrip(".")
    what = what.replace("`", "")
    what = what[0].lower() + what[1:] if what else what
    if what.startswith("object contains unknown field"):
        return f"{path or '(top level)'}: {what} (check the spelling; see README, Configuration)"
    if what.startswith("invalid enum value"):
        field = re.sub(r"\[\d+\]$", "", path.rsplit(".", 1)[-1])
        if field in _CHOICES:
            what += f" (expected one of: {', '.join(_CHOICES[field])})"
    return f"{path or '(top level)'}: {what}"


_CHOICES: dict[str, tuple[str, ...]] = {
    "style": ("openai-chat", "openai-responses", "anthropic-messages", "google-genai", "mock"),
    "backend": ("memory", "redis", "off"),
    "conflict_resolution": ("tools", "format", "reasoning"),
    "level": ("debug", "info", "warning", "error"),
    "max_tokens_field": ("max_tokens", "max_completion_tokens"),
}


# --------------------------------------------------------------------------- validation


def validate(cfg: GatewayConfig, name: str) -> list[str]:
    """Cross-references and values the schema alone cannot check. Returns warnings."""
    warnings: list[str] = []

    def err(path: str, what: str) -> ConfigError:
        return ConfigError(f"{name}: {path}: {what}")

    providers: dict[str, ProviderConfig] = {}
    for i, p in enumerate(cfg.providers):
        if p.name in providers:
            raise err(f"providers[{i}].name", f"duplicate provider name '{p.name}'")
        providers[p.name] = p
        if p.style != "mock":
            if not p.base_url:
                warnings.append(f"provider '{p.name}' has no base_url (its variable is unset?): disabled")
            elif not p.base_url.startswith(("http://", "https://")):
                raise err(
                    f"providers[{i}].base_url", f"expected an http:// or https:// URL, got {p.base_url!r}"
                )
        if p.max_connections < 1:
            raise err(f"providers[{i}].max_connections", "must be at least 1")

    routes: set[str] = set()
    for i, r in enumerate(cfg.routes):
        if r.name in routes:
            raise err(f"routes[{i}].name", f"duplicate route name '{r.name}'")
        routes.add(r.name)
        if not r.steps:
            raise err(f"routes[{i}].steps", "a route needs at least one step")
        for j, s in enumerate(r.steps):
            if s.provider not in providers:
                listed = ", ".join(sorted(providers)) or "none configured"
                raise err(
                    f"routes[{i}].steps[{j}].provider", f"unknown provider '{s.provider}' (known: {listed})"
                )
    names = set(routes)
    for r in cfg.routes:
        names.update(r.aliases)
    patterns = [m for p in cfg.providers for m in p.models if any(c in m for c in "*?[")]
    names.update(m for p in cfg.providers for m in p.models)

    def known(target: str) -> bool:
        return target in names or any(fnmatch.fnmatchcase(target, pat) for pat in patterns)

    for alias, target in cfg.aliases.items():
        if not known(target):
            raise err(f"aliases.{alias}", f"target '{target}' is not a route or provider model")
    for tier in ("local", "cheap", "strong"):
        target = getattr(cfg.tiers, tier)
        if target and not known(target) and target not in cfg.aliases:
            raise err(f"tiers.{tier}", f"'{target}' is not a route, alias or provider model")
    for i, proj in enumerate(cfg.auth.projects):
        if not proj.api_key:
            warnings.append(f"project '{proj.name}' has an empty api_key: it cannot authenticate")
        if proj.rpm is not None and proj.rpm < 0:
            raise err(f"auth.projects[{i}].rpm", "must be 0 (unlimited) or more")
    if cfg.limits.max_body_bytes < 1024:
        raise err("limits.max_body_bytes", "must be at least 1024")
    if cfg.limits.max_messages < 1:
        raise err("limits.max_messages", "must be at least 1")
    if cfg.reliability.retries.attempts < 0:
        raise err("reliability.retries.attempts", "must be 0 or more")
    if cfg.cache.backend == "redis" and not cfg.cache.url:
        warnings.append("cache.backend is redis but cache.url is empty: the cache stays in memory")
    return warnings
