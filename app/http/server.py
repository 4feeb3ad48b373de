"""The HTTP server: the front router for proxy endpoints (``endpoints``) over a Litestar app
for the plain ones (liveness, readiness, model listing) and for 404/405 answers.

``create_app()`` is the uvicorn factory (``frugal serve`` runs it in each worker); it loads the
configuration itself, so every worker process builds its own providers and pools.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import HttpMethod, Litestar, Request, Response, get, route
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException

from app import config as config_module
from app.bootstrap import Runtime, build
from app.canonical import Style
from app.config import LoadedConfig
from app.errors import Forbidden, GatewayError, NotFound
from app.gateway import GATEWAY_HEADER, Reply
from app.http import admin
from app.http.endpoints import STARTED, MethodNotAllowed, ProxyEndpoints, listing_style
from app.http.router import FrontRouter
from app.memory import resident_bytes
from app.observability.logging import configure as configure_logging
from app.observability.usage.database import DatabaseError
from app.styles import available_styles, codec_for
from app.styles.base import ModelInfo

_encoder = msgspec.json.Encoder()


def create_app(loaded: LoadedConfig | None = None) -> FrontRouter:
    if loaded is None:
        loaded = config_module.load()
    configure_logging(loaded.config.logging.level, loaded.config.logging.format)
    runtime = build(loaded)
    endpoints = ProxyEndpoints(runtime)
    return FrontRouter(_litestar(runtime), endpoints.exact(), endpoints.prefixes())


def _litestar(runtime: Runtime) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.aclose()

    app = Litestar(
        route_handlers=[
            live,
            hello,
            health,
            list_models,
            metrics,
            admin_metrics,
            admin_runtime,
            admin_usage,
            admin.admin_page,
            admin.admin_login,
            admin.admin_logout,
        ],
        lifespan=[lifespan],
        openapi_config=None,
        logging_config=None,
        exception_handlers={NotFoundException: _not_found, MethodNotAllowedException: _not_found},
    )
    app.state.runtime = runtime
    return app


def _response(reply: Reply) -> Response[bytes]:
    return Response(
        content=reply.body,
        status_code=reply.status,
        headers=dict(reply.headers),
        media_type=reply.content_type,
    )


@get("/live", sync_to_thread=False)
def live() -> Response[bytes]:
    """Liveness: no auth, no I/O."""
    return Response(content=b'{"status":"ok"}', media_type="application/json")


@route("/api/hello", http_method=[HttpMethod.GET, HttpMethod.HEAD], sync_to_thread=False)
def hello() -> Response[bytes]:
    """Claude Code's connectivity probe (sent unless non-essential traffic is disabled)."""
    return Response(content=b"{}", media_type="application/json")


@get("/health")
async def health(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Readiness: 200 while at least one provider can be called (not disabled, circuit not open),
    else 503. Redis being down shows as ``degraded`` (requests still succeed without it)."""
    runtime = admin.runtime_of(request)
    providers: dict[str, Any] = {
        p.name: {"status": p.status, "reason": p.reason} if p.status == "disabled"
        else {"status": p.status, "circuits": p.circuits}
        for p in admin.provider_states(runtime)
    }  # fmt: skip
    ok = any(v["status"] == "ok" for v in providers.values())
    checks: dict[str, Any] = {}
    if runtime.redis is not None:
        up = await runtime.redis.ping()
        checks["redis"] = "ok" if up else f"degraded: {runtime.redis.last_error or 'unreachable'}"
    usage = runtime.usage
    if usage is not None:
        checks["database"] = "ok" if usage.healthy else f"degraded: {usage.last_error or 'unreachable'}"
    degraded = any(str(v).startswith("degraded") for v in checks.values())
    status = ("degraded" if degraded else "ok") if ok else "unavailable"
    body = {"status": status, "providers": providers, **checks, "config": runtime.source}
    return Response(
        content=_encoder.encode(body), status_code=200 if ok else 503, media_type="application/json"
    )


def require_admin(runtime: Runtime, request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """None when the caller holds an admin key; else the error answer to send (401 or 403)."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        project = runtime.gateway.authenticate(headers, dict(request.query_params))
        if not project.admin:
            raise Forbidden("this endpoint needs an admin key (auth.api_keys); a project key cannot use it")
    except GatewayError as err:
        return _response(runtime.gateway.error_reply(codec_for("openai-chat"), err))
    return None


def _metrics_response(runtime: Runtime) -> Response[bytes]:
    body, content_type = runtime.metrics.render()
    return Response(content=body, media_type=content_type, headers={"x-gateway": GATEWAY_HEADER})


@get("/metrics")
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus exposition; open when ``metrics.public`` is true, else an admin key is needed."""
    runtime = admin.runtime_of(request)
    if not runtime.config.metrics.public:
        denied = require_admin(runtime, request)
        if denied is not None:
            return denied
    return _metrics_response(runtime)


@get("/admin/metrics")
async def admin_metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    runtime = admin.runtime_of(request)
    denied = require_admin(runtime, request)
    return denied if denied is not None else _metrics_response(runtime)


@get("/admin/usage")
async def admin_usage(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Usage, cost and savings from the usage store (SPEC §5). An admin key reads every project,
    a project key only its own; ``project``, ``since``, ``until`` (ISO 8601) filter."""
    runtime = admin.runtime_of(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    query = dict(request.query_params)
    try:
        project = runtime.gateway.authenticate(headers, query)
        usage_filter = admin.usage_filter(query, project)
    except GatewayError as err:
        return _response(runtime.gateway.error_reply(codec_for("openai-chat"), err))
    if runtime.usage is None:
        off = GatewayError("the usage store is switched off (usage.enabled: false)", status=404)
        return _response(runtime.gateway.error_reply(codec_for("openai-chat"), off))
    try:
        summary, _ = await asyncio.to_thread(admin.read_usage, runtime.usage.url, usage_filter)
    except DatabaseError as exc:
        unavailable = GatewayError(f"the usage database is unavailable: {exc}", status=503)
        return _response(runtime.gateway.error_reply(codec_for("openai-chat"), unavailable))
    body = {
        "project": usage_filter.project,
        "since": query.get("since"),
        "until": query.get("until"),
        "pending_rows": runtime.usage.pending,
        **summary,
        "budgets": admin.budgets(runtime, usage_filter.project),
    }
    return Response(content=_encoder.encode(body), media_type="application/json")


@get("/admin/runtime")
async def admin_runtime(request: Request[Any, Any, Any]) -> Response[bytes]:
    """This worker's process: asyncio tasks alive and resident memory (leak checks, admin key)."""
    runtime = admin.runtime_of(request)
    denied = require_admin(runtime, request)
    if denied is not None:
        return denied
    body = {"pid": os.getpid(), "tasks": len(asyncio.all_tasks()), "rss_bytes": resident_bytes() or None}
    return Response(content=_encoder.encode(body), media_type="application/json")


@get("/v1/models")
async def list_models(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Routes, aliases and ``auto``, in the listing shape of the client's style."""
    runtime = admin.runtime_of(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    query = dict(request.query_params)
    codec = codec_for(listing_style(headers, query, request.url.path))
    try:
        runtime.gateway.authenticate(headers, query)
    except GatewayError as err:
        return _response(runtime.gateway.error_reply(codec, err))
    models = [ModelInfo(id=n, created=STARTED) for n in runtime.gateway.resolver.names()]
    return Response(
        content=codec.encode_models(models),
        media_type="application/json",
        headers={"x-gateway": GATEWAY_HEADER},
    )


def _not_found(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    path = request.url.path
    style: Style = "openai-chat"
    if path.startswith("/v1beta") and "google-genai" in available_styles():
        style = "google-genai"
    elif "anthropic-version" in request.headers and "anthropic-messages" in available_styles():
        style = "anthropic-messages"
    err: GatewayError
    if isinstance(exc, MethodNotAllowedException):
        err = MethodNotAllowed(f"method {request.method} is not allowed on {path}")
    else:
        err = NotFound(f"unknown endpoint {request.method} {path}")
    status, body = codec_for(style).encode_error(err)
    return Response(
        content=body, status_code=status, media_type="application/json", headers={"x-gateway": GATEWAY_HEADER}
    )
