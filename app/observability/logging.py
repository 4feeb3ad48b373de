"""Logging: JSON lines for machines, one short coloured line per request for a person at a
terminal (``logging.format``: ``auto`` picks by whether stderr is a terminal), and the access log
written after every proxied request.

Keys and secrets never reach a log line in either format: the access log records names and
numbers only, and ``app.redaction.redact`` strips anything that looks like a credential from free
text first.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, TextIO

import msgspec

from app.observability.redaction import redact
from app.pipeline import Finished

_encoder = msgspec.json.Encoder()
# uvicorn's color_message repeats msg with terminal escapes: noise in a JSON line
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return _encoder.encode(out).decode()


_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"
_RED = "\x1b[31m"
_GREEN = "\x1b[32m"
_YELLOW = "\x1b[33m"
_CYAN = "\x1b[36m"
_LEVEL_COLOUR = {"WARNING": _YELLOW, "ERROR": _RED, "CRITICAL": _RED, "DEBUG": _DIM}


class TextFormatter(logging.Formatter):
    """One short line per record, for a person at a terminal. A request reads
    ``12:04:31 200 anthropic-messages claude-sonnet-4-5 -> anthropic/claude-sonnet-4-5 cheap 840ms
    in 1,204 out 96 $0.0051 MISS saved 310``; anything else ``time LEVEL logger: message``."""

    def __init__(self, colour: bool = False) -> None:
        super().__init__()
        self.colour = colour

    def _c(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.colour and code else text

    def format(self, record: logging.LogRecord) -> str:
        clock = self._c(_DIM, time.strftime("%H:%M:%S", time.localtime(record.created)))
        if record.name == "frugal.access" and hasattr(record, "status"):
            return f"{clock} {self._request(record.__dict__)}"
        level = self._c(_LEVEL_COLOUR.get(record.levelname, ""), record.levelname)
        line = f"{clock} {level} {record.name}: {redact(record.getMessage())}"
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line

    def _request(self, f: dict[str, Any]) -> str:
        status = int(f.get("status") or 0)
        colour = _GREEN if status < 300 else _YELLOW if status < 500 and status != 429 else _RED
        parts = [self._c(colour + _BOLD, str(status)), str(f.get("style") or "")]
        asked, model = f.get("requested_model"), f.get("model")
        answered = f"{f.get('provider')}/{model}" if model else str(f.get("provider") or "")
        parts.append(f"{asked} -> {answered}" if asked else answered)
        if f.get("tier"):
            parts.append(self._c(_CYAN, str(f["tier"])))
        parts.append(f"{float(f.get('ms') or 0):,.0f}ms")
        parts.append(f"in {int(f.get('input_tokens') or 0):,} out {int(f.get('output_tokens') or 0):,}")
        cost = f.get("cost_usd")
        parts.append("$?" if cost is None else f"${float(cost):.4f}")
        cache = str(f.get("cache") or "")
        if cache and cache != "BYPASS":
            parts.append(self._c(_GREEN if cache == "HIT" else _DIM, cache))
        if f.get("saved_tokens"):
            parts.append(self._c(_GREEN, f"saved {int(f['saved_tokens']):,}"))
        if f.get("cascade"):
            parts.append(f"cascade {f['cascade']}")
        if f.get("error"):
            parts.append(self._c(_RED, str(f["error"])))
        return redact(" ".join(p for p in parts if p))


def wants_colour(stream: TextIO) -> bool:
    """Colour only for a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    return not os.environ.get("NO_COLOR") and _is_tty(stream)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def formatter_for(fmt: str, stream: TextIO) -> logging.Formatter:
    """``json``, ``text``, or ``auto``: text on a terminal, JSON lines otherwise."""
    if fmt == "text" or (fmt == "auto" and _is_tty(stream)):
        return TextFormatter(colour=wants_colour(stream))
    return JsonFormatter()


def configure(level: str = "info", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(fmt, sys.stderr))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class AccessLog:
    """One JSON line per proxied request, from its ``RequestRecord``: who, which route, tier and
    provider, outcome, timing, tokens, cost, cache and cascade. Names and numbers only."""

    def __init__(self) -> None:
        self._log = logging.getLogger("frugal.access")

    def after(self, done: Finished) -> None:
        if not self._log.isEnabledFor(logging.INFO):
            return
        r = done.record
        self._log.info(
            "request",
            extra={
                "request_id": r.request_id,
                "project": r.project,
                "style": r.style,
                "requested_model": r.requested_model,
                "route": r.route,
                "tier": r.tier,
                "tier_reason": r.tier_reason,
                "scenario": r.scenario,
                "router_score": round(r.router_score, 4) if r.router_score is not None else None,
                "provider": r.provider,
                "model": r.model,
                "status": r.status,
                "error": r.error,
                "stream": r.stream,
                "cache": r.cache,
                "attempts": [f"{a.provider}:{a.outcome}" for a in r.attempts],
                "input_tokens": r.input_tokens,
                "output_tokens": r.output_tokens,
                "cache_read_tokens": r.cache_read_tokens,
                "cache_write_tokens": r.cache_write_tokens,
                "usage_estimated": r.usage_estimated,
                "cost_usd": r.cost_usd,
                "saved_tokens": r.saved_tokens,
                "saved_usd": r.saved_usd,
                "cascade": r.cascade,
                "cascade_checks": r.cascade_checks or None,
                "decisions": r.decisions or None,
                "savings": {k: v.tokens for k, v in r.savings.items()} or None,
                "ms": round(r.latency_s * 1000, 2),
                "ttft_ms": round(r.ttft_s * 1000, 2) if r.ttft_s is not None else None,
            },
        )
