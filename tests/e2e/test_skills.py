"""Skills through the running gateway, with the official SDKs as clients."""

from __future__ import annotations

import anthropic
import openai
import pytest

from tests.e2e.conftest import KEY, Env


def test_a_skill_reaches_the_provider_first_and_forces_its_tier(env: Env) -> None:
    client = openai.OpenAI(base_url=f"{env.url}/v1", api_key=KEY, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="claude-sonnet-4-5",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "audit this"}],
        extra_headers={"X-Gateway-Skill": "security-audit"},
    )
    assert raw.headers["x-gateway-tier"] == "strong" and raw.headers["x-model-source"] == "skill"
    sent = env.fake("openai-chat").last.json
    assert sent["model"] == "chat/ok-strong"  # the strong tier's route, not the model asked for
    system = [m["content"] for m in sent["messages"] if m["role"] in ("system", "developer")]
    assert system[0].startswith("Skill: security audit") and "be brief" in " ".join(system)


def test_an_unknown_skill_is_a_400_in_the_callers_style(env: Env) -> None:
    claude = anthropic.Anthropic(base_url=env.url, api_key=KEY, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as err:
        claude.messages.create(
            model=env.model("openai-chat"),
            max_tokens=20,
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"X-Gateway-Skill": "no-such-skill"},
        )
    assert "code-review" in str(err.value) and "quick-fix" in str(err.value)
    assert env.fake("openai-chat").requests == []
