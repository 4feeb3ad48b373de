"""Context fit: an over-long conversation is cut on a safe boundary, the middle summarised once by
the summariser route, the cut sticky across turns (byte-identical prefix), failures harmless."""

from __future__ import annotations

import msgspec

from app.auth import Project
from app.canonical import Message, Request, TextPart, ToolCallPart, ToolResultPart
from app.errors import UpstreamStatus
from app.optimizers.context_fit import ContextFit, FitSettings, estimate_tokens
from app.pipeline import RequestContext
from app.providers.base import Completion, UpstreamCall
from app.providers.mock import MockProvider
from app.reliability.fallback import Dispatcher
from app.routing.model_names import Resolution
from app.routing.routes import Route, Step


class CountingMock(MockProvider):
    def __init__(self, fail: bool = False) -> None:
        super().__init__("summariser")
        self.calls: list[UpstreamCall] = []
        self.fail = fail

    async def complete(self, call: UpstreamCall) -> Completion:
        self.calls.append(call)
        if self.fail:
            raise UpstreamStatus("down", provider="summariser", upstream_status=503)
        return await super().complete(call)


def _history(turns: int, size: int = 4000) -> list[Message]:
    msgs = [Message("user", [TextPart("Fix the failing test in tests/test_app.py")])]
    for i in range(turns):
        msgs += [
            Message("assistant", [ToolCallPart(f"c{i}", "bash", '{"cmd": "pytest"}')]),
            Message("user", [ToolResultPart(f"c{i}", [TextPart(f"run {i}: " + "x" * size)])]),
            Message("assistant", [TextPart(f"looked at run {i}")]),
            Message("user", [TextPart(f"keep going {i}")]),
        ]
    return msgs


def _setup(fail: bool = False) -> tuple[ContextFit, CountingMock, Route]:
    provider = CountingMock(fail)
    summariser = Route("cheap", (Step(provider, "cheap-model"),))
    target = Route("big", (Step(MockProvider("mock"), "tiny-model"),))
    settings = FitSettings(windows=(("tiny-*", 10_000),), fill_share=0.8, keep_share=0.5)
    return ContextFit(Dispatcher(), summariser, settings), provider, target


def _ctx(route: Route) -> RequestContext:
    ctx = RequestContext("r", "openai-chat", Project("p"))
    ctx.resolution = Resolution(route, "big", "request", None)
    return ctx


async def test_a_request_that_fits_is_untouched() -> None:
    stage, provider, route = _setup()
    req = Request(model="big", messages=_history(2), style="openai-chat")
    assert await stage.apply(req, _ctx(route)) is req and provider.calls == []


async def test_the_middle_is_summarised_on_a_safe_cut_and_the_cut_is_sticky() -> None:
    stage, provider, route = _setup()
    history = _history(12)
    req = Request(model="big", messages=history, style="openai-chat")
    ctx = _ctx(route)
    out = await stage.apply(req, ctx)
    assert isinstance(out, Request) and len(provider.calls) == 1
    assert out.messages[0] == history[0]  # the task stays
    assert out.messages[1].role == "assistant" and "Summary of" in out.messages[1].content[0].text  # type: ignore[union-attr]
    kept = out.messages[2:]
    assert kept == history[len(history) - len(kept) :]  # the recent messages whole
    assert kept[0].role == "user" and not isinstance(kept[0].content[0], ToolResultPart)  # a safe cut
    assert estimate_tokens(out.messages, out.system) <= 8000
    assert [a.kind for a in ctx.attempts] == ["context-fit"] and ctx.attempts[0].usage is not None
    assert ctx.provider is None  # the summary call does not pose as the answer

    # the next turn: same cut, same summary, no new call, byte-identical prefix
    later = Request(model="big", messages=[*history, Message("assistant", [TextPart("ok")]),
                                           Message("user", [TextPart("and now?")])], style="openai-chat")  # fmt: skip
    out2 = await stage.apply(later, _ctx(route))
    assert isinstance(out2, Request) and len(provider.calls) == 1
    enc = msgspec.json.encode
    assert enc(out2.messages[: len(out.messages)]) == enc(out.messages)


async def test_a_failed_summary_sends_the_request_as_it_is() -> None:
    stage, _, route = _setup(fail=True)
    req = Request(model="big", messages=_history(12), style="openai-chat")
    ctx = _ctx(route)
    assert await stage.apply(req, ctx) is req
    assert "summary failed" in ctx.decisions["context_fit"]
