"""A ``RequestRecord`` as the rows the store keeps."""

from __future__ import annotations

import json
import time
from typing import Any

from app.observability.record import RequestRecord

REQUEST_COLUMNS = (
    "request_id", "ts", "day", "project", "style", "requested_model", "route", "tier", "tier_reason",
    "scenario", "router_score", "provider", "model", "upstream_model", "status", "error", "stream",
    "cache", "latency_ms", "ttft_ms", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_tokens", "reasoning_tokens", "usage_estimated", "cost_usd", "saved_tokens",
    "saved_usd", "cascade", "cascade_checks", "attempts", "router_features",
)  # fmt: skip
INSERT_REQUEST = (
    f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in REQUEST_COLUMNS)}) ON CONFLICT (request_id) DO NOTHING"
)
INSERT_SAVING = (
    "INSERT INTO request_savings (request_id, optimizer, tokens, usd) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (request_id, optimizer) DO NOTHING"
)


def utc_day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def request_row(r: RequestRecord) -> tuple[Any, ...]:
    return (
        r.request_id, r.ts, utc_day(r.ts), r.project, r.style, r.requested_model, r.route, r.tier,
        r.tier_reason, r.scenario, r.router_score, r.provider, r.model, r.upstream_model, r.status,
        r.error, int(r.stream), r.cache, r.latency_s * 1000.0,
        r.ttft_s * 1000.0 if r.ttft_s is not None else None,
        r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.reasoning_tokens,
        int(r.usage_estimated), r.cost_usd, r.saved_tokens, r.saved_usd, r.cascade,
        ",".join(r.cascade_checks) or None, len(r.attempts),
        json.dumps([round(v, 6) for v in r.router_features]) if r.router_features is not None else None,
    )  # fmt: skip


def saving_rows(r: RequestRecord) -> list[tuple[Any, ...]]:
    return [(r.request_id, name, s.tokens, s.usd) for name, s in r.savings.items() if s.tokens or s.usd]
