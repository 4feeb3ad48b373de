"""The usage store on SQLite and on PostgreSQL (the machine's service, a fresh database per
test): migrations, rows, aggregates with hand-computed figures, restarts, concurrent writers,
and a PostgreSQL outage in the middle of traffic that loses no row."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.observability.record import OptimizerSaving, RequestRecord
from app.observability.usage.database import Connection, DatabaseError, engine_of, sqlite_path
from app.observability.usage.migrations import MIGRATIONS, current_version, migrate
from app.observability.usage.queries import UsageFilter, parse_instant, recent_requests, usage_summary
from app.observability.usage.rows import MAX_ROWS_PER_STATEMENT, statements
from app.observability.usage.writer import UsageWriter
from tests.support.postgres_server import ThrowawayPostgres, fresh_database

DAY1 = parse_instant("2026-11-30T10:00:00Z")
DAY2 = parse_instant("2026-12-01T23:30:00Z")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "usage.db")
    else:
        with fresh_database() as pg:
            yield pg


def _record(project: str = "team-a", **kw: object) -> RequestRecord:
    base: dict[str, object] = {
        "request_id": uuid.uuid4().hex, "ts": DAY1, "project": project, "style": "openai-chat",
        "provider": "anthropic", "model": "claude-sonnet-4-5", "input_tokens": 1000, "output_tokens": 200,
        "cost_usd": 0.006, "latency_s": 0.5,
    }  # fmt: skip
    base.update(kw)
    return RequestRecord(**base)  # type: ignore[arg-type]


def _write(url: str, records: list[RequestRecord]) -> None:
    writer = UsageWriter(url, flush_interval=0.05)
    writer.start()
    for r in records:
        writer.submit(r)
    writer.close()
    assert writer.written == len(records)


def test_urls_and_engines() -> None:
    assert engine_of("postgresql://u@h/db") == "postgresql" and engine_of("postgres://h/db") == "postgresql"
    assert engine_of("usage.db") == "sqlite" and engine_of("sqlite:///x.db") == "sqlite"
    assert (
        sqlite_path("sqlite:///data/x.db") == "data/x.db"
        and sqlite_path("sqlite:////abs/x.db") == "/abs/x.db"
    )
    with pytest.raises(ValueError, match="mysql"):
        engine_of("mysql://h/db")


def test_migrations_apply_once_and_record_their_version(url: str) -> None:
    conn = Connection(url)
    try:
        assert migrate(conn) == [v for v, _, _ in MIGRATIONS]
        assert migrate(conn) == []  # a restart, another worker: nothing to do
        assert current_version(conn) == MIGRATIONS[-1][0]
    finally:
        conn.close()


def test_concurrent_starts_migrate_once(url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            conn = Connection(url)
            try:
                migrate(conn)
            finally:
                conn.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]  # 4 failed ~1 run in 12 before WAL retries
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    conn = Connection(url)
    try:
        assert conn.query("SELECT COUNT(*) FROM schema_migrations")[0][0] == len(MIGRATIONS)
    finally:
        conn.close()


def test_aggregates_match_hand_computed_figures(url: str) -> None:
    records = [
        _record(
            input_tokens=1000, output_tokens=200, cache_read_tokens=5000, cost_usd=0.0075,
            saved_tokens=300, saved_usd=0.0009, savings={"dedup": OptimizerSaving(300, 0.0009)},
        ),
        _record(ts=DAY2, input_tokens=500, output_tokens=100, cost_usd=0.003),
        _record(project="team-b", provider="openai", model="gpt-5", status=502, input_tokens=0, output_tokens=0,
                cost_usd=0.0),
        _record(project="team-b", model="mystery-model", cost_usd=None),  # unknown price
        _record(cache="HIT", provider="cache", input_tokens=800, output_tokens=50, cost_usd=0.0, saved_tokens=850,
                saved_usd=0.00315, savings={"cache": OptimizerSaving(850, 0.00315)}),
    ]  # fmt: skip
    _write(url, records)
    conn = Connection(url)
    try:
        everything = usage_summary(conn, UsageFilter())
        t = everything["totals"]
        assert t["requests"] == 5 and t["errors"] == 1 and t["unpriced_requests"] == 1
        assert t["input_tokens"] == 1000 + 500 + 0 + 1000 + 800 and t["output_tokens"] == 200 + 100 + 200 + 50
        assert t["cache_read_tokens"] == 5000
        assert t["cost_usd"] == pytest.approx(0.0075 + 0.003)
        assert t["saved_tokens"] == 1150 and t["saved_usd"] == pytest.approx(0.00405)
        by_project = {r["project"]: r for r in everything["by_project"]}
        assert by_project["team-a"]["requests"] == 3 and by_project["team-b"]["errors"] == 1
        assert [r["day"] for r in everything["by_day"]] == ["2026-11-30", "2026-12-01"]
        assert {r["model"] for r in everything["by_model"]} == {"claude-sonnet-4-5", "gpt-5", "mystery-model"}
        assert {r["optimizer"]: r["saved_tokens"] for r in everything["savings_by_optimizer"]} == {
            "cache": 850, "dedup": 300,
        }  # fmt: skip
        only_a = usage_summary(conn, UsageFilter(project="team-a"))["totals"]
        assert only_a["requests"] == 3
        window = UsageFilter(since=parse_instant("2026-12-01"), until=parse_instant("2026-12-01", end=True))
        assert usage_summary(conn, window)["totals"]["requests"] == 1
    finally:
        conn.close()


def test_routing_mix_cascade_and_recent_requests(url: str) -> None:
    records = [
        _record(ts=DAY1, tier="cheap", scenario="default", cascade="accepted", cost_usd=0.001),
        _record(ts=DAY1 + 1, tier="cheap", scenario="default", cascade="escalated", cost_usd=0.004),
        _record(ts=DAY1 + 2, tier="strong", scenario="long_context", cost_usd=0.01),
        _record(
            ts=DAY1 + 3, project="team-b", requested_model="<b>gpt</b>", status=429, error="rate_limited"
        ),
    ]
    _write(url, records)
    conn = Connection(url)
    try:
        summary = usage_summary(conn, UsageFilter())
        assert [(r["tier"], r["requests"]) for r in summary["by_tier"]] == [
            (None, 1),
            ("cheap", 2),
            ("strong", 1),
        ]
        assert {r["scenario"]: r["requests"] for r in summary["by_scenario"]} == {
            None: 1, "default": 2, "long_context": 1,
        }  # fmt: skip
        cascade = {r["cascade"]: r for r in summary["by_cascade"]}
        assert set(cascade) == {"accepted", "escalated"} and cascade["escalated"][
            "cost_usd"
        ] == pytest.approx(0.004)
        assert usage_summary(conn, UsageFilter(project="team-b"))["by_cascade"] == []
        recent = recent_requests(conn, UsageFilter(), limit=3)
        assert [r["ts"] for r in recent] == [DAY1 + 3, DAY1 + 2, DAY1 + 1]  # newest first, bounded
        assert recent[0]["requested_model"] == "<b>gpt</b>" and recent[0]["status"] == 429
        assert "body" not in recent[0] and "messages" not in recent[0]
        only_b = recent_requests(conn, UsageFilter(project="team-b"))
        assert [r["project"] for r in only_b] == ["team-b"]
    finally:
        conn.close()


def test_rows_survive_a_restart_and_duplicates_are_ignored(url: str) -> None:
    first = _record()
    _write(url, [first, _record()])
    _write(url, [first, _record()])  # a batch retried after a lost acknowledgement: no double count
    conn = Connection(url)
    try:
        assert usage_summary(conn, UsageFilter())["totals"]["requests"] == 3
    finally:
        conn.close()


def test_statements_cover_every_row_with_few_distinct_shapes() -> None:
    shapes: set[str] = set()
    for n in range(1, 700):
        rows = [(i, "x", None) for i in range(n)]
        parts = list(statements(rows, lambda k: f"rows:{k}", max_params=999))
        assert [v for _, params in parts for v in params] == [v for r in rows for v in r]
        for sql, params in parts:
            k = int(sql.split(":")[1])
            assert k & (k - 1) == 0 and k <= MAX_ROWS_PER_STATEMENT and len(params) == 3 * k <= 999
            shapes.add(sql)
    assert len(shapes) <= MAX_ROWS_PER_STATEMENT.bit_length()  # 1, 2, 4, ... 256
    old_sqlite = list(statements([(1,) * 33] * 100, str, max_params=999))
    assert max(int(sql) for sql, _ in old_sqlite) == 16  # 33 columns: 30 rows fit, 16 is the power of two


def test_a_batch_spans_several_statements_exactly(url: str) -> None:
    n = MAX_ROWS_PER_STATEMENT * 2 + 7  # three statements, the last one short
    records = [
        _record(savings={"dedup": OptimizerSaving(10 + i, 0.001)}, saved_tokens=10 + i)
        if i % 2
        else _record()
        for i in range(n)
    ]
    writer = UsageWriter(url, flush_interval=0.05, batch_size=n + 5)
    writer.start()
    for r in [*records, records[0], records[-1]]:  # two repeated ids inside one batch: skipped
        writer.submit(r)
    writer.close()
    conn = Connection(url)
    try:
        totals = usage_summary(conn, UsageFilter())["totals"]
        assert totals["requests"] == n
        assert totals["saved_tokens"] == sum(10 + i for i in range(n) if i % 2)
        ids = {row[0] for row in conn.query("SELECT request_id FROM requests")}
        assert ids == {r.request_id for r in records}
    finally:
        conn.close()


def test_the_writer_keeps_up_while_the_event_loop_thread_is_busy(tmp_path: Path) -> None:
    """A thread busy with Python work holds the GIL between its switch intervals: the writer must
    still drain a row per ~100 µs of that work (the gateway's fastest answer, a cache hit, takes
    ~150 µs of CPU). With a statement per row it wrote ~1,500 rows a
    second against it, and the gateway dropped rows at ~5,000 cache hits a second."""
    records = [_record() for _ in range(32_000)]  # made up front: only the submits are timed
    writer = UsageWriter(str(tmp_path / "u.db"))  # the defaults: 10,000 rows queued at most
    writer.start()
    deadline = time.monotonic() + 3.0
    sent = 0
    while time.monotonic() < deadline and sent < len(records):
        writer.submit(records[sent])
        sent += 1
        t = time.perf_counter() + 100e-6
        while time.perf_counter() < t:
            pass
    behind = writer.pending
    writer.close()
    print(f"\n{sent} rows submitted in 3 s, {behind} still queued at the end, {writer.dropped} dropped")
    assert writer.dropped == 0 and writer.written == sent
    assert behind < 5_000  # keeping up, not merely inside the queue's bound


def test_several_writers_at_once(url: str) -> None:
    writers = [UsageWriter(url, flush_interval=0.02, batch_size=10) for _ in range(3)]
    for w in writers:
        w.start()
    for i in range(300):
        writers[i % 3].submit(_record(project=f"p{i % 4}"))
    for w in writers:
        w.close()
    conn = Connection(url)
    try:
        assert usage_summary(conn, UsageFilter())["totals"]["requests"] == 300
    finally:
        conn.close()


def test_a_full_buffer_drops_counts_and_logs_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dropped: list[int] = []
    writer = UsageWriter(str(tmp_path / "u.db"), queue_size=5, on_drop=lambda: dropped.append(1))
    for _ in range(8):  # not started: nothing drains the queue
        writer.submit(_record())
    assert len(dropped) == 3 and writer.dropped == 3 and writer.pending == 5
    assert sum("usage buffer full" in r.message for r in caplog.records) == 1
    writer.start()
    writer.close()
    assert writer.written == 5


def test_an_unreachable_database_is_a_database_error() -> None:
    with pytest.raises(DatabaseError, match="cannot connect") as err:
        Connection("postgresql://postgres:hunter2@127.0.0.1:1/none", connect_timeout=1)
    assert "hunter2" not in str(err.value)


def test_a_postgres_outage_mid_traffic_loses_no_row() -> None:
    server = ThrowawayPostgres().start()
    outages: list[str] = []
    writer = UsageWriter(server.url, flush_interval=0.05, batch_size=20, max_backoff=0.5,
                         on_outage=outages.append)  # fmt: skip
    writer.start()
    try:
        ids = []
        for phase in ("before", "during", "after"):
            if phase == "during":
                server.stop()
            if phase == "after":
                server.start()
            for _ in range(50):
                r = _record(project=phase)
                ids.append(r.request_id)
                started = time.perf_counter()
                writer.submit(r)
                assert time.perf_counter() - started < 0.01  # never waits on the database
                time.sleep(0.005)
            if phase == "during":
                time.sleep(1.0)
                assert not writer.healthy and outages == ["usage_store"]
        deadline = time.monotonic() + 20
        while writer.written < 150 and time.monotonic() < deadline:
            time.sleep(0.1)
        print(f"\nPostgreSQL outage: {writer.written}/150 rows written, {writer.dropped} dropped")
        assert writer.written == 150 and writer.healthy and writer.dropped == 0
        conn = Connection(server.url)
        try:
            got = {r[0] for r in conn.query("SELECT request_id FROM requests")}
        finally:
            conn.close()
        assert got == set(ids)
    finally:
        writer.close()
        server.close()


def test_rows_wait_for_the_flush_interval_or_a_full_batch(tmp_path: Path) -> None:
    """No wake-up per row: a few rows are written together once ``flush_interval`` has passed;
    a full batch is written at once."""
    url = str(tmp_path / "u.db")
    writer = UsageWriter(url, flush_interval=30.0, batch_size=10)
    writer.start()
    try:
        for _ in range(3):
            writer.submit(_record())
        time.sleep(0.3)
        assert writer.written == 0 and writer.pending == 3  # waiting: not a row yet
        for _ in range(7):
            writer.submit(_record())  # the tenth fills a batch
        deadline = time.monotonic() + 5
        while writer.written < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert writer.written == 10
    finally:
        writer.close()
