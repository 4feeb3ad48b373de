"""The HTTP server: a Litestar app whose proxy endpoints are raw ASGI handlers (see http_edge).

``create_app()`` is the uvicorn factory (``frugal serve`` runs it in each worker); it loads the
configuration itself, so every worker process builds its own providers and pools.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException
from litestar.handlers import asgi
from litestar.types import Receive, Scope, Send

from app import config as config_module
from app.bootstrap import Runtime, build
from app.canonical import Message, Style, TextPart
from app.canonical import Request as CanonicalRequest
from app.config import LoadedConfig
from app.errors import BadRequest, GatewayError, NotFound, PayloadTooLarge
from app.gateway import GATEWAY_HEADER, Inbound, Reply
from app.http_edge import ClientWatch, guarded, query_params, read_body, request_headers, send_reply
from app.observability.logging import configure as configure_logging
from app.styles import available_styles, codec_for
from app.styles.base import ModelInfo, RequestTarget

_encoder = msgspec.json.Encoder()
_STARTED = int(time.time())


def create_app(loaded: LoadedConfig | None = None) -> Litestar:
    if loaded is None:
        loaded = config_module.load()
    configure_logging(loaded.config.logging.level)
    runtime = build(loaded)
    return _app(runtime)


def _app(runtime: Runtime) -> Litestar:
    gateway = runtime.gateway
    limit = runtime.config.limits.max_body_bytes
    styles = set(available_styles())

    def proxy(style: Style, target_of: Callable[[Scope], RequestTarget] | None = None) -> Any:
        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            headers = request_headers(scope)
            codec = codec_for(style)
            try:
                body = await read_body(receive, headers, limit)
                target = target_of(scope) if target_of is not None else RequestTarget()
            except GatewayError as err:
                await send_reply(send, gateway.error_reply(codec, err))
                return
            inbound = Inbound(style, body, headers, query_params(scope), target)

            async def work(watch: ClientWatch) -> None:
                reply = await gateway.handle(inbound)
                await send_reply(send, reply, watch)

            await guarded(receive, work)

        return handle

    handlers: list[Any] = [live, health, list_models, simple_chat]
    if "openai-chat" in styles:
        chat = proxy("openai-chat")
        handlers += [asgi("/v1/chat/completions")(chat), asgi("/chat/completions", name="chat-bare")(chat)]
    if "openai-responses" in styles:
        responses = proxy("openai-responses")
        handlers += [asgi("/v1/responses")(responses), asgi("/responses", name="responses-bare")(responses)]
    if "anthropic-messages" in styles:
        handlers += [asgi("/v1/messages")(proxy("anthropic-messages"))]
    if "google-genai" in styles:
        google = proxy("google-genai", google_target)
        handlers += [
            asgi("/v1beta/models/{name:path}", name="google-v1beta")(google),
            asgi("/v1/models/{name:path}", name="google-v1")(google),
        ]

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await runtime.aclose()

    app = Litestar(
        route_handlers=handlers,
        lifespan=[lifespan],
        openapi_config=None,
        logging_config=None,
        exception_handlers={
            NotFoundException: _not_found,
            MethodNotAllowedException: _not_found,
        },
        state=None,
    )
    app.state.runtime = runtime
    return app


def google_target(scope: Scope) -> RequestTarget:
    """``/v1beta/models/gemini-2.5-flash:streamGenerateContent`` -> model and stream flag."""
    name = str(scope["path_params"].get("name", "")).lstrip("/")
    model, sep, method = name.rpartition(":")
    if not sep:
        raise NotFound(f"unknown Google GenAI method for '{name}': expected models/MODEL:generateContent")
    if method == "generateContent":
        return RequestTarget(model=model, stream=False)
    if method == "streamGenerateContent":
        return RequestTarget(model=model, stream=True)
    raise NotFound(f"unsupported Google GenAI method '{method}'")


# ---------------------------------------------------------------------------- plain endpoints


def _runtime(request: Request[Any, Any, Any]) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _reply_response(reply: Reply) -> Response[bytes]:
    return Response(
        content=reply.body,
        status_code=reply.status,
        headers=dict(reply.headers),
        media_type=reply.content_type,
    )


@get("/live", sync_to_thread=False)
def live() -> Response[bytes]:
    return Response(content=b'{"status":"ok"}', media_type="application/json")


@get("/health")
async def health(request: Request[Any, Any, Any]) -> Response[bytes]:
    runtime = _runtime(request)
    providers = {
        name: ("disabled: " + p.disabled_reason) if p.disabled_reason else "ok"
        for name, p in runtime.providers.items()
    }
    ok = any(v == "ok" for v in providers.values())
    body = {"status": "ok" if ok else "unavailable", "providers": providers, "config": runtime.source}
    return Response(
        content=_encoder.encode(body), status_code=200 if ok else 503, media_type="application/json"
    )


@get("/v1/models")
async def list_models(request: Request[Any, Any, Any]) -> Response[bytes]:
    runtime = _runtime(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    style: Style = (
        "anthropic-messages"
        if "anthropic-version" in headers and "anthropic-messages" in available_styles()
        else "openai-chat"
    )
    codec = codec_for(style)
    try:
        runtime.gateway.authenticate(headers, dict(request.query_params))
    except GatewayError as err:
        return _reply_response(runtime.gateway.error_reply(codec, err))
    models = [ModelInfo(id=n, created=_STARTED) for n in runtime.gateway.resolver.names()]
    return Response(
        content=codec.encode_models(models),
        media_type="application/json",
        headers={"x-gateway": GATEWAY_HEADER},
    )


class _SimpleChat(msgspec.Struct):
    message: str
    model: str | None = None


@asgi("/chat", name="chat-simple")
async def simple_chat(scope: Scope, receive: Receive, send: Send) -> None:
    """``POST /chat {"message": "...", "model"?: "..."}`` -> ``{"response": "...", "model": "..."}``."""
    runtime: Runtime = scope["app"].state.runtime
    gateway = runtime.gateway
    codec = codec_for("openai-chat")
    headers = request_headers(scope)
    if scope.get("method") != "POST":
        await send_reply(send, gateway.error_reply(codec, NotFound("use POST /chat with a JSON body")))
        return
    try:
        raw = await read_body(receive, headers, runtime.config.limits.max_body_bytes)
        try:
            msg = msgspec.json.decode(raw, type=_SimpleChat)
        except msgspec.ValidationError as exc:
            raise BadRequest(f"body: {exc}") from None
        except msgspec.DecodeError as exc:
            raise BadRequest(f"request body is not valid JSON: {exc}") from None
    except (BadRequest, PayloadTooLarge) as err:
        await send_reply(send, gateway.error_reply(codec, err))
        return
    req = CanonicalRequest(
        model=msg.model or "auto", messages=[Message("user", [TextPart(msg.message)])], style="openai-chat"
    )

    async def work(watch: ClientWatch) -> None:
        reply = await gateway.handle_canonical(req, headers, query_params(scope))
        if reply.status == 200:
            resp = msgspec.json.decode(reply.body)
            text = resp["choices"][0]["message"]["content"] or ""
            reply.body = _encoder.encode({"response": text, "model": resp.get("model") or req.model})
        await send_reply(send, reply, watch)

    await guarded(receive, work)


def _not_found(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    path = request.url.path
    style: Style = "openai-chat"
    if path.startswith("/v1beta") and "google-genai" in available_styles():
        style = "google-genai"
    elif "anthropic-version" in request.headers and "anthropic-messages" in available_styles():
        style = "anthropic-messages"
    if isinstance(exc, MethodNotAllowedException):
        err: GatewayError = NotFound(f"method {request.method} is not allowed on {path}")
        err.status = 405
    else:
        err = NotFound(f"unknown endpoint {request.method} {path}")
    status, body = codec_for(style).encode_error(err)
    return Response(
        content=body, status_code=status, media_type="application/json", headers={"x-gateway": GATEWAY_HEADER}
    )
