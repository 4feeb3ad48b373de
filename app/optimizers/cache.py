"""Stage 1, the response cache: an identical request answered before is answered again from the
cache, with no provider call (SPEC §6).

The key is a SHA-256 of the project and the canonical request after the skill and before the
optimizers (so it does not change when an optimizer does), without the fields that do not change
the answer: the inbound style, ``stream`` and ``stream_usage``. One entry therefore serves a
streaming and a non-streaming client of any style; the gateway replays it as a stream when the
client asked for one.

Only complete, successful answers are stored (a natural end, a tool call or a stop sequence —
never an answer cut at ``max_tokens``, an error, or a stream the client left half-way), by an
after-hook once the answer is complete, off the request path. ``X-Gateway-Cache: bypass``
neither reads nor writes; ``refresh`` skips the read and stores the new answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

import msgspec

from app.canonical import Message, Request, Response
from app.memo import IdentityMemo
from app.optimizers.cache_store import CacheStore, MemoryStore
from app.pipeline import Finished, RequestContext
from app.styles.ids import nonce

log = logging.getLogger("frugal.cache")

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Response)
CACHEABLE_STOPS = frozenset({"end_turn", "tool_use", "stop_sequence"})


def cache_key(req: Request, project: str) -> str:
    """The project, the request without its messages, then one digest per message (fixed
    length, so the sequence is unambiguous)."""
    neutral = msgspec.structs.replace(req, messages=[], stream=False, stream_usage=False, style="openai-chat")
    h = hashlib.sha256(project.encode())
    h.update(b"\0")
    h.update(_encoder.encode(neutral))
    for m in req.messages:
        h.update(_message_digest(m))
    return h.hexdigest()


# a digest per message object: a conversation's history is hashed once, not on every turn
_DIGESTS: IdentityMemo[bytes] = IdentityMemo()


def _message_digest(m: Message) -> bytes:
    digest = _DIGESTS.get(m)
    if digest is None:
        digest = hashlib.sha256(_encoder.encode(m)).digest()
        _DIGESTS.put(m, digest)
    return digest


class ResponseCacheLookup:
    name = "cache"

    def __init__(self, store: CacheStore) -> None:
        self.store = store

    async def apply(self, req: Request, ctx: RequestContext) -> Request | Response:
        if ctx.cache_mode == "bypass":
            ctx.cache = "BYPASS"
            return req
        key = cache_key(req, ctx.project.name)
        if ctx.cache_mode == "refresh":
            ctx.cache, ctx.cache_key = "MISS", key
            return req
        found, raw = await self.store.get(key)
        if found == "unavailable":
            ctx.cache = "BYPASS"  # Redis is down: answer without it, store nothing
            ctx.decide("cache", "store unavailable")
            return req
        ctx.cache_key = key
        if found == "miss" or raw is None:
            ctx.cache = "MISS"
            return req
        try:
            cached = _decoder.decode(raw)
        except msgspec.DecodeError:
            log.warning("unreadable response-cache entry %s… ignored", key[:12])
            ctx.cache = "MISS"
            return req
        ctx.cache = "HIT"
        ctx.provider = "cache"
        ctx.model = cached.model
        # a fresh id per answer (clients key their own state on it); the content is the cached one
        return msgspec.structs.replace(cached, id=f"cached_{nonce()}")


class ResponseCacheStore:
    """After-hook: stores a complete answer under the key the lookup computed."""

    def __init__(self, store: CacheStore, ttl: float, max_entry_bytes: int) -> None:
        self.store = store
        self.ttl = ttl
        self.max_entry_bytes = max_entry_bytes
        self._writing: set[asyncio.Task[None]] = set()

    def after(self, done: Finished) -> None:
        ctx, resp = done.ctx, done.response
        if ctx.cache_key is None or ctx.cache == "HIT" or resp is None or ctx.status != 200:
            return
        if resp.stop_reason not in CACHEABLE_STOPS or not resp.content:
            return
        value = _encoder.encode(resp)
        if len(value) > self.max_entry_bytes:
            ctx.decide("cache", "entry too large to store")
            return
        if isinstance(self.store, MemoryStore):  # no I/O: a task per answer cost more than the put
            self.store.put_now(ctx.cache_key, value, self.ttl)
            return
        task = asyncio.get_running_loop().create_task(self.store.put(ctx.cache_key, value, self.ttl))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def drain(self) -> None:
        if self._writing:
            await asyncio.wait(list(self._writing), timeout=5.0)
