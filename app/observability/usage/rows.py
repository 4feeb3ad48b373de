"""A ``RequestRecord`` as the rows the store keeps."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from app.observability.record import RequestRecord

REQUEST_COLUMNS = (
    "request_id", "ts", "day", "project", "style", "requested_model", "route", "tier", "tier_reason",
    "scenario", "router_score", "provider", "model", "upstream_model", "status", "error", "stream",
    "cache", "latency_ms", "ttft_ms", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_tokens", "reasoning_tokens", "usage_estimated", "cost_usd", "saved_tokens",
    "saved_usd", "cascade", "cascade_checks", "attempts", "router_features",
)  # fmt: skip
SAVING_COLUMNS = ("request_id", "optimizer", "tokens", "usd")

# Rows go in many to a statement. The writer thread gives up the GIL around each statement it
# runs (and its commit); an event loop busy with requests gives it back only every switch
# interval (5 ms). With a statement per row the writer managed ~1,500 rows a second against a
# busy loop and dropped rows at ~5,000 cache hits a second. A statement binds its parameters
# holding the GIL (~0.1 µs each), so it is capped at 256 rows (~8,500 of them): under a millisecond.
MAX_ROWS_PER_STATEMENT = 256


def _insert(table: str, columns: tuple[str, ...], key: str, rows: int) -> str:
    one = f"({', '.join('?' for _ in columns)})"
    values = ", ".join([one] * rows)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} ON CONFLICT ({key}) DO NOTHING"


@functools.cache
def insert_requests(rows: int) -> str:
    """The statement inserting ``rows`` request rows (a repeated request id is skipped)."""
    return _insert("requests", REQUEST_COLUMNS, "request_id", rows)


@functools.cache
def insert_savings(rows: int) -> str:
    return _insert("request_savings", SAVING_COLUMNS, "request_id, optimizer", rows)


def statements(
    rows: list[tuple[Any, ...]], sql: Callable[[int], str], max_params: int
) -> Iterator[tuple[str, list[Any]]]:
    """(statement, flat parameters) for ``rows``, as many to a statement as ``max_params`` (the
    engine's limit) and ``MAX_ROWS_PER_STATEMENT`` allow. Statements hold a power of two of rows,
    so a handful of distinct statements (each prepared once, cached by the driver) serve every
    batch: one per batch length kept several MB of prepared statements alive (+3-7% RSS in
    a 5,000-request soak)."""
    if not rows:
        return
    per = min(MAX_ROWS_PER_STATEMENT, max_params // len(rows[0]))
    i = 0
    while i < len(rows):
        n = 1 << (min(per, len(rows) - i).bit_length() - 1)  # the largest power of two that fits
        chunk = rows[i : i + n]
        i += n
        yield sql(n), [value for row in chunk for value in row]


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
