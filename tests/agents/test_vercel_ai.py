"""The Vercel AI SDK (npm ``ai``, pinned with its providers in package.json) through the gateway.

``vercel_ai.mjs`` runs generateText, streamText and a tool round trip through the
OpenAI-compatible provider (Chat Completions) and the Anthropic provider (Messages), both at
``<gateway>/v1``; the routes reach the fake of the same style, so each provider's requests arrive
at a provider that speaks them. The fakes answer deterministically (tests/e2e/fakes/script.py):
``Echo: <prompt>``, one call of the offered tool, then ``Tool results: <name>=<result>``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.agents.clients import _base_env
from tests.agents.install import CACHE, HERE
from tests.agents.tap import ClientTap
from tests.e2e.conftest import KEY, Env

pytestmark = [pytest.mark.agents, pytest.mark.timeout(120), pytest.mark.usefixtures("agents_installed")]

SCRIPT = "vercel_ai.mjs"
# SDK provider -> the fake style its route reaches
STYLES = {"openai-compatible": "openai-chat", "anthropic": "anthropic-messages"}
PATHS = {"openai-chat": "/v1/chat/completions", "anthropic-messages": "/v1/messages"}


def _run_script(env: Env, tap: ClientTap, tmp_path: Path) -> dict[str, Any]:
    # ESM resolves bare imports from the script's own folder upwards: run it next to node_modules
    script = CACHE / SCRIPT
    shutil.copyfile(HERE / SCRIPT, script)
    node = shutil.which("node")
    assert node, "node is not on PATH"
    run_env = {
        **_base_env(tmp_path),
        "GATEWAY_URL": tap.base_url,
        "GATEWAY_KEY": KEY,
        "CHAT_MODEL": env.model("openai-chat", "ok"),
        "ANTHROPIC_MODEL": env.model("anthropic-messages", "ok"),
    }
    done = subprocess.run(
        [node, str(script)], cwd=CACHE, env=run_env, capture_output=True, text=True, timeout=90, check=False
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_vercel_ai_sdk_generate_stream_and_tools(env: Env, tap: ClientTap, tmp_path: Path) -> None:
    tap.clear()
    results = _run_script(env, tap, tmp_path)
    errors = {
        f"{p}.{t}": o["error"] for p, tasks in results.items() for t, o in tasks.items() if "error" in o
    }
    assert not errors, f"SDK calls failed: {errors}"

    for provider, style in STYLES.items():
        out = results[provider]
        assert out["generate"]["text"] == "Echo: Say hello", (provider, out["generate"])
        assert out["generate"]["finishReason"] == "stop", (provider, out["generate"])
        usage = out["generate"]["usage"]  # the fake's fixed usage: 100 in, 30 of them cache reads
        assert usage["inputTokens"] == 100 and usage["cachedInputTokens"] == 30, (provider, usage)
        # streamed in several text deltas, whole at the end, with usage from the last event
        assert out["stream"]["text"] == "Echo: Stream hello" and out["stream"]["chunks"] > 1, (provider, out)
        assert out["stream"]["usage"]["outputTokens"] > 0, (provider, out["stream"])
        # one call planned by the fake, run by the SDK, its result answered in a second step
        tools = out["tools"]
        assert tools["toolCalls"] == [{"name": "get_weather", "input": {"city": "Paris"}}], (provider, tools)
        assert tools["toolResults"] == [{"name": "get_weather", "output": "sunny in Paris"}], (
            provider,
            tools,
        )
        assert tools["steps"] == 2 and "sunny in Paris" in tools["text"], (provider, tools)

        # what the provider of that style received: 4 calls (generate, stream, two tool steps)
        upstream = [r for r in env.fake(style).requests if r.path.endswith(PATHS[style].removeprefix("/v1"))]
        assert len(upstream) == 4, (provider, [(r.path, r.status) for r in env.fake(style).requests])
        assert all(r.status == 200 and r.json["model"] == env.model(style, "ok") for r in upstream)
        assert [bool(r.json.get("stream")) for r in upstream] == [False, True, False, False], provider
        offered = [t.name for t in upstream[2].conversation.tools] if upstream[2].conversation else []
        assert offered == ["get_weather"], (provider, offered)
        planned = [c.id for c in upstream[2].plan.calls] if upstream[2].plan else []
        answered = upstream[3].conversation
        assert answered and [r.call_id for r in answered.tool_results] == planned, (provider, planned)
        # the SDK's requests went to the gateway at <base>/v1/..., every one answered 200
        sent = [e for e in tap.exchanges if e.path == PATHS[style]]
        assert len(sent) == 4 and {e.status for e in sent} == {200}, [(e.path, e.status) for e in sent]
