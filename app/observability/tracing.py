"""OpenTelemetry traces, opt-in: one span per request and one child span per provider attempt.

Only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set is
anything loaded: the SDK, an OTLP/HTTP exporter and a batch processor that exports off the request
path. Spans are made from each request's finished record and context, after the answer went out,
with the real start and end times — nothing is added to the hot path. A client's W3C
``traceparent`` header makes the request span its child. Attributes are names and numbers, never
bodies or keys. The standard ``OTEL_*`` variables (service name, headers, sampler) apply.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from app import __version__
from app.pipeline import Finished

log = logging.getLogger("frugal.tracing")


def tracing_enabled(env: Mapping[str, str] = os.environ) -> bool:
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


class Tracing:
    """The after-hook that turns each finished request into spans."""

    def __init__(self) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        service = os.environ.get("OTEL_SERVICE_NAME", "frugal-gateway")
        resource = Resource.create({"service.name": service, "service.version": __version__})
        self._provider = TracerProvider(resource=resource)
        self._provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self._tracer = self._provider.get_tracer("frugal-gateway", __version__)
        self._propagator = TraceContextTextMapPropagator()

    def after(self, done: Finished) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

        r, ctx = done.record, done.ctx
        # perf_counter times -> epoch nanoseconds, anchored at the request's wall-clock start
        wall0 = int(r.ts * 1e9)

        def ns(perf: float) -> int:
            return wall0 + int((perf - ctx.started) * 1e9)

        parent = self._propagator.extract({"traceparent": ctx.traceparent}) if ctx.traceparent else None
        span = self._tracer.start_span(
            f"{r.style} {r.route or r.requested_model or 'request'}",
            context=parent,
            kind=SpanKind.SERVER,
            start_time=wall0,
            attributes=_attributes(r),
        )
        for a in ctx.attempts:
            start = ns(a.started) if a.started else wall0
            child = self._tracer.start_span(
                f"{a.provider} {a.model}",
                context=set_span_in_context(span),
                kind=SpanKind.CLIENT,
                start_time=start,
                attributes={
                    "gen_ai.system": a.provider,
                    "gen_ai.request.model": a.model,
                    "frugal.attempt.outcome": a.outcome[:200],
                    "frugal.attempt.kind": a.kind,
                },
            )
            if a.outcome != "ok":
                child.set_status(Status(StatusCode.ERROR, a.outcome[:200]))
            child.end(end_time=start + int(a.seconds * 1e9))
        if r.status >= 500:
            span.set_status(Status(StatusCode.ERROR, r.error or str(r.status)))
        span.end(end_time=wall0 + int(r.latency_s * 1e9))

    def shutdown(self) -> None:
        """Export what is buffered (bounded by the SDK's own timeouts)."""
        started = time.monotonic()
        self._provider.shutdown()
        log.debug("tracing shut down in %.2fs", time.monotonic() - started)


def _attributes(r: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "http.response.status_code": r.status,
        "frugal.request_id": r.request_id,
        "frugal.project": r.project,
        "frugal.style": r.style,
        "frugal.cache": r.cache,
        "frugal.stream": r.stream,
        "gen_ai.usage.input_tokens": r.input_tokens,
        "gen_ai.usage.output_tokens": r.output_tokens,
        "frugal.saved_tokens": r.saved_tokens,
    }
    optional = {
        "frugal.route": r.route,
        "frugal.tier": r.tier,
        "frugal.provider": r.provider if r.provider != "none" else None,
        "gen_ai.request.model": r.model if r.model != "none" else None,
        "gen_ai.response.model": r.upstream_model,
        "frugal.cost_usd": r.cost_usd,
        "frugal.cascade": r.cascade,
        "frugal.ttft_s": r.ttft_s,
        "error.type": r.error.split(":", 1)[0] if r.error else None,
    }
    attrs.update({k: v for k, v in optional.items() if v is not None})
    return attrs
