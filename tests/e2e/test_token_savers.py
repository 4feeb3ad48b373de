"""The token-saving stages through the running gateway: what the upstream received and what the
client got, for each client style, streamed and not.

A coding-agent conversation reads the same file twice; the Anthropic upstream must receive the
second copy as a reference, at most four ``cache_control`` breakpoints, and every tool call
paired with its result; an OpenAI upstream gets a ``prompt_cache_key`` and no breakpoint field;
the client gets the answer as usual."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import KEY, Env

H = {
    "authorization": f"Bearer {KEY}",
    "x-api-key": KEY,
    "x-goog-api-key": KEY,
    "anthropic-version": "2023-06-01",
}
FILE = "\n".join(
    f"{n:>6}\t" + (f"def f{n}(x):" if n % 3 == 0 else f"    return x + {n}") for n in range(1, 121)
)
SYSTEM = "You are a careful coding agent. Follow the repository conventions. " * 40


def _chat_body(model: str, stream: bool) -> dict[str, Any]:
    call = lambda i: {"id": f"call_{i}", "type": "function",  # noqa: E731
                      "function": {"name": "read_file", "arguments": json.dumps({"path": "src/app.py"})}}  # fmt: skip
    return {
        "model": model,
        "stream": stream,
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "Fix the off-by-one in src/app.py"},
            {"role": "assistant", "content": None, "tool_calls": [call(1)]},
            {"role": "tool", "tool_call_id": "call_1", "content": FILE},
            {"role": "assistant", "content": "Let me look again.", "tool_calls": [call(2)]},
            {"role": "tool", "tool_call_id": "call_2", "content": FILE},
            {"role": "user", "content": "what did you find?"},
        ],
        "tools": [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}],
    }


def _anthropic_body(model: str, stream: bool) -> dict[str, Any]:
    use = lambda i: {"type": "tool_use", "id": f"toolu_{i}", "name": "read_file",  # noqa: E731
                     "input": {"path": "src/app.py"}}  # fmt: skip
    result = lambda i: {"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": FILE}  # noqa: E731
    return {
        "model": model,
        "max_tokens": 200,
        "stream": stream,
        "system": SYSTEM,
        "messages": [
            {"role": "user", "content": "Fix the off-by-one in src/app.py"},
            {"role": "assistant", "content": [use(1)]},
            {"role": "user", "content": [result(1)]},
            {"role": "assistant", "content": [{"type": "text", "text": "Let me look again."}, use(2)]},
            {"role": "user", "content": [result(2), {"type": "text", "text": "what did you find?"}]},
        ],
        "tools": [{"name": "read_file", "input_schema": {"type": "object"}}],
    }


def _count_breakpoints(node: Any) -> int:
    if isinstance(node, dict):
        return int("cache_control" in node) + sum(_count_breakpoints(v) for v in node.values())
    if isinstance(node, list):
        return sum(_count_breakpoints(v) for v in node)
    return 0


def _send(env: Env, client: str, model: str, stream: bool) -> httpx.Response:
    if client == "openai-chat":
        return httpx.post(
            f"{env.url}/v1/chat/completions", json=_chat_body(model, stream), headers=H, timeout=30
        )
    return httpx.post(f"{env.url}/v1/messages", json=_anthropic_body(model, stream), headers=H, timeout=30)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("client", ["openai-chat", "anthropic-messages"])
def test_an_anthropic_upstream_gets_breakpoints_and_the_repeated_file_as_a_reference(
    env: Env, client: str, stream: bool
) -> None:
    resp = _send(env, client, env.model("anthropic-messages"), stream)
    assert resp.status_code == 200, resp.text
    assert "Tool results" in resp.text  # the fake answers from the tool results it received
    sent = env.fake("anthropic-messages").last.json
    assert 1 <= _count_breakpoints(sent) <= 4
    results = [
        b
        for m in sent["messages"]
        if isinstance(m["content"], list)
        for b in m["content"]
        if b["type"] == "tool_result"
    ]
    texts = [json.dumps(r["content"]) for r in results]
    assert len(results) == 2 and "return x + 119" in texts[0]  # the first copy is whole
    assert "return x + 119" not in texts[1] and "src/app.py" in texts[1]  # the second is a reference
    uses = [b["id"] for m in sent["messages"] if isinstance(m["content"], list) for b in m["content"]
            if b["type"] == "tool_use"]  # fmt: skip
    assert [r["tool_use_id"] for r in results] == uses  # every call still paired with its result


def test_an_openai_upstream_gets_a_prompt_cache_key_and_no_breakpoint_field(env: Env) -> None:
    resp = _send(env, "anthropic-messages", env.model("openai-chat"), False)
    assert resp.status_code == 200, resp.text
    sent = env.fake("openai-chat").last.json
    assert sent["prompt_cache_key"].startswith("frugal-")
    assert _count_breakpoints(sent) == 0
    tool_msgs = [m for m in sent["messages"] if m["role"] == "tool"]
    assert "return x + 119" in json.dumps(tool_msgs[0]) and "return x + 119" not in json.dumps(tool_msgs[1])
