"""JSON-lines logging, and the access log written after every proxied request.

Keys and secrets never reach a log line: the access log records names and numbers only, and
``app.redaction.redact`` strips anything that looks like a credential from free text first.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import msgspec

from app.canonical import Request, Response
from app.observability.redaction import redact
from app.pipeline import RequestContext

_encoder = msgspec.json.Encoder()
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
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
    """One JSON line per proxied request: who, which route and provider, outcome, timing."""

    def __init__(self) -> None:
        self._log = logging.getLogger("frugal.access")

    def after(self, req: Request | None, response: Response | None, ctx: RequestContext) -> None:
        if not self._log.isEnabledFor(logging.INFO):
            return
        res = ctx.resolution
        usage = ctx.usage
        self._log.info(
            "request",
            extra={
                "request_id": ctx.request_id,
                "project": ctx.project.name,
                "style": ctx.style,
                "requested_model": res.requested if res else (req.model if req else None),
                "route": res.route.name if res else None,
                "provider": ctx.provider,
                "model": ctx.model,
                "status": ctx.status,
                "stream": bool(req and req.stream),
                "attempts": [f"{a.provider}:{a.outcome}" for a in ctx.attempts],
                "input_tokens": usage.input_tokens if usage else None,
                "output_tokens": usage.output_tokens if usage else None,
                "ms": round((time.perf_counter() - ctx.started) * 1000, 2),
            },
        )
