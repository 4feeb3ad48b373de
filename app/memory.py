"""Hands the heap freed after a burst of big requests back to the operating system.

A burst of concurrent 50k-token agent requests grows the C heap by tens of megabytes (request
bodies, decoded JSON, the answers), spread over glibc's main arena and the arenas of the worker
threads that build records. When the burst is over Python frees all of it, but glibc returns to
the kernel only what sits at the top of each heap: the rest stays resident until the process
ends. ``malloc_trim(0)`` releases every free page of every arena.

The trimmer counts finished requests (an after-hook, one increment per request) and looks every
``memory.trim_interval``: when requests finished since the last trim and none finished during
the last interval, the gateway has gone quiet after load and it trims once. A trim of a few
hundred freed megabytes takes ~20 ms (mostly the kernel unmapping pages), so it runs in a worker
thread, not on the event loop. glibc only: elsewhere (musl, macOS) there is no ``malloc_trim``
and no task.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import sys
import time
from collections.abc import Callable

from app.background import cancel_and_wait
from app.pipeline import Finished

log = logging.getLogger("frugal.memory")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def find_malloc_trim() -> Callable[[], int] | None:
    """glibc's ``malloc_trim(0)``, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None).malloc_trim  # the symbols already loaded: the process's libc
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return lambda: int(fn(0))


def resident_bytes() -> int:
    """This process's resident set size (one small read of ``/proc/self/statm``)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


class MemoryTrimmer:
    """An after-hook counting finished requests, and the task that trims when they stop."""

    def __init__(
        self,
        trim: Callable[[], int],
        interval: float,
        *,
        rss: Callable[[], int] = resident_bytes,
        on_trim: Callable[[int], None] | None = None,
    ) -> None:
        self.interval = interval
        self.finished = 0
        self.trims = 0
        self.released_bytes = 0
        self._trim = trim
        self._rss = rss
        self._on_trim = on_trim
        self._seen = 0  # ``finished`` at the previous look
        self._trimmed = 0  # ``finished`` at the last trim
        self._task: asyncio.Task[None] | None = None

    def after(self, done: Finished) -> None:
        self.finished += 1

    def due(self) -> bool:
        """One look: True when requests finished since the last trim but none since the
        previous look (the caller then trims)."""
        n = self.finished
        if n != self._seen:  # still busy: the heap is being reused, trimming would only churn
            self._seen = n
            return False
        if n == self._trimmed:
            return False
        self._trimmed = n
        return True

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def aclose(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.due():
                try:
                    await asyncio.to_thread(self.trim_now)
                except Exception:  # memory not handed back is no reason to stop serving
                    log.exception("malloc_trim failed")

    def trim_now(self) -> int:
        """Trim once; returns the bytes of resident memory released (0 when RSS grew)."""
        before = self._rss()
        started = time.perf_counter()
        self._trim()
        took = time.perf_counter() - started
        released = max(0, before - self._rss())
        self.trims += 1
        self.released_bytes += released
        if self._on_trim is not None:
            self._on_trim(released)
        log.debug("malloc_trim released %.1f MB in %.1f ms", released / 2**20, took * 1000)
        return released
