"""The one record per request: usage, cost of every billed call, savings per optimizer."""

from __future__ import annotations

import pytest

from app.auth import Project
from app.canonical import Message, Request, Response, TextPart, Usage
from app.observability.pricing import PriceTable
from app.observability.record import RecordBuilder
from app.observability.token_estimate import estimate_text
from app.observability.tokens import TokenCounter, _Encodings
from app.pipeline import Attempt, RequestContext
from tests.observability.test_tokens import EncodingSpy


@pytest.fixture(scope="module")
def builder() -> RecordBuilder:
    return RecordBuilder(PriceTable.load(), TokenCounter())




def _req(text: str = "hello") -> Request:
    return Request(
        model="claude-sonnet-4-5", style="anthropic-messages", messages=[Message("user", [TextPart(text)])]
    )


def _ctx() -> RequestContext:
    ctx = RequestContext(request_id="r1", style="anthropic-messages", project=Project("team-a"))
    ctx.provider, ctx.step_model, ctx.model = "anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"
    return ctx


def test_cost_of_the_answer_and_of_an_internal_cheap_call(builder: RecordBuilder) -> None:
    ctx = _ctx()
    usage = Usage(input_tokens=10_000, output_tokens=500, cache_read_tokens=6_000, cache_write_tokens=2_000)
    ctx.usage = usage
    ctx.attempts.append(
        Attempt(
            "anthropic",
            "claude-haiku-4-5",
            "ok",
            0.5,
            Usage(input_tokens=1_000, output_tokens=100),
            "cascade-cheap",
        )
    )
    resp = Response(id="m", model="claude-sonnet-4-5", content=[TextPart("hi")], usage=usage)
    rec = builder.build(_req(), resp, ctx)
    answer = (2_000 * 3 + 6_000 * 0.30 + 2_000 * 3.75 + 500 * 15) / 1e6
    cheap = (1_000 * 1 + 100 * 5) / 1e6
    assert rec.cost_usd == pytest.approx(answer + cheap)
    assert (rec.input_tokens, rec.cache_read_tokens, rec.cache_write_tokens) == (10_000, 6_000, 2_000)
    assert rec.model == "claude-sonnet-4-5" and rec.upstream_model == "claude-sonnet-4-5-20250929"
    assert not rec.usage_estimated


def test_unpriced_model_has_unknown_cost(builder: RecordBuilder) -> None:
    ctx = _ctx()
    ctx.step_model = ctx.model = "someone/brand-new"
    ctx.usage = Usage(input_tokens=10, output_tokens=10)
    rec = builder.build(_req(), Response(id="m", model="x", content=[]), ctx)
    assert rec.cost_usd is None and not rec.priced


def test_savings_are_counted_and_priced_at_the_models_input_price(builder: RecordBuilder) -> None:
    ctx = _ctx()
    ctx.usage = Usage(input_tokens=1_000, output_tokens=10)
    body = "def add(a, b):\n    return a + b\n" * 50
    ctx.saved("dedup", body, "[same as message 2: src/add.py, sha 1a2b3c]")
    assert builder.needs_counting(ctx, None)
    rec = builder.build(_req(), Response(id="m", model="x", content=[]), ctx)
    s = rec.savings["dedup"]
    counter = TokenCounter()
    expected = counter.count_text(body, "claude-sonnet-4-5") - counter.count_text(
        "[same as message 2: src/add.py, sha 1a2b3c]", "claude-sonnet-4-5"
    )
    assert s.tokens == expected > 300
    assert s.usd == pytest.approx(expected * 3 / 1e6)
    assert rec.saved_tokens == s.tokens and rec.saved_usd == pytest.approx(s.usd)


def test_a_cache_hit_costs_nothing_and_saves_the_whole_call(builder: RecordBuilder) -> None:
    ctx = _ctx()
    ctx.cache = "HIT"
    usage = Usage(input_tokens=2_000, output_tokens=300)
    ctx.usage = usage
    rec = builder.build(_req(), Response(id="m", model="claude-sonnet-4-5", content=[], usage=usage), ctx)
    assert rec.cost_usd == 0.0
    assert rec.savings["cache"].tokens == 2_300
    assert rec.savings["cache"].usd == pytest.approx((2_000 * 3 + 300 * 15) / 1e6)


def test_usage_is_estimated_with_tiktoken_when_the_provider_reports_none(builder: RecordBuilder) -> None:
    ctx = _ctx()
    resp = Response(id="m", model="x", content=[TextPart("four score and seven years ago")])
    assert builder.needs_counting(ctx, resp)
    rec = builder.build(_req("what is the gettysburg address"), resp, ctx)
    assert rec.usage_estimated
    assert rec.output_tokens == TokenCounter().count_text(
        "four score and seven years ago", "claude-sonnet-4-5"
    )
    assert rec.input_tokens > 5


def test_a_failed_request_costs_nothing(builder: RecordBuilder) -> None:
    ctx = _ctx()
    ctx.status, ctx.error = 502, "api_error: all steps failed"
    rec = builder.build(_req(), None, ctx)
    assert rec.cost_usd == 0.0 and rec.status == 502 and rec.error


def test_auto_counting_estimates_claude_on_the_request_path_and_counts_gpt_exactly() -> None:
    spy = EncodingSpy()
    builder = RecordBuilder(PriceTable.load(), TokenCounter(spy, mode="auto"))
    removed = "def save(event):\n    return repo.save(event)\n" * 30
    ctx = _ctx()
    ctx.saved("dedup", removed, "[same as above]")
    resp = Response(id="m", model="x", content=[TextPart("four score and seven years ago")])
    # nothing for the tokenizer to do: the record is built inline, no worker thread
    assert not builder.needs_counting(ctx, resp, _req())
    rec = builder.build(_req(), resp, ctx)
    assert rec.savings["dedup"].tokens == estimate_text(removed) - estimate_text("[same as above]")
    assert rec.output_tokens == estimate_text("four score and seven years ago") and rec.usage_estimated
    assert spy.asked == []

    ctx = _ctx()
    ctx.provider, ctx.step_model, ctx.model = "openai", "gpt-4o", "gpt-4o-2024-08-06"
    ctx.saved("dedup", removed, "[same as above]")
    assert builder.needs_counting(ctx, resp, _req())
    rec = builder.build(_req(), resp, ctx)
    exact = TokenCounter(_Encodings(), mode="tokenizer")
    assert rec.savings["dedup"].tokens == exact.count_text(removed, "gpt-4o") - exact.count_text(
        "[same as above]", "gpt-4o"
    )
    assert spy.asked and set(spy.asked) == {"o200k_base"}


def test_the_request_model_decides_when_no_step_ran() -> None:
    builder = RecordBuilder(PriceTable.load(), TokenCounter(EncodingSpy(), mode="auto"))
    ctx = RequestContext(request_id="r1", style="openai-chat", project=Project("team-a"))
    ctx.saved("dedup", "x" * 100)
    claude, gpt = (
        _req(),
        Request(model="gpt-4o", style="openai-chat", messages=[Message("user", [TextPart("hi")])]),
    )
    assert not builder.needs_counting(ctx, None, claude)
    assert builder.needs_counting(ctx, None, gpt)
