"""Credentials never leave in error messages or logs."""

from __future__ import annotations

import json
import logging

import pytest

from app.observability.logging import JsonFormatter
from app.observability.redaction import contains_secret, redact, safe_url


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect API key provided: sk-proj-abcdefgh1234. You can find your API key at ...",
        "Incorrect API key provided: sk-fake-****-key.",
        "key=AIzaSyA1234567890abcdefghijklmnop",
        "Authorization: Bearer abcdefghijklmnop",
        'x-api-key: "sk-ant-api03-AAAAAAAAAA"',
    ],
)
def test_key_shapes_are_redacted(text: str) -> None:
    assert contains_secret(text)
    out = redact(text)
    assert "[redacted]" in out and not contains_secret(out)


def test_known_keys_are_redacted_whatever_their_shape() -> None:
    assert (
        redact("bad credential: my-odd-local-key-123", ["my-odd-local-key-123"])
        == "bad credential: [redacted]"
    )


def test_plain_messages_are_untouched() -> None:
    for text in ["model not found", "invalid x-api-key", "API key not valid. Please pass a valid API key."]:
        assert redact(text) == text


def test_log_lines_are_redacted() -> None:
    record = logging.LogRecord("t", logging.WARNING, "f", 1, "upstream said sk-abcdefghijkl", (), None)
    record.detail = "Bearer abcdefghijklmnop"
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "upstream said [redacted]" and line["detail"] == "Bearer [redacted]"


def test_safe_url_drops_credentials_only() -> None:
    assert safe_url("postgresql://u:p@h:5432/db?sslmode=require") == "postgresql://h:5432/db"
    assert safe_url("redis://:secret@127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert safe_url("usage.db") == "usage.db"
