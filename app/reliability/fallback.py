"""Ordered fallback across a route's steps (SPEC §6, "Fallback").

A step fails on connect error, timeout, 408/409/429/5xx (any status that is not the client's
fault) or an error event before a stream's first byte; the next step is then tried. A client-fault
status (400, 401, 403, 404, 413, 422) ends the route at once and goes back to the caller as is —
unless the step's ``conflict_resolution`` covers a feature the request used, in which case the
step is retried once without it. When every step fails, ``AllStepsFailed`` names each step's
provider and reason.

With ``hedge.after`` set, a step that has not produced its first byte after that long gets the
next step started beside it; the first to answer wins and the other is cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.canonical import Request
from app.errors import AllStepsFailed, CircuitOpen, UpstreamConnect, UpstreamError, UpstreamStatus
from app.pipeline import Attempt, RequestContext
from app.providers.base import ClientBody, Completion, UpstreamCall, UpstreamStream
from app.reliability.circuit_breaker import CircuitBreakers
from app.reliability.retry import RetryPolicy
from app.routing import conflicts
from app.routing.routes import Route, Step

T = TypeVar("T", Completion, UpstreamStream)


class Dispatcher:
    """Calls a route's steps in order. Each step passes its circuit breakers (``breakers``) and
    is retried by ``retry`` before the next step is tried; both optional (switched off in
    config: ``CIRCUIT_BREAKER_ENABLED``, ``RETRY_ENABLED``)."""

    def __init__(
        self,
        breakers: CircuitBreakers | None = None,
        retry: RetryPolicy | None = None,
        on_retry: Callable[[str, UpstreamError, float], None] | None = None,
    ) -> None:
        self.breakers = breakers
        self.retry = retry
        self._on_retry = on_retry

    async def complete(
        self,
        req: Request,
        route: Route,
        ctx: RequestContext,
        headers: dict[str, str],
        body: ClientBody | None,
    ) -> Completion:
        async def call(step: Step, c: UpstreamCall) -> Completion:
            return await step.provider.complete(c)

        return await self._run(req, route, ctx, headers, body, call)

    async def open_stream(
        self,
        req: Request,
        route: Route,
        ctx: RequestContext,
        headers: dict[str, str],
        body: ClientBody | None,
    ) -> UpstreamStream:
        async def call(step: Step, c: UpstreamCall) -> UpstreamStream:
            return await step.provider.open_stream(c)

        return await self._run(req, route, ctx, headers, body, call)

    async def _run(
        self,
        req: Request,
        route: Route,
        ctx: RequestContext,
        headers: dict[str, str],
        body: ClientBody | None,
        call: Callable[[Step, UpstreamCall], Awaitable[T]],
    ) -> T:
        failures: list[UpstreamError] = []

        breakers = self.breakers

        async def once(step: Step) -> T:
            started = time.perf_counter()
            provider = step.provider.name
            if breakers is not None:
                try:
                    breakers.check(provider, step.model)
                except CircuitOpen as exc:
                    ctx.attempts.append(_attempt(step, exc.reason, started))
                    raise
            c = UpstreamCall(req, step.model, step.timeout, headers, body)
            try:
                result = await call(step, c)
            except UpstreamError as exc:
                if not exc.provider:
                    exc.provider = provider
                ctx.attempts.append(_attempt(step, exc.reason, started))
                if breakers is not None:
                    breakers.record_failure(provider, step.model, exc)
                if exc.client_fault and step.conflicts:
                    return await self._resolve_conflict(step, req, ctx, headers, exc, call)
                raise
            except BaseException:  # cancelled (client left, a hedge won): no verdict on the provider
                if breakers is not None:
                    breakers.release_probe(provider, step.model)
                raise
            ctx.attempts.append(_attempt(step, "ok", started))
            if breakers is not None:
                breakers.record_success(provider, step.model)
            ctx.provider, ctx.model, ctx.provider_style = provider, step.model, step.provider.style
            ctx.step_model = step.model
            return result

        async def attempt(step: Step) -> T:
            if step.provider.disabled_reason:
                err = UpstreamConnect(step.provider.disabled_reason, provider=step.provider.name)
                ctx.attempts.append(Attempt(step.provider.name, step.model, err.reason, 0.0))
                raise err
            if self.retry is None:
                return await once(step)

            def retried(exc: UpstreamError, wait: float) -> None:
                if self._on_retry is not None:
                    self._on_retry(step.provider.name, exc, wait)

            return await self.retry.run(lambda: once(step), started=ctx.started, on_retry=retried)

        if route.hedge_after is not None and len(route.steps) > 1:
            return await self._hedged(route, attempt, failures)
        for step in route.steps:
            try:
                return await attempt(step)
            except UpstreamError as exc:
                if exc.client_fault:
                    raise
                failures.append(exc)
        raise AllStepsFailed(route.name, failures)

    async def _resolve_conflict(
        self,
        step: Step,
        req: Request,
        ctx: RequestContext,
        headers: dict[str, str],
        exc: UpstreamError,
        call: Callable[[Step, UpstreamCall], Awaitable[T]],
    ) -> T:
        status = exc.upstream_status if isinstance(exc, UpstreamStatus) else 0
        kinds = conflicts.applicable(req, step.conflicts)
        if status not in (400, 422) or not kinds:
            raise exc
        reduced = conflicts.without(req, kinds)
        started = time.perf_counter()
        try:
            result = await call(step, UpstreamCall(reduced, step.model, step.timeout, headers, None))
        except UpstreamError as retry_exc:
            if not retry_exc.provider:
                retry_exc.provider = step.provider.name
            ctx.attempts.append(_attempt(step, retry_exc.reason, started))
            raise
        ctx.attempts.append(_attempt(step, "ok", started))
        ctx.notes.append("dropped " + ",".join(kinds))
        ctx.provider, ctx.model, ctx.provider_style = step.provider.name, step.model, step.provider.style
        ctx.step_model = step.model
        return result

    async def _hedged(
        self, route: Route, attempt: Callable[[Step], Awaitable[T]], failures: list[UpstreamError]
    ) -> T:
        """Steps start in order, each ``hedge_after`` seconds after the previous one unless it
        already failed; the first success wins and the rest are cancelled."""
        assert route.hedge_after is not None
        pending: dict[asyncio.Task[T], int] = {}
        results: dict[int, UpstreamError] = {}
        next_step = 0
        try:
            while True:
                if next_step < len(route.steps) and (not pending or next_step == 0):
                    pending[asyncio.ensure_future(attempt(route.steps[next_step]))] = next_step
                    next_step += 1
                if not pending:
                    break
                timeout = route.hedge_after if next_step < len(route.steps) else None
                done, _ = await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    # no answer yet: start the next step beside the running ones
                    pending[asyncio.ensure_future(attempt(route.steps[next_step]))] = next_step
                    next_step += 1
                    continue
                for task in done:
                    index = pending.pop(task)
                    exc = task.exception()
                    if exc is None:
                        return task.result()
                    if isinstance(exc, UpstreamError) and not exc.client_fault:
                        results[index] = exc
                        continue
                    raise exc
        finally:
            for task in pending:
                task.cancel()
            # the losers' outcomes (results, errors, cancellations) are collected, not raised;
            # this request's own cancellation still propagates out of gather
            for outcome in await asyncio.gather(*pending, return_exceptions=True):
                if not isinstance(outcome, BaseException | Completion):
                    await outcome.aclose()  # a stream that opened after all: release it
        failures.extend(results[i] for i in sorted(results))
        raise AllStepsFailed(route.name, failures)


def _attempt(step: Step, outcome: str, started: float) -> Attempt:
    return Attempt(step.provider.name, step.model, outcome, time.perf_counter() - started, started=started)
