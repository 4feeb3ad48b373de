"""The response cache's key, lookup modes, what it stores, and both stores (Redis: the
machine's service and a throwaway server stopped mid-test)."""

from __future__ import annotations

import asyncio
import uuid

import msgspec
import pytest

from app.auth import Project
from app.canonical import Message, Request, Response, TextPart, Usage
from app.observability.record import RequestRecord
from app.optimizers.cache import ResponseCacheLookup, ResponseCacheStore, cache_key
from app.optimizers.cache_store import ENTRY_OVERHEAD, MemoryStore, RedisStore, entry_cost
from app.pipeline import Finished, RequestContext
from app.reliability.redis_link import RedisLink
from tests.support.redis_server import ThrowawayRedis, service_url


def _req(text: str = "hello", **kw: object) -> Request:
    return Request(model="m", messages=[Message("user", [TextPart(text)])], style="openai-chat", **kw)  # type: ignore[arg-type]


def _ctx(project: str = "p", mode: str = "use") -> RequestContext:
    ctx = RequestContext("r", "openai-chat", Project(project))
    ctx.cache_mode = mode  # type: ignore[assignment]
    return ctx


def _resp(text: str = "answer", stop: str = "end_turn") -> Response:
    return Response(id="x", model="m", content=[TextPart(text)], stop_reason=stop, usage=Usage(10, 5))  # type: ignore[arg-type]


def _finish(ctx: RequestContext, resp: Response | None) -> Finished:
    record = RequestRecord(request_id="r", ts=0.0, project=ctx.project.name, style="openai-chat")
    return Finished(None, None, resp, ctx, record)


def test_the_key_ignores_style_and_streaming_but_not_content_or_project() -> None:
    base = cache_key(_req(), "p")
    assert cache_key(_req(stream=True, stream_usage=True), "p") == base
    assert cache_key(msgspec.structs.replace(_req(), style="anthropic-messages"), "p") == base
    assert cache_key(_req("hello!"), "p") != base
    assert cache_key(_req(temperature=0.5), "p") != base
    assert cache_key(_req(), "q") != base


async def test_memory_store_bounds_bytes_and_expires() -> None:
    now = [0.0]
    each = entry_cost("a", b"x" * 40)  # 40 answer bytes, the key, the bookkeeping
    assert each == 40 + 1 + ENTRY_OVERHEAD
    store = MemoryStore(max_bytes=2 * each + 10, clock=lambda: now[0])
    await store.put("a", b"x" * 40, ttl=10)
    await store.put("b", b"y" * 40, ttl=10)
    assert (await store.get("a"))[0] == "hit"  # a is now the most recently used
    await store.put("c", b"z" * 40, ttl=10)  # over the bound: the least recently used (b) goes
    assert (await store.get("b"))[0] == "miss"
    assert (await store.get("a"))[0] == "hit" and store.size_bytes == 2 * each
    await store.put("huge", b"h" * (2 * each), ttl=10)  # bigger than the whole store: not kept
    assert (await store.get("huge"))[0] == "miss"
    now[0] = 11
    assert (await store.get("a")) == ("miss", None) and len(store) == 1


async def test_the_bound_holds_the_memory_it_says() -> None:
    """Many small answers: what the store holds in memory stays near its bound (the bound once
    counted answer bytes only, and 64 MB of small answers cost ~380 MB)."""
    import tracemalloc

    bound = 2_000_000
    tracemalloc.start()
    try:
        store = MemoryStore(bound)
        before = tracemalloc.get_traced_memory()[0]
        for i in range(40_000):
            await store.put(f"{i:064x}", b'{"choices":[{"message":{"content":"ok %d"}}]}' % i, ttl=60)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert store.size_bytes <= bound and len(store) < 40_000
    assert held < 1.25 * bound, held


async def _round_trip(store: MemoryStore | RedisStore) -> None:
    lookup, writer = ResponseCacheLookup(store), ResponseCacheStore(store, ttl=60, max_entry_bytes=10_000)
    req = _req(f"q {uuid.uuid4().hex}")
    ctx = _ctx()
    assert await lookup.apply(req, ctx) is req and ctx.cache == "MISS" and ctx.cache_key
    writer.after(_finish(ctx, _resp()))
    await writer.drain()
    hit_ctx = _ctx()
    hit = await lookup.apply(req, hit_ctx)
    assert isinstance(hit, Response) and hit_ctx.cache == "HIT" and hit_ctx.provider == "cache"
    assert hit.content == [TextPart("answer")] and hit.usage == Usage(10, 5) and hit.id != "x"


async def test_lookup_and_store_in_memory() -> None:
    await _round_trip(MemoryStore(1 << 20))


async def test_lookup_and_store_in_redis() -> None:
    link = RedisLink(service_url())
    try:
        await _round_trip(RedisStore(link))
    finally:
        await link.aclose()


async def test_bypass_reads_nothing_and_refresh_skips_the_read() -> None:
    store = MemoryStore(1 << 20)
    lookup = ResponseCacheLookup(store)
    req = _req()
    await store.put(cache_key(req, "p"), msgspec.json.encode(_resp()), 60)
    bypass = _ctx(mode="bypass")
    assert await lookup.apply(req, bypass) is req and bypass.cache == "BYPASS" and bypass.cache_key is None
    refresh = _ctx(mode="refresh")
    assert await lookup.apply(req, refresh) is req and refresh.cache == "MISS" and refresh.cache_key


@pytest.mark.parametrize(
    ("resp", "status", "stored"),
    [
        (_resp(), 200, True),
        (_resp(stop="tool_use"), 200, True),
        (_resp(stop="max_tokens"), 200, False),  # cut short: asking again may do better
        (Response(id="x", model="m", content=[]), 200, False),
        (None, 502, False),  # failed
        (_resp("x" * 5000), 200, False),  # over max_entry_bytes
    ],
)
async def test_only_complete_successful_answers_are_stored(
    resp: Response | None, status: int, stored: bool
) -> None:
    store = MemoryStore(1 << 20)
    writer = ResponseCacheStore(store, ttl=60, max_entry_bytes=2000)
    ctx = _ctx()
    ctx.cache_key, ctx.cache, ctx.status = "k", "MISS", status
    writer.after(_finish(ctx, resp))
    await writer.drain()
    assert (len(store) == 1) is stored


async def test_redis_down_means_bypass_and_caching_resumes() -> None:
    server = ThrowawayRedis().start()
    link = RedisLink(server.url, retry_after=0.2)
    try:
        store = RedisStore(link)
        lookup = ResponseCacheLookup(store)
        assert (await store.get("k"))[0] == "miss"
        server.stop()
        ctx = _ctx()
        assert await lookup.apply(_req(), ctx) is not None and ctx.cache == "BYPASS" and ctx.cache_key is None
        await store.put("k", b"v", 60)  # silently nothing
        server.start()
        await asyncio.sleep(0.3)
        await store.put("k", b"v", 60)
        assert await store.get("k") == ("hit", b"v")
    finally:
        await link.aclose()
        server.close()
