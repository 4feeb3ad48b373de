"""The pieces the request pipeline is made of (SPEC §2).

A ``Stage`` changes or answers a canonical request: it returns the request unchanged (the same
object, so passthrough stays possible), a new request, or a ``Response`` that ends the pipeline
(a cache hit). Stages are built once at start-up with what they need and listed in SPEC order;
switching one off in config leaves it out of the list. Each records what it saved on the
``RequestContext``. ``AfterHook``s run once the answer is complete (metrics, usage, cache store)
and must not delay the client.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from app.auth import Project
from app.canonical import Request, Response, Style, Usage
from app.routing.model_names import Resolution


@dataclass(slots=True)
class Attempt:
    """One provider step tried for this request, for logs, metrics and 502 bodies."""

    provider: str
    model: str
    outcome: str  # ok | error reason
    seconds: float


@dataclass(slots=True)
class RequestContext:
    request_id: str
    style: Style
    project: Project
    started: float = field(default_factory=time.perf_counter)
    resolution: Resolution | None = None
    provider: str | None = None  # who answered
    provider_style: Style | None = None  # the API style it answered in
    model: str | None = None  # the upstream model that answered
    cache: str = "BYPASS"  # HIT | MISS | BYPASS
    rate_remaining: int | None = None
    attempts: list[Attempt] = field(default_factory=list)
    saved_tokens: dict[str, int] = field(default_factory=dict)  # optimizer -> input tokens saved
    notes: list[str] = field(default_factory=list)  # e.g. conflict resolution applied
    usage: Usage | None = None
    status: int = 200
    first_byte: float | None = None  # perf_counter when the first byte reached the client

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


class Stage(Protocol):
    """One step of the pipeline between decode and provider call."""

    name: str

    def apply(self, req: Request, ctx: RequestContext) -> Request | Response: ...


class AfterHook(Protocol):
    """Runs after the answer is complete; ``response`` is None when the request failed."""

    def after(self, req: Request | None, response: Response | None, ctx: RequestContext) -> None: ...
