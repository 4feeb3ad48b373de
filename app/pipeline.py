"""The pieces the request pipeline is made of (SPEC §2), and the one context every stage writes.

A ``Stage`` changes or answers a canonical request. Stages are built once at start-up with what
they need (stores, clients, settings) and listed in SPEC order; switching one off in config leaves
it out of the list, never an ``if`` inside it. ``apply`` is async for every stage, so a stage that
does I/O (the response cache) looks like one that does not. It returns:

* the request unchanged — the *same object*, so the client's bytes can still pass through;
* a new request (``msgspec.structs.replace``; never mutate the one given) — the gateway then
  encodes the new one for the provider;
* a ``Response`` that ends the pipeline (a cache hit, an answer the cascade accepted).

What a stage saved or decided goes on the ``RequestContext``: ``ctx.saved(optimizer, removed,
added)`` for tokens not sent, ``ctx.decide(key, value)`` for decisions worth a log field. After the
answer is complete the gateway turns the context into one ``RequestRecord``
(``app.observability.record``) that the metrics, the usage store, the access log and the admin
page all read; ``AfterHook``s receive it and must not block (they enqueue, increment, or schedule).

Prefix stability (why stages must be deterministic): provider prompt caches hit only on a
byte-identical prefix, so whatever a stage does to message k must depend on messages 0..k alone,
so that turn N's optimized prefix comes out byte for byte the same inside turn N+1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from app.auth import Project
from app.canonical import Request, Response, Style, Usage
from app.routing.model_names import Resolution

if TYPE_CHECKING:
    from app.observability.record import RequestRecord

CacheMode = Literal["use", "bypass", "refresh"]


@dataclass(slots=True)
class Attempt:
    """One provider step tried for this request, for logs, metrics, costs and 502 bodies.

    ``usage`` is set when the attempt was billed (it answered, or it was an internal call such as
    the cascade's cheap try); ``kind`` says what the call was for."""

    provider: str
    model: str
    outcome: str  # ok | error reason
    seconds: float
    usage: Usage | None = None
    kind: str = "answer"  # answer | cascade-cheap | hedge-loser | conflict-retry
    started: float = 0.0  # perf_counter when the call began (0: not started)


@dataclass(slots=True)
class Saving:
    """What one optimizer saved on this request.

    Stages record the text they removed and the text they put in its place; the record builder
    counts both with the provider model's tokenizer off the request path (a 40 kB file body costs
    ~5 ms to count). ``tokens`` holds counts already known (a cache hit's usage)."""

    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    tokens: int = 0
    usd: float | None = None  # known directly (a cache hit, prompt-cache discounts); else priced


@dataclass(slots=True)
class CascadeOutcome:
    outcome: Literal["accepted", "escalated"]
    failed_checks: list[str] = field(default_factory=list)
    cheap_model: str | None = None
    cheap_cost_usd: float | None = None


@dataclass(slots=True)
class RequestContext:
    request_id: str
    style: Style
    project: Project
    started: float = field(default_factory=time.perf_counter)
    wall_started: float = field(default_factory=time.time)
    resolution: Resolution | None = None
    provider: str | None = None  # who answered
    provider_style: Style | None = None  # the API style it answered in
    model: str | None = None  # the upstream model that answered, as it named itself
    step_model: str | None = None  # the model the gateway asked for (bounded: metric labels)
    cache: str = "BYPASS"  # HIT | MISS | BYPASS
    cache_mode: CacheMode = "use"  # X-Gateway-Cache
    cache_key: str | None = None  # set by the cache lookup, used by the cache store
    skill: str | None = None  # X-Gateway-Skill as sent
    client_headers: dict[str, str] = field(default_factory=dict)  # for calls a stage makes itself
    rate_remaining: int | None = None
    attempts: list[Attempt] = field(default_factory=list)
    savings: dict[str, Saving] = field(default_factory=dict)  # optimizer -> what it saved
    decisions: dict[str, str] = field(default_factory=dict)  # stage -> what it decided, for logs
    notes: list[str] = field(default_factory=list)  # e.g. conflict resolution applied
    tier_reason: str | None = None
    scenario: str | None = None
    router_score: float | None = None
    router_features: list[float] | None = None  # the row the router scored (training data)
    cascade: CascadeOutcome | None = None
    usage: Usage | None = None
    status: int = 200
    error: str | None = None  # short reason of a failed request (never a key)
    stream: bool = False
    first_byte: float | None = None  # perf_counter when the first byte reached the client
    traceparent: str | None = None  # the client's W3C trace context, parent of the request span
    fingerprint: str | None = None  # the conversation's loop-guard fingerprint

    ended: float | None = None  # perf_counter when the answer was complete

    def elapsed(self) -> float:
        return (self.ended or time.perf_counter()) - self.started

    def saved(self, optimizer: str, removed: str, added: str = "") -> None:
        """``optimizer`` replaced ``removed`` by ``added`` in the request sent upstream."""
        s = self.savings.get(optimizer)
        if s is None:
            s = self.savings[optimizer] = Saving()
        s.removed.append(removed)
        if added:
            s.added.append(added)

    def saved_tokens(self, optimizer: str, tokens: int, usd: float | None = None) -> None:
        """``optimizer`` saved a known number of tokens (and dollars, when it knows them)."""
        s = self.savings.get(optimizer)
        if s is None:
            s = self.savings[optimizer] = Saving()
        s.tokens += tokens
        if usd is not None:
            s.usd = (s.usd or 0.0) + usd

    def decide(self, stage: str, what: str) -> None:
        self.decisions[stage] = what


class Stage(Protocol):
    """One step of the pipeline between decode and provider call."""

    name: str

    async def apply(self, req: Request, ctx: RequestContext) -> Request | Response: ...


@dataclass(slots=True)
class Finished:
    """A request that is over, as the after-hooks see it.

    ``request`` is what went upstream (after the stages), ``original`` what the client asked
    (after the skill, before the optimizers: the response cache's key), ``response`` the answer
    (None when the request failed)."""

    request: Request | None
    original: Request | None
    response: Response | None
    ctx: RequestContext
    record: RequestRecord


class AfterHook(Protocol):
    """Runs once per request after the answer is complete; must not block or raise."""

    def after(self, done: Finished) -> None: ...
