"""``/v1/raw/{provider}/{path}``: any provider endpoint the gateway does not model (batches,
files, embeddings, fine-tuning ...), forwarded as is.

The caller authenticates with its gateway key and is rate-limited like any request; the gateway
swaps in the provider's own credentials, keeps the method, query string, body and content type,
and streams the provider's answer back unchanged. ``path`` is relative to the provider's
``base_url`` (``/v1/raw/openai/files`` -> ``https://api.openai.com/v1/files``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx

from app.errors import GatewayError, NotFound, UpstreamConnect, UpstreamTimeout
from app.gateway import GATEWAY_HEADER, Gateway, Reply
from app.providers.base import Provider
from app.providers.http_provider import HttpProvider
from app.styles import codec_for

log = logging.getLogger("frugal.raw")

# Client headers that describe the payload or the provider protocol, never credentials.
_FORWARD = frozenset(
    {"content-type", "accept", "anthropic-beta", "anthropic-version", "openai-beta", "idempotency-key"}
)
_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "server", "date"}
)


async def forward(
    gateway: Gateway,
    providers: dict[str, Provider],
    name: str,
    path: str,
    method: str,
    headers: dict[str, str],
    query: dict[str, str],
    body: bytes,
) -> Reply:
    codec = codec_for("openai-chat")
    try:
        project = gateway.authenticate(headers, query)
        remaining = await gateway.admit(project, len(body))
        provider = providers.get(name)
        if not isinstance(provider, HttpProvider):
            known = (
                ", ".join(sorted(n for n, p in providers.items() if isinstance(p, HttpProvider))) or "none"
            )
            raise NotFound(f"no HTTP provider named '{name}' (known: {known})")
        if provider.disabled_reason:
            raise NotFound(f"provider '{name}' is {provider.disabled_reason}")
        params = {k: v for k, v in query.items() if k != "key"}  # never pass the gateway key on
        out_headers = {k: v for k, v in headers.items() if k in _FORWARD}
        request = provider.client.build_request(
            method,
            provider.base_url + "/" + path.lstrip("/"),
            params=params,
            headers=out_headers,
            content=body or None,
        )
        try:
            resp = await provider.client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(str(exc), provider=name) from None
        except httpx.TransportError as exc:
            raise UpstreamConnect(str(exc), provider=name) from None
    except GatewayError as err:
        return gateway.error_reply(codec, err)

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in resp.aiter_bytes():  # decoded: Content-Encoding is not passed on
                yield chunk
        finally:
            await resp.aclose()

    reply_headers = [
        (k, v) for k, v in resp.headers.multi_items() if k.lower() not in _HOP and k.lower() != "content-type"
    ]
    reply_headers += [("x-gateway", GATEWAY_HEADER), ("x-provider", name)]
    if remaining is not None:
        reply_headers.append(("x-ratelimit-remaining", str(remaining)))
    log.info(
        "raw passthrough",
        extra={"project": project.name, "provider": name, "path": path, "status": resp.status_code},
    )
    return Reply(
        resp.status_code,
        reply_headers,
        stream=relay(),
        content_type=resp.headers.get("content-type", "application/octet-stream"),
    )
