"""Metrics endpoints' authorization, and keys never reaching metrics or logs."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import KEY, LIMITED_KEY, Env


def test_metrics_need_an_admin_key(env: Env) -> None:
    for path in ("/metrics", "/admin/metrics"):
        assert httpx.get(env.url + path).status_code == 401
        assert httpx.get(env.url + path, headers={"authorization": "Bearer wrong"}).status_code == 401
        denied = httpx.get(env.url + path, headers={"authorization": f"Bearer {LIMITED_KEY}"})
        assert denied.status_code == 403
        assert denied.json()["error"]["message"].startswith("this endpoint needs an admin key")
        ok = httpx.get(env.url + path, headers={"authorization": f"Bearer {KEY}"})
        assert ok.status_code == 200
        assert ok.headers["content-type"].startswith("text/plain")
        assert "# TYPE gateway_cache_hits_total counter" in ok.text


def test_planted_secrets_never_reach_metrics_or_logs(env: Env) -> None:
    planted = "sk-ant-api03-PLANTEDSECRETPLANTEDSECRET0123456789"
    headers = {"authorization": f"Bearer {KEY}"}
    body = {"model": env.model("openai-chat", "ok"), "messages": [{"role": "user", "content": "hi"}]}
    # a secret in a header the client sends, in an unknown model name, and in a failing request
    r = httpx.post(env.url + "/v1/chat/completions", json=body, headers={**headers, "x-extra": planted})
    assert r.status_code == 200
    r = httpx.post(env.url + "/v1/chat/completions", json={**body, "model": planted}, headers=headers)
    assert r.status_code == 400
    assert planted not in r.text
    r = httpx.post(
        env.url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {planted}"}
    )
    assert r.status_code == 401
    scrape = httpx.get(env.url + "/metrics", headers=headers).text
    log = env.gateway.log()
    for secret in (planted, KEY, "upstream-secret-chat", "upstream-secret-anthropic"):
        assert secret not in scrape, secret
        assert secret not in log, secret


def test_debug_logging_never_shows_keys(env: Env) -> None:
    from tests.e2e.conftest import gateway_config
    from tests.e2e.gateway_process import running_gateway

    config = gateway_config(env.fakes) + "logging: {level: debug}\n"
    with running_gateway(config, key=KEY) as gw:
        headers = {"authorization": f"Bearer {KEY}"}
        for style, path in (("openai-chat", "/v1/chat/completions"), ("anthropic-messages", "/v1/messages")):
            body = {
                "model": env.model(style, "ok"),
                "max_tokens": 50,
                "messages": [{"role": "user", "content": "hi"}],
            }
            assert httpx.post(gw.url + path, json=body, headers=headers).status_code == 200
        assert (
            httpx.post(
                gw.url + "/v1/chat/completions",
                json={"model": "x"},
                headers={"x-api-key": "sk-wrong-key-123456"},
            ).status_code
            == 401
        )
        log = gw.log()
    assert '"level":"debug"' in log or "frugal.access" in log
    for secret in (KEY, "upstream-secret-chat", "upstream-secret-anthropic", "sk-wrong-key-123456"):
        assert secret not in log, secret
