"""The seed gateway's on/off and size variables, applied to any configuration.

Each variable sets one config key when the configuration does not set it itself: a config file
wins over the environment, and without a config file the environment is all there is (SPEC §4).
``1``/``true``/``yes``/``on`` switch on, ``0``/``false``/``no``/``off`` switch off; anything else is
a configuration error naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from app.config.schema import ConfigError

Kind = Literal["bool", "int", "duration"]

# variable -> (key path, kind)
SWITCHES: dict[str, tuple[tuple[str, ...], Kind]] = {
    "ENABLE_ANTHROPIC_CACHE_CONTROL": (("optimizers", "prompt_cache"), "bool"),
    "ENABLE_FILE_HASH_CACHE": (("optimizers", "dedup"), "bool"),
    "STRIP_IDE_BOILERPLATE": (("optimizers", "boilerplate"), "bool"),
    "ENFORCE_DIFF_FIRST": (("optimizers", "diff_first"), "bool"),
    "SYSTEM_MAX_CHARS": (("optimizers", "system_max_chars"), "int"),
    "USER_MSG_MAX_CHARS": (("optimizers", "user_msg_max_chars"), "int"),
    "TOOL_RESULT_MAX_CHARS": (("optimizers", "tool_result_max_chars"), "int"),
    "DEFAULT_MAX_TOKENS": (("optimizers", "default_max_tokens"), "int"),
    "ENABLE_SKILLS": (("skills", "enabled"), "bool"),
    "ENABLE_CASCADE_ROUTING": (("routing", "cascade"), "bool"),
    "CACHE_TTL_SECONDS": (("cache", "ttl"), "duration"),
    "RATE_LIMIT_RPM": (("reliability", "rate_limit_rpm"), "int"),
    "CIRCUIT_BREAKER_ENABLED": (("reliability", "circuit_breaker", "enabled"), "bool"),
    "RETRY_ENABLED": (("reliability", "retries", "enabled"), "bool"),
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def apply_switches(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """``raw`` (a config as plain data) with every set variable applied where ``raw`` is silent."""
    for var, (path, kind) in SWITCHES.items():
        text = env.get(var, "").strip()
        if not text:
            continue
        node = raw
        for key in path[:-1]:
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                break  # the config file has something else there: its own error will say so
            node = child
        else:
            if path[-1] not in node:
                node[path[-1]] = _value(var, text, kind)
    return raw


def _value(var: str, text: str, kind: Kind) -> Any:
    if kind == "bool":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"environment: {var}: expected 1/true/on or 0/false/off, got {text!r}")
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(f"environment: {var}: expected a number, got {text!r}") from None
    if number < 0:
        raise ConfigError(f"environment: {var}: must be 0 or more, got {text!r}")
    return int(number) if kind == "int" else number
