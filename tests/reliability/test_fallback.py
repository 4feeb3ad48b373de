"""The dispatcher's step loop, with scripted in-process providers."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.auth import Project
from app.canonical import Message, Request, Response, TextPart, ToolDef
from app.errors import (
    AllStepsFailed,
    CircuitOpen,
    UpstreamConnect,
    UpstreamError,
    UpstreamStatus,
    UpstreamTimeout,
)
from app.pipeline import RequestContext
from app.providers.base import Completion, UpstreamCall
from app.reliability.fallback import Dispatcher
from app.routing.routes import Route, Step


class Scripted:
    style = "openai-chat"
    disabled_reason: str | None = None

    def __init__(self, name: str, outcomes: list[object], delay: float = 0.0) -> None:
        self.name = name
        self.outcomes = outcomes
        self.calls: list[UpstreamCall] = []
        self.delay = delay

    async def complete(self, call: UpstreamCall) -> Completion:
        self.calls.append(call)
        await asyncio.sleep(self.delay)
        out = self.outcomes.pop(0)
        if isinstance(out, Exception):
            raise out
        return Completion(Response("r", call.model, [TextPart(str(out))]))

    async def open_stream(self, call: UpstreamCall) -> object:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def ctx() -> RequestContext:
    return RequestContext("id", "openai-chat", Project("p"))


REQ = Request(
    model="r", messages=[Message("user", [TextPart("x")])], style="openai-chat", tools=[ToolDef("f")]
)


def route(*steps: Step, hedge: float | None = None) -> Route:
    return Route("r", steps, hedge)


def status(code: int, retry: float | None = None) -> UpstreamStatus:
    return UpstreamStatus("e", provider="", upstream_status=code, retry_after=retry)


async def run(r: Route) -> tuple[Completion, RequestContext]:
    c = ctx()
    return await Dispatcher().complete(REQ, r, c, {}, None), c


@pytest.mark.parametrize(
    "failure",
    [
        status(500),
        status(503),
        status(408),
        status(409),
        status(429),
        status(529),
        UpstreamTimeout("t", provider=""),
        UpstreamConnect("c", provider=""),
        CircuitOpen("o", provider=""),
    ],
)
async def test_failure_moves_to_next_step(failure: UpstreamError) -> None:
    a, b = Scripted("a", [failure]), Scripted("b", ["fine"])
    done, c = await run(route(Step(a, "m1"), Step(b, "m2")))
    assert done.response.text() == "fine"
    assert (c.provider, c.model) == ("b", "m2")
    assert [x.provider for x in c.attempts] == ["a", "b"] and c.attempts[1].outcome == "ok"


@pytest.mark.parametrize("code", [400, 401, 403, 404, 413, 422])
async def test_client_fault_stops_the_route(code: int) -> None:
    a, b = Scripted("a", [status(code)]), Scripted("b", ["fine"])
    with pytest.raises(UpstreamStatus):
        await run(route(Step(a, "m1"), Step(b, "m2")))
    assert b.calls == []


async def test_all_failing_names_each_step_and_shares_status() -> None:
    with pytest.raises(AllStepsFailed) as info:
        await run(
            route(
                Step(Scripted("a", [status(503)]), "m"),
                Step(Scripted("b", [UpstreamConnect("refused", provider="")]), "m"),
            )
        )
    err = info.value
    assert (
        err.status == 502 and "a: HTTP 503" in err.message and "b: connection error: refused" in err.message
    )
    with pytest.raises(AllStepsFailed) as info:
        await run(
            route(Step(Scripted("a", [status(429, 9)]), "m"), Step(Scripted("b", [status(429, 2)]), "m"))
        )
    assert info.value.status == 429 and info.value.retry_after == 2
    with pytest.raises(AllStepsFailed) as info:
        await run(route(Step(Scripted("a", [UpstreamTimeout("t", provider="")]), "m")))
    assert info.value.status == 504
    with pytest.raises(AllStepsFailed) as info:
        await run(route(Step(Scripted("a", [CircuitOpen("o", provider="")]), "m")))
    assert info.value.status == 503


async def test_disabled_provider_counts_as_a_failed_step() -> None:
    off = Scripted("off", [])
    off.disabled_reason = "disabled: no base_url configured"
    done, c = await run(route(Step(off, "m"), Step(Scripted("b", ["ok"]), "m")))
    assert done.response.text() == "ok" and "no base_url" in c.attempts[0].outcome


async def test_conflict_resolution_retries_without_the_feature() -> None:
    a = Scripted("a", [status(400), "without tools"])
    done, c = await run(route(Step(a, "m", conflicts=("tools",))))
    assert done.response.text() == "without tools"
    assert a.calls[0].request.tools and not a.calls[1].request.tools
    assert c.notes == ["dropped tools"]


async def test_conflict_resolution_only_for_features_in_use() -> None:
    a = Scripted("a", [status(400)])
    with pytest.raises(UpstreamStatus):
        await run(route(Step(a, "m", conflicts=("format",))))  # the request has no response_format
    assert len(a.calls) == 1


async def test_hedge_starts_the_next_step_and_cancels_the_loser() -> None:
    slow, fast = Scripted("slow", ["late"], delay=5), Scripted("fast", ["early"])
    started = time.monotonic()
    done, c = await run(route(Step(slow, "m"), Step(fast, "m"), hedge=0.05))
    assert done.response.text() == "early" and c.provider == "fast"
    assert time.monotonic() - started < 1


async def test_hedge_failed_first_step_starts_next_at_once() -> None:
    done, _ = await run(
        route(Step(Scripted("a", [status(500)]), "m"), Step(Scripted("b", ["ok"]), "m"), hedge=10)
    )
    assert done.response.text() == "ok"
