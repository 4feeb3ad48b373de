"""Handing freed heap back to the OS once the gateway goes quiet after load (app/memory.py)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from app.bootstrap import build
from app.config import LoadedConfig, parse
from app.gateway import Inbound
from app.memory import MemoryTrimmer, find_malloc_trim, resident_bytes


class _Trim:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return 1


def _finish(t: MemoryTrimmer, n: int = 1) -> None:
    for _ in range(n):
        t.after(None)  # type: ignore[arg-type]  # the trimmer only counts


def test_trims_once_after_activity_then_quiet() -> None:
    t = MemoryTrimmer(_Trim(), 5.0)
    assert not t.due() and not t.due()  # no request yet: nothing was freed
    _finish(t, 3)
    assert not t.due()  # requests finished during this interval: still busy
    assert t.due()  # one interval with none: quiet after load
    assert not t.due() and not t.due()  # nothing new since that trim


def test_never_trims_while_requests_keep_finishing() -> None:
    t = MemoryTrimmer(_Trim(), 5.0)
    for _ in range(20):
        _finish(t)
        assert not t.due()
    assert t.due()


def test_trim_now_reports_what_it_released() -> None:
    readings = iter([300 << 20, 200 << 20, 100 << 20, 120 << 20])
    released: list[int] = []
    trim = _Trim()
    t = MemoryTrimmer(trim, 5.0, rss=lambda: next(readings), on_trim=released.append)
    assert t.trim_now() == 100 << 20
    assert t.trim_now() == 0  # RSS grew meanwhile (another thread allocating): nothing claimed
    assert released == [100 << 20, 0]
    assert (trim.calls, t.trims, t.released_bytes) == (2, 2, 100 << 20)


async def test_the_task_trims_after_a_burst_not_during_it_and_stops() -> None:
    trim = _Trim()
    t = MemoryTrimmer(trim, 0.03)
    t.start()
    try:
        await asyncio.sleep(0.1)
        assert trim.calls == 0  # no activity, no trim
        for _ in range(15):  # a burst: a request finishes every 10 ms for 150 ms
            _finish(t)
            await asyncio.sleep(0.01)
        assert trim.calls == 0
        for _ in range(100):
            if trim.calls:
                break
            await asyncio.sleep(0.01)
        assert trim.calls == 1
        await asyncio.sleep(0.12)
        assert trim.calls == 1  # quiet since: one trim per burst
    finally:
        await t.aclose()
    _finish(t, 5)
    await asyncio.sleep(0.12)
    assert trim.calls == 1  # stopped


def test_glibc_malloc_trim_is_found_and_callable() -> None:
    trim = find_malloc_trim()
    if trim is None:
        pytest.skip("no glibc malloc_trim here (musl, macOS)")
    garbage: list[Any] = [bytearray(200_000) for _ in range(50)]
    del garbage
    assert trim() in (0, 1)
    assert resident_bytes() > 0


_CONFIG = """
providers: [{name: m, style: mock}]
routes: [{name: r, steps: [{provider: m, model: echo}]}]
usage: {enabled: false}
memory: {trim: %s, trim_interval: 100ms}
"""


async def test_the_runtime_counts_requests_and_starts_and_stops_the_trimmer() -> None:
    if find_malloc_trim() is None:
        pytest.skip("no glibc malloc_trim here (musl, macOS)")
    threshold = gc.get_threshold()
    off = build(parse(_CONFIG % "false", "g.yaml", {}))
    assert off.trimmer is None
    runtime = build(LoadedConfig(parse(_CONFIG % "true", "g.yaml", {}).config, "test"))
    trimmer = runtime.trimmer
    assert trimmer is not None and trimmer in runtime.gateway.after_hooks
    body = b'{"model": "r", "messages": [{"role": "user", "content": "hi"}]}'
    try:
        await runtime.start()
        task = trimmer._task
        assert task is not None and not task.done()
        reply = await runtime.gateway.handle(Inbound("openai-chat", body, {}))
        assert reply.status == 200
        await asyncio.sleep(0)  # the after-hooks run once the answer is on its way
        assert trimmer.finished == 1
        for _ in range(100):  # quiet after one request: glibc's trim runs, the metric counts it
            if trimmer.trims:
                break
            await asyncio.sleep(0.02)
        assert trimmer.trims == 1
        registry = runtime.metrics.registry
        assert registry is not None and registry.get_sample_value("gateway_memory_trims_total") == 1
    finally:
        await runtime.aclose()
        gc.unfreeze()
        gc.set_threshold(*threshold)
    assert trimmer._task is None and task.done()
