"""The aggregates ``/admin/usage`` (and budgets, and the admin page) read: the same SQL on both
engines, computed by the database (``GROUP BY``), never by loading rows.

Costs: ``cost_usd`` sums the requests whose price is known; ``unpriced_requests`` counts the
ones billed by a model without a price (their cost is unknown, not zero). ``errors`` counts
answers with a status of 400 or more.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from app.observability.usage.database import Connection

_METRICS = (
    "COUNT(*), "
    "COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
    "COALESCE(SUM(cache_read_tokens), 0), COALESCE(SUM(cache_write_tokens), 0), "
    "COALESCE(SUM(cost_usd), 0), "
    "COALESCE(SUM(CASE WHEN cost_usd IS NULL THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(saved_tokens), 0), COALESCE(SUM(saved_usd), 0)"
)
_NAMES = (
    "requests", "errors", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "cost_usd", "unpriced_requests", "saved_tokens", "saved_usd",
)  # fmt: skip
_GROUPS = {
    "by_project": "project", "by_provider": "provider", "by_model": "model", "by_day": "day",
    "by_tier": "tier", "by_scenario": "scenario",
}  # fmt: skip
# one row of the recent-requests list: names and numbers only, never a body or a key
RECENT_COLUMNS = (
    "ts", "request_id", "project", "style", "requested_model", "tier", "scenario", "provider", "model",
    "status", "error", "stream", "cache", "cascade", "latency_ms", "input_tokens", "output_tokens",
    "cache_read_tokens", "cost_usd", "saved_tokens", "attempts",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class UsageFilter:
    project: str | None = None
    since: float | None = None  # unix seconds, inclusive
    until: float | None = None  # unix seconds, exclusive

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.project is not None:
            clauses.append("project = ?")
            params.append(self.project)
        if self.since is not None:
            clauses.append("ts >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("ts < ?")
            params.append(self.until)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def parse_instant(text: str, *, end: bool = False) -> float:
    """ISO 8601 date or date-time (``2026-12-01``, ``2026-12-01T08:00:00Z``, with an offset) as
    unix seconds; a naive time is UTC. A bare date as ``until`` means the end of that day."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            return (start + dt.timedelta(days=1) if end else start).timestamp()
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"'{text[:40]}' is not an ISO 8601 date or date-time (e.g. 2026-12-01T08:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, v in zip(_NAMES, values, strict=True):
        out[name] = float(v) if name in ("cost_usd", "saved_usd") else int(v)
    return out


def usage_summary(conn: Connection, f: UsageFilter) -> dict[str, Any]:
    where, params = f.where()
    totals = conn.query(f"SELECT {_METRICS} FROM requests{where}", params)[0]
    out: dict[str, Any] = {"totals": _row(totals)}
    for key, column in _GROUPS.items():
        # COALESCE: both engines then sort a NULL tier or scenario (not routed) first
        sql = f"SELECT {column}, {_METRICS} FROM requests{where} GROUP BY {column} "
        sql += f"ORDER BY COALESCE({column}, '')"
        rows = conn.query(sql, params)
        out[key] = [{column: r[0], **_row(r[1:])} for r in rows]
    saved = conn.query(
        "SELECT s.optimizer, COALESCE(SUM(s.tokens), 0), COALESCE(SUM(s.usd), 0) "
        f"FROM request_savings s JOIN requests ON requests.request_id = s.request_id{where} "
        "GROUP BY s.optimizer ORDER BY s.optimizer",
        params,
    )
    out["savings_by_optimizer"] = [
        {"optimizer": r[0], "saved_tokens": int(r[1]), "saved_usd": float(r[2])} for r in saved
    ]
    judged = "cascade IS NOT NULL"
    rows = conn.query(
        f"SELECT cascade, {_METRICS} FROM requests{where + ' AND ' if where else ' WHERE '}{judged} "
        "GROUP BY cascade ORDER BY cascade",
        params,
    )
    out["by_cascade"] = [{"cascade": r[0], **_row(r[1:])} for r in rows]
    return out


def recent_requests(conn: Connection, f: UsageFilter, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ``limit`` requests in view, newest first (the admin page's list)."""
    where, params = f.where()
    rows = conn.query(
        f"SELECT {', '.join(RECENT_COLUMNS)} FROM requests{where} ORDER BY ts DESC, request_id LIMIT ?",
        [*params, max(0, int(limit))],
    )
    return [dict(zip(RECENT_COLUMNS, r, strict=True)) for r in rows]


def project_spend(conn: Connection, project: str, since: float) -> float:
    """USD a project spent since ``since`` (budgets)."""
    rows = conn.query("SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE project = ? AND ts >= ?",
                      (project, since))  # fmt: skip
    return float(rows[0][0])


def cascade_outcomes(conn: Connection, since: float | None = None) -> list[tuple[list[float], str]]:
    """(router feature row, cascade outcome) of every request the cascade judged: the learned
    router's training data from the gateway's own traffic."""
    sql = (
        "SELECT router_features, cascade FROM requests "
        "WHERE cascade IS NOT NULL AND router_features IS NOT NULL"
    )
    params: list[Any] = []
    if since is not None:
        sql += " AND ts >= ?"
        params.append(since)
    out: list[tuple[list[float], str]] = []
    for features, outcome in conn.query(sql + " ORDER BY ts", params):
        out.append(([float(v) for v in json.loads(features)], str(outcome)))
    return out
