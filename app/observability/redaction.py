"""Keeping credentials out of logs and error messages.

Provider error messages are passed on to clients ("Incorrect API key provided: sk-...") and free
text goes into logs; both pass through ``redact`` first. Patterns cover the key shapes of the
providers the gateway talks to (OpenAI/Anthropic/OpenRouter ``sk-...``, Google ``AIza...``,
bearer tokens, ``key=...`` pairs), masked ones included, plus the exact keys the gateway holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

# (label kept, secret replaced): group 1 is the label, group 2 the secret
_SECRET = re.compile(
    r"()(sk-[A-Za-z0-9_\-*.]{6,}|AIza[0-9A-Za-z_\-]{20,})"
    r"|((?i:bearer)\s+)([A-Za-z0-9._\-*]{8,})"
    r"|((?i:api[_-]?key|x-api-key|x-goog-api-key|key)[\"']?\s*[=:]\s*[\"']?)([A-Za-z0-9._\-*]{8,})"
    r"|((?i:key provided):\s*)((?!\[redacted\])\S{4,}?)(?=[.,;]?(?:\s|$))"
)
REDACTED = "[redacted]"


def _replace(m: re.Match[str]) -> str:
    groups = m.groups()
    for label, secret in zip(groups[::2], groups[1::2], strict=True):
        if secret is not None:
            return (label or "") + REDACTED
    return REDACTED


def redact(text: str, known: Iterable[str] = ()) -> str:
    for secret in known:
        if secret and len(secret) >= 8:
            text = text.replace(secret, REDACTED)
    return _SECRET.sub(_replace, text)


def contains_secret(text: str) -> bool:
    return _SECRET.search(text) is not None


def safe_url(url: str) -> str:
    """``url`` without its user and password (a DSN's ``user:pass@`` never reaches a terminal)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
