"""One thin database layer over SQLite (stdlib ``sqlite3``) and PostgreSQL (``psycopg`` 3), so
the store, the migrations and the aggregate queries are one code path.

Why not an ORM: the store needs five statements, all plain SQL that both engines accept
(``INSERT ... ON CONFLICT DO NOTHING``, ``GROUP BY``, ``COALESCE``); the only dialect difference
that matters is the placeholder (``?`` vs ``%s``), translated here. Connections are blocking and
used from worker threads (the writer thread, ``asyncio.to_thread`` for reads); each thread opens
its own.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

Engine = Literal["sqlite", "postgresql"]
DEFAULT_SQLITE = "frugal-usage.db"


class DatabaseError(Exception):
    """The database could not be reached or refused a statement (either engine)."""


class _Cursor(Protocol):
    def execute(self, sql: Any, params: Any = ...) -> Any: ...
    def executemany(self, sql: Any, params: Any) -> Any: ...
    def fetchall(self) -> list[Any]: ...


def engine_of(url: str) -> Engine:
    scheme = urlsplit(url).scheme if "://" in url else ""
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return "postgresql"
    if scheme in ("", "sqlite"):
        return "sqlite"
    raise ValueError(f"unsupported database URL scheme '{scheme}': use postgresql://... or a SQLite path")


def sqlite_path(url: str) -> str:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db``, a bare path, or empty (default)."""
    if not url:
        return DEFAULT_SQLITE
    if url.startswith("sqlite://"):
        return url.removeprefix("sqlite://").removeprefix("/") or DEFAULT_SQLITE
    return url


class Connection:
    """One open connection, either engine; ``?`` placeholders in every statement."""

    def __init__(self, url: str, connect_timeout: float = 3.0) -> None:
        self.url = url
        self.engine = engine_of(url)
        try:
            if self.engine == "postgresql":
                import psycopg

                self._raw: Any = psycopg.connect(
                    url.replace("postgresql+psycopg://", "postgresql://"),
                    connect_timeout=max(1, round(connect_timeout)),
                    autocommit=False,
                )
            else:
                path = sqlite_path(url)
                if path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                self._raw = sqlite3.connect(path, timeout=10.0, check_same_thread=False)
                self._raw.execute("PRAGMA busy_timeout=10000")
                # several worker processes write one file: WAL lets readers and one writer overlap
                _wal(self._raw)
        except Exception as exc:
            raise DatabaseError(f"cannot connect to the usage database: {_describe(exc)}") from exc

    @property
    def max_params(self) -> int:
        """The most parameters one statement may bind: PostgreSQL's wire protocol counts them in
        16 bits; SQLite allowed 999 before 3.32."""
        if self.engine == "postgresql":
            return 65_535
        return 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.engine == "postgresql" else sql

    @contextmanager
    def transaction(self) -> Iterator[_Cursor]:
        try:
            cur = self._raw.cursor()
            try:
                yield _Translating(cur, self)
                self._raw.commit()
            except BaseException:
                self._raw.rollback()
                raise
            finally:
                cur.close()
        except DatabaseError:
            raise
        except Exception as exc:
            raise DatabaseError(_describe(exc)) from exc

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.transaction() as cur:
            cur.execute(sql, params)
            return [tuple(r) for r in cur.fetchall()]

    def close(self) -> None:
        with suppress(Exception):  # closing a connection to a dead server must not raise
            self._raw.close()


class _Translating:
    def __init__(self, cur: Any, conn: Connection) -> None:
        self._cur = cur
        self._conn = conn

    def execute(self, sql: Any, params: Any = ()) -> Any:
        return self._cur.execute(self._conn._sql(sql), params)

    def executemany(self, sql: Any, params: Any) -> Any:
        return self._cur.executemany(self._conn._sql(sql), params)

    def fetchall(self) -> list[Any]:
        return list(self._cur.fetchall())


def _describe(exc: BaseException) -> str:
    """A one-line reason without the URL (it may hold a password)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text[:200]}"


def _wal(conn: Any) -> None:
    """Switch a SQLite file to WAL. The switch needs the file to itself and SQLite answers
    "database is locked" at once, without its busy wait, while another process or thread is
    starting too: retried for up to 10 s; a file already in WAL needs nothing."""
    deadline = time.monotonic() + 10
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
