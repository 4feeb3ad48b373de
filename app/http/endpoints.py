"""The proxy endpoints as raw ASGI handlers: one per API style, plus the side endpoints clients
touch (token counting, Google model lookups, ``POST /chat``, raw passthrough)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import msgspec
from litestar.types import HTTPScope, Receive, Send

from app.bootstrap import Runtime
from app.canonical import Message, Request, Style, TextPart
from app.errors import BadRequest, GatewayError, NotFound
from app.gateway import GATEWAY_HEADER, Inbound, Reply, as_gateway_error
from app.http import raw_passthrough
from app.http.edge import ClientWatch, guarded, query_params, read_body, request_headers, send_reply
from app.http.router import Handler
from app.http.token_counting import TokenCounter
from app.styles import available_styles, codec_for
from app.styles.base import ModelInfo, RequestTarget

_encoder = msgspec.json.Encoder()
STARTED = int(time.time())


class _SimpleChat(msgspec.Struct):
    message: str
    model: str | None = None


class MethodNotAllowed(NotFound):
    status = 405


class ProxyEndpoints:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.gateway = runtime.gateway
        self.limit = runtime.config.limits.max_body_bytes
        self.tokens = TokenCounter(runtime.gateway, runtime.providers)

    # ------------------------------------------------------------------ routing table

    def exact(self) -> dict[str, Handler]:
        styles = available_styles()
        table: dict[str, Handler] = {"/chat": self.simple_chat}
        if "openai-chat" in styles:
            table["/v1/chat/completions"] = table["/chat/completions"] = self.proxy("openai-chat")
        if "openai-responses" in styles:
            table["/v1/responses"] = table["/responses"] = self.proxy("openai-responses")
            table["/v1/responses/input_tokens"] = self.counter("openai-responses")
        if "anthropic-messages" in styles:
            table["/v1/messages"] = self.proxy("anthropic-messages")
            table["/v1/messages/count_tokens"] = self.counter("anthropic-messages")
        if "google-genai" in styles:
            table["/v1beta/models"] = self.google
        return table

    def prefixes(self) -> list[tuple[str, Handler]]:
        out: list[tuple[str, Handler]] = [("/v1/raw/", self.raw)]
        if "google-genai" in available_styles():
            out += [("/v1beta/models/", self.google), ("/v1/models/", self.google)]
        return out

    # ------------------------------------------------------------------ proxying

    def proxy(self, style: Style, target: Callable[[HTTPScope], RequestTarget] | None = None) -> Handler:
        async def handle(scope: HTTPScope, receive: Receive, send: Send) -> None:
            if scope["method"] != "POST":
                await self._fail(send, style, MethodNotAllowed(f"use POST for {scope['path']}"))
                return
            await self._proxy(scope, receive, send, style, target(scope) if target else RequestTarget())

        return handle

    async def _proxy(
        self, scope: HTTPScope, receive: Receive, send: Send, style: Style, target: RequestTarget
    ) -> None:
        await self._serve(scope, receive, send, style, target, self.gateway.handle)

    def counter(self, style: Style, target: RequestTarget | None = None) -> Handler:
        async def handle(scope: HTTPScope, receive: Receive, send: Send) -> None:
            if scope["method"] != "POST":
                await self._fail(send, style, MethodNotAllowed(f"use POST for {scope['path']}"))
                return
            await self._count(scope, receive, send, style, target or RequestTarget())

        return handle

    async def _count(
        self, scope: HTTPScope, receive: Receive, send: Send, style: Style, target: RequestTarget
    ) -> None:
        await self._serve(scope, receive, send, style, target, self.tokens.count)

    async def _serve(
        self,
        scope: HTTPScope,
        receive: Receive,
        send: Send,
        style: Style,
        target: RequestTarget,
        answer: Callable[[Inbound], Awaitable[Reply]],
    ) -> None:
        """Read the body within limits, answer it, and cancel the work if the client leaves."""
        headers = request_headers(scope)
        try:
            body = await read_body(receive, headers, self.limit)
        except GatewayError as err:
            await self._fail(send, style, err)
            return
        inbound = Inbound(style, body, headers, query_params(scope), target)

        async def work(watch: ClientWatch) -> None:
            try:
                reply = await answer(inbound)
            except Exception as exc:  # whatever a handler missed still answers in the caller's style
                reply = self.gateway.error_reply(codec_for(style), as_gateway_error(exc))
            await send_reply(send, reply, watch)

        await guarded(receive, work)

    async def _fail(self, send: Send, style: Style, err: GatewayError) -> None:
        await send_reply(send, self.gateway.error_reply(codec_for(style), err))

    # ------------------------------------------------------------------ Google paths

    async def google(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        """``/v1beta/models[/{model}[:method]]`` and ``/v1/models/{model}:method``."""
        path: str = scope["path"]
        rest = path.split("/models", 1)[1].strip("/")
        model, sep, method = rest.rpartition(":")
        if not sep:
            model, method = rest, ""
        if scope["method"] == "GET":
            await self._google_models(scope, send, model)
            return
        if scope["method"] != "POST":
            await self._fail(
                send, "google-genai", MethodNotAllowed(f"method {scope['method']} is not allowed on {path}")
            )
            return
        if method == "generateContent":
            await self._proxy(scope, receive, send, "google-genai", RequestTarget(model=model, stream=False))
        elif method == "countTokens":
            await self._count(scope, receive, send, "google-genai", RequestTarget(model=model, stream=False))
        elif method == "streamGenerateContent":
            sse = query_params(scope).get("alt") == "sse"
            await self._proxy(
                scope, receive, send, "google-genai", RequestTarget(model=model, stream=True, sse=sse)
            )
        else:
            await self._fail(
                send, "google-genai", NotFound(f"unsupported Google GenAI method '{method or rest}'")
            )

    async def _google_models(self, scope: HTTPScope, send: Send, model: str) -> None:
        """Model listing and lookup under ``/v1beta/models`` and ``/v1/models/{id}``, shaped for
        whoever asks: the google-genai SDK uses ``/v1`` by default, as OpenAI clients do."""
        headers = request_headers(scope)
        query = query_params(scope)
        style = listing_style(headers, query, scope["path"])
        codec = codec_for(style)
        try:
            self.gateway.authenticate(headers, query)
            names = self.gateway.resolver.names()
            if not model:
                body = codec.encode_models([ModelInfo(id=n, created=STARTED) for n in names])
            else:
                name = model.removeprefix("models/")
                if name not in names:
                    self.gateway.resolver.resolve(name)  # raises the did-you-mean 400 when unknown
                body = _one_model(codec.encode_models([ModelInfo(id=name, created=STARTED)]), style)
        except GatewayError as err:
            await send_reply(send, self.gateway.error_reply(codec, err))
            return
        await send_reply(send, Reply(200, [("x-gateway", GATEWAY_HEADER)], body))

    # ------------------------------------------------------------------ side endpoints

    async def simple_chat(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        """``POST /chat {"message": "...", "model"?: "..."}`` -> ``{"response": "...", "model": "..."}``."""
        if scope["method"] != "POST":
            await self._fail(send, "openai-chat", MethodNotAllowed('use POST /chat with {"message": "..."}'))
            return
        headers = request_headers(scope)
        try:
            raw = await read_body(receive, headers, self.limit)
            try:
                msg = msgspec.json.decode(raw, type=_SimpleChat)
            except msgspec.ValidationError as exc:
                raise BadRequest(f"body: {exc}") from None
            except msgspec.DecodeError as exc:
                raise BadRequest(f"request body is not valid JSON: {exc}") from None
        except Exception as exc:  # deep nesting raises RecursionError: still the caller's fault
            await self._fail(send, "openai-chat", as_gateway_error(exc))
            return
        req = Request(
            model=msg.model or "auto",
            messages=[Message("user", [TextPart(msg.message)])],
            style="openai-chat",
        )

        async def work(watch: ClientWatch) -> None:
            reply = await self.gateway.handle_canonical(req, headers, query_params(scope))
            if reply.status == 200:
                answer = msgspec.json.decode(reply.body)
                text = answer["choices"][0]["message"]["content"] or ""
                reply.body = _encoder.encode({"response": text, "model": answer.get("model") or req.model})
            await send_reply(send, reply, watch)

        await guarded(receive, work)

    async def raw(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        headers = request_headers(scope)
        provider, _, path = scope["path"].removeprefix("/v1/raw/").partition("/")
        try:
            body = await read_body(receive, headers, self.limit)
        except GatewayError as err:
            await self._fail(send, "openai-chat", err)
            return

        async def work(watch: ClientWatch) -> None:
            reply = await raw_passthrough.forward(
                self.gateway,
                self.runtime.providers,
                provider,
                path,
                scope["method"],
                headers,
                query_params(scope),
                body,
            )
            await send_reply(send, reply, watch)

        await guarded(receive, work)


def listing_style(headers: dict[str, str], query: dict[str, str], path: str) -> Style:
    """Which style's shape a model listing should have, from how the client identifies itself."""
    styles = available_styles()
    google = "x-goog-api-key" in headers or "x-goog-api-client" in headers or "key" in query
    if "google-genai" in styles and (google or path.startswith("/v1beta")):
        return "google-genai"
    if "anthropic-version" in headers and "anthropic-messages" in styles:
        return "anthropic-messages"
    return "openai-chat"


def _one_model(listing: bytes, style: Style) -> bytes:
    """The single-model object of a style, taken from its one-entry listing."""
    obj = msgspec.json.decode(listing)
    entries = obj["models"] if style == "google-genai" else obj["data"]
    return _encoder.encode(entries[0])
