"""Token counting endpoints: Anthropic ``POST /v1/messages/count_tokens``, Google
``:countTokens`` and OpenAI ``POST /v1/responses/input_tokens``.

When the route's first available step is a provider of the caller's style, the caller's body
goes there (model replaced) and its count comes back as is; otherwise — another style, or the
provider did not answer — the gateway estimates (``app.observability.token_estimate``) and answers in the
caller's shape, with ``X-Token-Count: estimated``.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import msgspec

from app.canonical import Style
from app.errors import BadRequest, GatewayError
from app.gateway import GATEWAY_HEADER, Gateway, Inbound, Reply
from app.observability.token_estimate import estimate_request
from app.providers.base import Provider
from app.providers.http_provider import HttpProvider
from app.styles import codec_for

log = logging.getLogger("frugal.tokens")
_encoder = msgspec.json.Encoder()


def _answer(style: Style, n: int) -> bytes:
    if style == "anthropic-messages":
        return _encoder.encode({"input_tokens": n})
    if style == "google-genai":
        return _encoder.encode({"totalTokens": n})
    return _encoder.encode({"object": "response.input_tokens", "input_tokens": n})


def _upstream_path(style: Style, model: str) -> str:
    if style == "anthropic-messages":
        return "/v1/messages/count_tokens"
    if style == "google-genai":
        return f"/v1beta/models/{model}:countTokens"
    return "/responses/input_tokens"


class TokenCounter:
    def __init__(self, gateway: Gateway, providers: dict[str, Provider]) -> None:
        self._gateway = gateway
        self._providers = providers

    async def count(self, inbound: Inbound) -> Reply:
        style = inbound.style
        codec = codec_for(style)
        try:
            project = self._gateway.authenticate(inbound.headers, inbound.query)
            await self._gateway.admit(project, len(inbound.body))
            try:
                body: Any = msgspec.json.decode(inbound.body) if inbound.body else None
            except msgspec.DecodeError as exc:
                raise BadRequest(f"request body is not valid JSON: {exc}") from None
            if not isinstance(body, dict):
                raise BadRequest("request body must be a JSON object")
            if style == "google-genai" and "generateContentRequest" in body:
                body = body["generateContentRequest"]
            if style == "anthropic-messages":
                body = {"max_tokens": 1, **body}  # count_tokens bodies have no max_tokens
            req = codec.decode_request(body, inbound.target)
            route = self._gateway.resolver.resolve(req.model).route
        except GatewayError as err:
            return self._gateway.error_reply(codec, err)
        for step in route.steps:
            provider = step.provider
            if provider.disabled_reason:
                continue
            if isinstance(provider, HttpProvider) and provider.style == style:
                forwarded = await self._forward(provider, style, step.model, inbound)
                if forwarded is not None:
                    return forwarded
            break
        headers = [("x-gateway", GATEWAY_HEADER), ("x-token-count", "estimated")]
        return Reply(200, headers, _answer(style, estimate_request(req)))

    async def _forward(
        self, provider: HttpProvider, style: Style, model: str, inbound: Inbound
    ) -> Reply | None:
        body: dict[str, Any] = msgspec.json.decode(inbound.body)
        if style != "google-genai":
            body["model"] = model
        headers = {k: v for k, v in inbound.headers.items() if k in provider.codec.forwarded_headers}
        try:
            resp = await provider.client.post(
                _upstream_path(style, model), content=_encoder.encode(body), headers=headers
            )
        except httpx.HTTPError as exc:
            log.warning(
                "token count upstream failed, estimating",
                extra={"provider": provider.name, "error": str(exc)},
            )
            return None
        if resp.status_code >= 500 or resp.status_code == 404:
            return None  # no such endpoint or a broken one: estimate instead
        return Reply(
            resp.status_code, [("x-gateway", GATEWAY_HEADER), ("x-provider", provider.name)], resp.content
        )
