"""Writes usage rows off the request path: an after-hook puts each finished request's record in
a bounded queue; one thread per process inserts them in batches.

A database outage never fails or slows a request: the hook only ever does ``put_nowait``. While
the database is down the writer keeps the batch it holds and retries with backoff (0.5 s doubling
to 10 s); records keep queueing meanwhile and arrive once it is back. When the queue is full a
record is dropped, counted in ``gateway_usage_dropped_total`` and logged once per outage. The
outage itself is logged once and counted in ``gateway_degraded_total{component="usage_store"}``.
Inserts are idempotent (``ON CONFLICT DO NOTHING`` on the request id), so a batch retried after a
commit whose acknowledgement was lost is not counted twice — several workers and replicas may
write one PostgreSQL at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from app.observability.record import RequestRecord
from app.observability.usage.database import Connection, DatabaseError
from app.observability.usage.migrations import migrate
from app.observability.usage.rows import INSERT_REQUEST, INSERT_SAVING, request_row, saving_rows
from app.pipeline import Finished

log = logging.getLogger("frugal.usage")
_STOP = object()


class UsageWriter:
    def __init__(
        self,
        url: str,
        *,
        queue_size: int = 10_000,
        batch_size: int = 200,
        flush_interval: float = 0.5,
        on_outage: Callable[[str], None] | None = None,
        on_drop: Callable[[], None] | None = None,
        max_backoff: float = 10.0,
    ) -> None:
        self.url = url
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_backoff = max_backoff
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._on_outage = on_outage
        self._on_drop = on_drop
        self._conn: Connection | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._dropping = False  # a drop was logged in this outage
        self.down_since: float | None = None
        self.last_error: str | None = None
        self.written = 0
        self.dropped = 0

    # ------------------------------------------------------------------ request path

    def after(self, done: Finished) -> None:
        self.submit(done.record)

    def submit(self, record: RequestRecord) -> None:
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            if self._on_drop is not None:
                self._on_drop()
            if not self._dropping:
                self._dropping = True
                log.error(
                    "usage buffer full (%d rows): dropping usage rows until the database catches up",
                    self._queue.maxsize,
                )

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    @property
    def healthy(self) -> bool:
        return self.down_since is None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="usage-writer", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Flush what is queued (up to ``timeout``) and stop."""
        if self._thread is None:
            return
        self._stopping.set()
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ------------------------------------------------------------------ the writer thread

    def _run(self) -> None:
        batch: list[RequestRecord] = []
        stop = False
        backoff = 0.5
        give_up_at: float | None = None
        while True:
            if not stop:
                stop = self._fill(batch)
            if not batch:
                if stop:
                    return
                continue
            try:
                self._write(batch)
            except DatabaseError as exc:
                self._outage(exc)
                if self._stopping.is_set():
                    # shutting down with the database away: keep trying briefly, then say what is lost
                    give_up_at = give_up_at or time.monotonic() + 5.0
                    if time.monotonic() >= give_up_at:
                        left = len(batch) + self.pending
                        log.error("usage writer stopped with %d rows unwritten: %s", left, exc)
                        return
                    time.sleep(0.5)
                else:
                    self._stopping.wait(backoff)
                    backoff = min(self.max_backoff, backoff * 2)
                continue
            backoff = 0.5
            self.written += len(batch)
            batch.clear()
            self._recovered()

    def _fill(self, batch: list[RequestRecord]) -> bool:
        """Add queued records to ``batch`` (waiting up to ``flush_interval`` for the first one);
        True when the stop marker was reached."""
        try:
            item = self._queue.get(timeout=self.flush_interval)
        except queue.Empty:
            return False
        while True:
            if item is _STOP:
                return True
            assert isinstance(item, RequestRecord)
            batch.append(item)
            if len(batch) >= self.batch_size:
                return False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False

    def _write(self, batch: list[RequestRecord]) -> None:
        if self._conn is None:
            conn = Connection(self.url)
            try:
                migrate(conn)
            except DatabaseError:
                conn.close()
                raise
            self._conn = conn
        try:
            with self._conn.transaction() as cur:
                cur.executemany(INSERT_REQUEST, [request_row(r) for r in batch])
                savings = [row for r in batch for row in saving_rows(r)]
                if savings:
                    cur.executemany(INSERT_SAVING, savings)
        except DatabaseError:
            self._conn.close()
            self._conn = None  # reconnect next time: the server may have restarted
            raise

    def _outage(self, exc: DatabaseError) -> None:
        self.last_error = str(exc)
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning("usage database unreachable (%s): rows are buffered until it is back", exc)
            if self._on_outage is not None:
                self._on_outage("usage_store")

    def _recovered(self) -> None:
        if self.down_since is not None:
            log.warning(
                "usage database is back after %.1fs; %d rows pending",
                time.monotonic() - self.down_since,
                self.pending,
            )
            self.down_since = None
            self.last_error = None
        self._dropping = False
