"""Versioned schema migrations, applied at start (and on every reconnect, which is a no-op once
applied). Each migration is a list of statements both engines accept; ``schema_migrations``
records what ran. Several workers and replicas may start at once against one PostgreSQL: an
advisory lock serialises them (SQLite: ``BEGIN IMMEDIATE`` takes the file's write lock), and a
migration already recorded is skipped.

Never edit a released migration: add the next one.
"""

from __future__ import annotations

import time

from app.observability.usage.database import Connection

_LOCK_ID = 724_101_993  # any constant: the advisory lock all gateway processes agree on

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "requests and per-optimizer savings",
        [
            """CREATE TABLE IF NOT EXISTS requests (
                request_id TEXT PRIMARY KEY,
                ts DOUBLE PRECISION NOT NULL,
                day TEXT NOT NULL,
                project TEXT NOT NULL,
                style TEXT NOT NULL,
                requested_model TEXT,
                route TEXT,
                tier TEXT,
                tier_reason TEXT,
                scenario TEXT,
                router_score DOUBLE PRECISION,
                provider TEXT NOT NULL,
                model TEXT NOT NULL,
                upstream_model TEXT,
                status INTEGER NOT NULL,
                error TEXT,
                stream INTEGER NOT NULL,
                cache TEXT NOT NULL,
                latency_ms DOUBLE PRECISION NOT NULL,
                ttft_ms DOUBLE PRECISION,
                input_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                cache_read_tokens BIGINT NOT NULL,
                cache_write_tokens BIGINT NOT NULL,
                reasoning_tokens BIGINT NOT NULL,
                usage_estimated INTEGER NOT NULL,
                cost_usd DOUBLE PRECISION,
                saved_tokens BIGINT NOT NULL,
                saved_usd DOUBLE PRECISION NOT NULL,
                cascade TEXT,
                cascade_checks TEXT,
                attempts INTEGER NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS requests_project_ts ON requests (project, ts)",
            "CREATE INDEX IF NOT EXISTS requests_ts ON requests (ts)",
            """CREATE TABLE IF NOT EXISTS request_savings (
                request_id TEXT NOT NULL,
                optimizer TEXT NOT NULL,
                tokens BIGINT NOT NULL,
                usd DOUBLE PRECISION,
                PRIMARY KEY (request_id, optimizer)
            )""",
        ],
    ),
    (
        2,
        "the router's feature row, so cascade outcomes can train the learned router",
        ["ALTER TABLE requests ADD COLUMN router_features TEXT"],
    ),
]


def migrate(conn: Connection) -> list[int]:
    """Apply what is missing; returns the versions applied now."""
    applied_now: list[int] = []
    with conn.transaction() as cur:
        if conn.engine == "postgresql":
            cur.execute(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
        else:
            cur.execute("BEGIN IMMEDIATE")  # the file's write lock, held until commit
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
        )
        cur.execute("SELECT version FROM schema_migrations")
        done = {int(r[0]) for r in cur.fetchall()}
        for version, name, statements in MIGRATIONS:
            if version in done:
                continue
            for sql in statements:
                cur.execute(sql)
            cur.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, time.time()),
            )
            applied_now.append(version)
    return applied_now


def current_version(conn: Connection) -> int:
    rows = conn.query("SELECT MAX(version) FROM schema_migrations")
    return int(rows[0][0] or 0)
