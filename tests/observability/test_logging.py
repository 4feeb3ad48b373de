"""Log formats: JSON lines for machines, one short line per request for a terminal (coloured only
on a terminal and without NO_COLOR), and the same redaction in both."""

from __future__ import annotations

import io
import json
import logging

import pytest

from app.observability.logging import JsonFormatter, TextFormatter, formatter_for, wants_colour

KEY = "sk-ant-api03-" + "Z" * 40


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _access(**fields: object) -> logging.LogRecord:
    base: dict[str, object] = {
        "request_id": "r1", "project": "team-a", "style": "anthropic-messages",
        "requested_model": "claude-sonnet-4-5", "provider": "anthropic", "model": "claude-haiku-4-5",
        "tier": "cheap", "status": 200, "error": None, "cache": "MISS", "ms": 842.4, "input_tokens": 1204,
        "output_tokens": 96, "cost_usd": 0.00512, "saved_tokens": 310, "cascade": None,
    }  # fmt: skip
    base.update(fields)
    record = logging.LogRecord("frugal.access", logging.INFO, __file__, 1, "request", (), None)
    record.__dict__.update(base)
    return record


def test_a_request_is_one_short_line() -> None:
    line = TextFormatter(colour=False).format(_access())
    assert "\n" not in line and "\x1b" not in line
    assert line.split(" ", 1)[1] == (
        "200 anthropic-messages claude-sonnet-4-5 -> anthropic/claude-haiku-4-5 cheap 842ms "
        "in 1,204 out 96 $0.0051 MISS saved 310"
    )
    failed = TextFormatter(colour=False).format(
        _access(status=503, error="upstream_unavailable", cost_usd=None, cache="BYPASS", saved_tokens=0)
    )
    assert failed.endswith(
        "503 anthropic-messages claude-sonnet-4-5 -> anthropic/claude-haiku-4-5 cheap 842ms in 1,204 out 96 $? upstream_unavailable"
    )


def test_colour_marks_status_and_cache() -> None:
    ok = TextFormatter(colour=True).format(_access(cache="HIT"))
    assert "\x1b[32m\x1b[1m200\x1b[0m" in ok and "\x1b[32mHIT\x1b[0m" in ok
    bad = TextFormatter(colour=True).format(_access(status=502))
    assert "\x1b[31m\x1b[1m502" in bad
    limited = TextFormatter(colour=True).format(_access(status=429))
    assert "\x1b[31m\x1b[1m429" in limited


@pytest.mark.parametrize(
    "formatter", [TextFormatter(colour=False), TextFormatter(colour=True), JsonFormatter()]
)
def test_keys_never_reach_a_line(formatter: logging.Formatter) -> None:
    other = logging.LogRecord(
        "frugal.x", logging.WARNING, __file__, 1, "provider said %s", (f"bad key {KEY}",), None
    )
    assert KEY not in formatter.format(other)
    assert KEY not in formatter.format(_access(error=f"invalid x-api-key {KEY}"))


def test_other_records_read_time_level_logger_message() -> None:
    record = logging.LogRecord(
        "frugal.usage", logging.WARNING, __file__, 1, "database away: %s", ("refused",), None
    )
    line = TextFormatter(colour=False).format(record)
    assert line.split(" ", 1)[1] == "WARNING frugal.usage: database away: refused"


def test_format_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    pipe, tty = io.StringIO(), _Tty()
    assert isinstance(formatter_for("auto", pipe), JsonFormatter)
    auto_tty = formatter_for("auto", tty)
    assert isinstance(auto_tty, TextFormatter) and auto_tty.colour
    forced = formatter_for("text", pipe)
    assert isinstance(forced, TextFormatter) and not forced.colour  # text, but no colour into a pipe
    assert isinstance(formatter_for("json", tty), JsonFormatter)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_colour(tty)
    no_colour = formatter_for("auto", tty)
    assert isinstance(no_colour, TextFormatter) and not no_colour.colour


def test_json_lines_keep_their_shape() -> None:
    out = json.loads(JsonFormatter().format(_access()))
    assert out["logger"] == "frugal.access" and out["status"] == 200 and out["saved_tokens"] == 310
    uvicorn = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started", (), None)
    uvicorn.__dict__["color_message"] = "Started \x1b[36m1\x1b[0m"
    assert "color_message" not in json.loads(JsonFormatter().format(uvicorn))
