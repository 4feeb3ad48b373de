"""Stage 6, the cascade (``routing.cascade``, ``ENABLE_CASCADE_ROUTING``): an ``auto`` request the
router sent to the cheap tier is answered by it non-streamed; the quality checks
(``app.routing.quality``) run on that answer; when one fails the request escalates once to the
strong tier, which then answers as usual (streamed if the client streams). An accepted answer is
returned from here and replayed to a streaming client as a stream.

The router's strong decisions skip the cascade (they would escalate anyway) and its cheap
decisions are double-checked: that is how the cascade lets the thresholds lean cheap without
losing quality. The outcome (accepted / escalated, failed checks, the cheap call's model and cost)
goes on the context, into the ``X-Gateway-Cascade`` header, the metrics and the usage row; the
cheap call of an escalated request is billed beside the strong answer.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from app.canonical import Request, Response
from app.errors import UpstreamError
from app.observability.pricing import PriceTable
from app.pipeline import CascadeOutcome, RequestContext
from app.reliability.fallback import Dispatcher
from app.routing.model_names import ModelResolver, Resolution
from app.routing.quality import failed_checks
from app.routing.routes import Route


class Cascade:
    name = "cascade"

    def __init__(
        self,
        resolver: ModelResolver,
        dispatcher: Dispatcher,
        prices: PriceTable,
        *,
        enabled_for: Callable[[str], bool] = lambda route: True,
        checks: frozenset[str] | None = None,
    ) -> None:
        self.resolver = resolver
        self.dispatcher = dispatcher
        self.prices = prices
        self.enabled_for = enabled_for  # per-route override (routes[].cascade)
        self.checks = checks

    async def apply(self, req: Request, ctx: RequestContext) -> Request | Response:
        res = ctx.resolution
        strong = self.resolver.tier_route("strong")
        if (
            res is None
            or res.source != "auto"
            or res.tier != "cheap"
            or strong is None
            or strong is res.route
            or not self.enabled_for(res.route.name)
        ):
            return req
        cheap_req = msgspec.structs.replace(req, stream=False, stream_usage=False) if req.stream else req
        first_attempt = len(ctx.attempts)
        try:
            completion = await self.dispatcher.complete(cheap_req, res.route, ctx, ctx.client_headers, None)
        except UpstreamError as exc:
            self._escalate(req, ctx, res, strong, [f"error:{exc.reason}"], None, first_attempt)
            return req
        answer = completion.response
        failed = failed_checks(req, answer, self.checks)
        if not failed:
            ctx.cascade = CascadeOutcome("accepted", [], ctx.step_model, self._cost(ctx.step_model, answer))
            ctx.model = answer.model or ctx.model
            ctx.decide("cascade", "accepted")
            return answer
        self._escalate(req, ctx, res, strong, failed, answer, first_attempt)
        return req

    def _escalate(
        self,
        req: Request,
        ctx: RequestContext,
        res: Resolution,
        strong: Route,
        failed: list[str],
        answer: Response | None,
        first_attempt: int,
    ) -> None:
        cheap_model = ctx.step_model
        # the cheap calls are billed beside the strong answer: mark them, keep the answer's usage
        for a in ctx.attempts[first_attempt:]:
            a.kind = "cascade-cheap"
            if a.outcome == "ok" and answer is not None:
                a.usage = answer.usage
        ctx.cascade = CascadeOutcome(
            "escalated", failed, cheap_model, self._cost(cheap_model, answer) if answer else None
        )
        ctx.decide("cascade", "escalated: " + ",".join(failed))
        ctx.resolution = Resolution(strong, res.requested, "auto", "strong")
        ctx.tier_reason = f"{ctx.tier_reason or 'auto'}; cascade escalated ({', '.join(failed)})"
        # the strong call sets these again; until then they must not name the cheap answer
        ctx.provider = ctx.model = ctx.step_model = ctx.provider_style = None

    def _cost(self, model: str | None, answer: Response | None) -> float | None:
        if answer is None:
            return None
        return self.prices.cost(model, answer.usage)
