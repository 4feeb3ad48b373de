"""The side endpoints clients touch, through their own SDKs: token counting, model listings,
``?beta=true``, the Google model lookups."""

from __future__ import annotations

import anthropic
import httpx
import pytest
from google import genai
from google.genai import types as gtypes

from tests.e2e.conftest import KEY, Env


@pytest.fixture
def claude(env: Env) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=env.url, api_key=KEY, max_retries=0)


def test_count_tokens_forwarded_to_an_anthropic_provider(env: Env, claude: anthropic.Anthropic) -> None:
    raw = claude.messages.with_raw_response.count_tokens(
        model=env.model("anthropic-messages"), messages=[{"role": "user", "content": "count me"}]
    )
    assert raw.parse().input_tokens == 4243
    assert raw.headers["x-provider"] == "fake-anthropic"
    rec = env.fake("anthropic-messages").last
    assert rec.path == "/v1/messages/count_tokens" and "max_tokens" not in rec.json


def test_count_tokens_estimated_for_another_provider_style(env: Env, claude: anthropic.Anthropic) -> None:
    raw = claude.messages.with_raw_response.count_tokens(
        model=env.model("openai-chat"), messages=[{"role": "user", "content": "count me " * 100}]
    )
    assert raw.headers["x-token-count"] == "estimated"
    assert 200 <= raw.parse().input_tokens <= 300  # ~900 characters
    assert env.fake("openai-chat").requests == []


def test_anthropic_beta_query_and_model_listing(env: Env, claude: anthropic.Anthropic) -> None:
    msg = claude.beta.messages.create(
        model=env.model("anthropic-messages"),
        max_tokens=50,
        messages=[{"role": "user", "content": "beta path"}],
    )
    assert msg.content[0].text == "Echo: beta path"  # type: ignore[union-attr]
    models = claude.models.list()
    assert any(m.id == "auto" for m in models.data)


def test_google_model_listing_lookup_and_count_tokens(env: Env) -> None:
    client = genai.Client(api_key=KEY, http_options=gtypes.HttpOptions(base_url=env.url))
    names = [m.name for m in client.models.list()]
    assert "models/auto" in names
    model = client.models.get(model="auto")
    assert model.name == "models/auto"
    counted = client.models.count_tokens(model=env.model("google-genai"), contents="count these words please")
    assert counted.total_tokens is not None and counted.total_tokens > 0
    with pytest.raises(Exception, match=r"[Dd]id you mean|unknown model"):
        client.models.get(model="claud-sonnet")


def test_responses_input_tokens_estimate(env: Env) -> None:
    r = httpx.post(
        f"{env.url}/v1/responses/input_tokens",
        json={"model": env.model("openai-chat"), "input": "how many tokens is this"},
        headers={"authorization": f"Bearer {KEY}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["object"] == "response.input_tokens" and r.json()["input_tokens"] > 0


def test_google_stream_without_alt_sse_is_a_json_array(env: Env) -> None:
    with httpx.stream(
        "POST",
        f"{env.url}/v1beta/models/{env.model('openai-chat')}:streamGenerateContent",
        json={"contents": [{"role": "user", "parts": [{"text": "array please"}]}]},
        headers={"x-goog-api-key": KEY},
    ) as r:
        body = r.read().decode()
    import json

    chunks = json.loads(body)
    assert isinstance(chunks, list) and len(chunks) >= 2
    text = "".join(p.get("text", "") for c in chunks for p in c["candidates"][0]["content"]["parts"])
    assert text == "Echo: array please"


def test_openai_and_anthropic_clients_retrieve_a_model(env: Env, claude: anthropic.Anthropic) -> None:
    import openai

    oa = openai.OpenAI(base_url=f"{env.url}/v1", api_key=KEY, max_retries=0)
    assert oa.models.retrieve("auto").id == "auto"
    assert claude.models.retrieve("auto").id == "auto"


def test_stateful_responses_requests_only_go_to_responses_providers(env: Env) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{env.url}/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(
            model=env.model("openai-chat"), input="go on", previous_response_id="resp_123"
        )
    assert "previous_response_id" in info.value.message and "has none" in info.value.message
    assert env.fake("openai-chat").requests == []  # never sent where the context would be lost
    ok = client.responses.create(
        model=env.model("openai-responses"), input="go on", previous_response_id="resp_123"
    )
    assert ok.output_text.startswith("Echo")
    assert env.fake("openai-responses").last.json["previous_response_id"] == "resp_123"


def test_client_faults_tell_sdks_not_to_retry(env: Env) -> None:
    r = httpx.post(f"{env.url}/v1/messages", json={"model": "x"}, headers={"x-api-key": "wrong"})
    assert r.status_code == 401 and r.headers["x-should-retry"] == "false"
    assert r.json()["type"] == "error" and r.json()["error"]["type"] == "authentication_error"
    probe = httpx.head(f"{env.url}/api/hello")
    assert probe.status_code == 200
