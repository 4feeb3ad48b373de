"""One record per request: what the metrics, the usage store, the access log and the admin page
all read, so that every figure they show comes from the same numbers.

``RecordBuilder.build`` turns a finished ``RequestContext`` into a ``RequestRecord``: the usage the
provider reported (or a count where it reported none), the cost of every billed call, and what
each optimizer saved in tokens and USD. Counting the text an optimizer removed with the tokenizer
takes a few milliseconds on big agent requests, so the gateway builds records off the request
path when ``needs_counting`` says so; the counter's mode (``usage.token_counts``) decides whether
a model's counts use the tokenizer or the four-characters estimate.
"""

from __future__ import annotations

import msgspec

from app.canonical import Request, Response, TextPart, ToolCallPart, Usage
from app.observability.pricing import PriceTable
from app.observability.tokens import TokenCounter
from app.pipeline import RequestContext

CACHE_OPTIMIZER = "cache"  # the response cache's name in savings


class OptimizerSaving(msgspec.Struct):
    tokens: int
    usd: float | None


class AttemptRecord(msgspec.Struct):
    provider: str
    model: str
    outcome: str
    ms: float
    kind: str = "answer"


class RequestRecord(msgspec.Struct, kw_only=True):
    request_id: str
    ts: float  # unix seconds when the request arrived
    project: str
    style: str  # the caller's API style
    requested_model: str | None = None
    route: str | None = None
    tier: str | None = None
    tier_reason: str | None = None
    scenario: str | None = None
    router_score: float | None = None
    router_features: list[float] | None = None
    provider: str = "none"  # who answered
    model: str = "none"  # the model the gateway asked that provider for
    upstream_model: str | None = None  # the model name the provider answered with
    status: int = 200
    error: str | None = None
    stream: bool = False
    cache: str = "BYPASS"
    latency_s: float = 0.0
    ttft_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    usage_estimated: bool = False
    cost_usd: float | None = 0.0  # None: a billed model without a price
    saved_tokens: int = 0
    saved_usd: float = 0.0
    savings: dict[str, OptimizerSaving] = {}
    cascade: str | None = None
    cascade_checks: list[str] = []
    attempts: list[AttemptRecord] = []
    decisions: dict[str, str] = {}

    @property
    def priced(self) -> bool:
        return self.cost_usd is not None


class RecordBuilder:
    def __init__(self, prices: PriceTable, counter: TokenCounter) -> None:
        self.prices = prices
        self.counter = counter

    def needs_counting(self, ctx: RequestContext, resp: Response | None, req: Request | None = None) -> bool:
        """True when building the record will run the tokenizer (do it off the request path)."""
        if not self.counter.uses_tokenizer(_model(req, ctx)):
            return False  # the estimate is a length per text: no worker thread for that
        if any(s.removed or s.added for s in ctx.savings.values()):
            return True
        return resp is not None and _empty(resp.usage) and ctx.cache != "HIT"

    def build(self, req: Request | None, resp: Response | None, ctx: RequestContext) -> RequestRecord:
        model = _model(req, ctx)
        usage, estimated = self._usage(req, resp, ctx, model)
        hit = ctx.cache == "HIT"
        cost = 0.0 if hit else self._cost(model, ctx.model, usage, ctx)
        savings = self._savings(ctx, model, usage, resp if hit else None)
        res = ctx.resolution
        first = ctx.first_byte
        return RequestRecord(
            request_id=ctx.request_id,
            ts=ctx.wall_started,
            project=ctx.project.name,
            style=ctx.style,
            requested_model=res.requested if res else (req.model if req else None),
            route=res.route.name if res else None,
            tier=res.tier if res else None,
            tier_reason=ctx.tier_reason,
            scenario=ctx.scenario,
            router_score=ctx.router_score,
            router_features=ctx.router_features,
            provider=ctx.provider or "none",
            model=model or "none",
            upstream_model=ctx.model,
            status=ctx.status,
            error=ctx.error,
            stream=ctx.stream,
            cache=ctx.cache,
            latency_s=ctx.elapsed(),
            ttft_s=(first - ctx.started) if first is not None else None,
            input_tokens=usage.input_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            cache_read_tokens=usage.cache_read_tokens if usage else 0,
            cache_write_tokens=usage.cache_write_tokens if usage else 0,
            reasoning_tokens=usage.reasoning_tokens if usage else 0,
            usage_estimated=estimated,
            cost_usd=cost,
            saved_tokens=sum(s.tokens for s in savings.values()),
            saved_usd=sum(s.usd or 0.0 for s in savings.values()),
            savings=savings,
            cascade=ctx.cascade.outcome if ctx.cascade else None,
            cascade_checks=list(ctx.cascade.failed_checks) if ctx.cascade else [],
            attempts=[
                AttemptRecord(a.provider, a.model, a.outcome, round(a.seconds * 1000, 3), a.kind)
                for a in ctx.attempts
            ],
            decisions=dict(ctx.decisions),
        )

    # ------------------------------------------------------------------ pieces

    def _usage(
        self, req: Request | None, resp: Response | None, ctx: RequestContext, model: str | None
    ) -> tuple[Usage | None, bool]:
        usage = ctx.usage if ctx.usage is not None else (resp.usage if resp else None)
        if resp is None or req is None or (usage is not None and not _empty(usage)):
            return usage, False
        # the provider reported nothing: count what was sent and what came back
        output = self.counter.count_texts(_answer_texts(resp), model)
        return Usage(input_tokens=self.counter.count_request(req, model), output_tokens=output), True

    def _cost(
        self, model: str | None, upstream: str | None, usage: Usage | None, ctx: RequestContext
    ) -> float | None:
        total = 0.0
        if usage is not None and not _empty(usage):
            price = self.prices.get(model) or self.prices.get(upstream)
            if price is None:
                return None
            total += price.cost(usage)
        for a in ctx.attempts:
            if a.usage is not None and a.kind != "answer":  # internal calls billed beside the answer
                extra = self.prices.cost(a.model, a.usage)
                if extra is None:
                    return None
                total += extra
        return total

    def _savings(
        self, ctx: RequestContext, model: str | None, usage: Usage | None, cached: Response | None
    ) -> dict[str, OptimizerSaving]:
        out: dict[str, OptimizerSaving] = {}
        price = self.prices.get(model)
        prompt = usage.input_tokens if usage else None
        for name, s in ctx.savings.items():
            tokens = s.tokens
            if s.removed or s.added:
                removed = self.counter.count_texts(s.removed, model)
                tokens += removed - self.counter.count_texts(s.added, model)
            usd = s.usd
            if usd is None and price is not None:
                usd = price.input_cost(tokens, (prompt or 0) + tokens)
            out[name] = OptimizerSaving(tokens, usd)
        if cached is not None and usage is not None:
            # a cache hit saved the whole call it replaces
            cost = self.prices.cost(model, usage)
            out[CACHE_OPTIMIZER] = OptimizerSaving(usage.input_tokens + usage.output_tokens, cost)
        return out


def _model(req: Request | None, ctx: RequestContext) -> str | None:
    """The model a record's counts and prices are for."""
    return ctx.step_model or ctx.model or (req.model if req else None)


def _empty(u: Usage) -> bool:
    return u.input_tokens == 0 and u.output_tokens == 0


def _answer_texts(resp: Response) -> list[str]:
    out: list[str] = []
    for p in resp.content:
        if isinstance(p, TextPart):
            out.append(p.text)
        elif isinstance(p, ToolCallPart):
            out.append(p.name)
            out.append(p.arguments)
    return out
