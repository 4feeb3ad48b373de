"""`auto` is listed and routed in every client style, through the running gateway."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import KEY, Env

H = {
    "authorization": f"Bearer {KEY}",
    "x-api-key": KEY,
    "x-goog-api-key": KEY,
    "anthropic-version": "2023-06-01",
}


def _post(env: Env, style: str, text: str) -> httpx.Response:
    if style == "openai-chat":
        body = {"model": "auto", "messages": [{"role": "user", "content": text}]}
        return httpx.post(f"{env.url}/v1/chat/completions", json=body, headers=H)
    if style == "openai-responses":
        return httpx.post(f"{env.url}/v1/responses", json={"model": "auto", "input": text}, headers=H)
    if style == "anthropic-messages":
        body = {"model": "auto", "max_tokens": 50, "messages": [{"role": "user", "content": text}]}
        return httpx.post(f"{env.url}/v1/messages", json=body, headers=H)
    body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    return httpx.post(f"{env.url}/v1beta/models/auto:generateContent", json=body, headers=H)


@pytest.mark.parametrize("style", ["openai-chat", "openai-responses", "anthropic-messages", "google-genai"])
def test_auto_is_routed_by_the_router_in_every_style(env: Env, style: str) -> None:
    easy = _post(env, style, "hi")
    assert easy.status_code == 200, easy.text
    assert easy.headers["x-model-source"] == "auto" and easy.headers["x-gateway-tier"] == "cheap"
    hard = _post(
        env,
        style,
        "Design the architecture for splitting app/billing.py, app/ledger.py, app/invoices.py and "
        "app/payments.py into services; debug why the refactor breaks idempotency. " * 30,
    )
    assert hard.status_code == 200, hard.text
    assert hard.headers["x-gateway-tier"] == "strong"
    assert env.fake("openai-chat").last.json["model"] == "chat/ok-strong"
