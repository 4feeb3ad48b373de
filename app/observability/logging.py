"""JSON-lines logging, and the access log written after every proxied request.

Keys and secrets never reach a log line: the access log records names and numbers only, and
``app.redaction.redact`` strips anything that looks like a credential from free text first.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import msgspec

from app.observability.redaction import redact
from app.pipeline import Finished

_encoder = msgspec.json.Encoder()
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


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


def configure(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
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
