"""Finding, reading and parsing the configuration, with ``${VAR}`` expansion and clear errors.

Lookup order (SPEC §4): ``--config``, ``$FRUGAL_CONFIG``, ``./gateway.yaml``,
``/etc/frugal/gateway.yaml``; with none found the seed gateway's environment variables configure
the gateway (``app.config.env``). A bad config raises ``ConfigError`` naming the file, the key path
and what is wrong, e.g. ``gateway.yaml: routes[0].steps[1].provider: unknown provider 'x'``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import yaml

from app.config.env import config_from_env
from app.config.schema import ConfigError, Duration, GatewayConfig, LoadedConfig
from app.config.switches import apply_switches
from app.config.validate import validate

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
    expanded = apply_switches(expand_env(raw, env), env)
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
    "token_counts": ("auto", "tokenizer", "estimate"),
}


# --------------------------------------------------------------------------- validation
