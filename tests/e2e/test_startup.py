"""Starting the gateway as a new user would: no config at all (mock), environment variables only,
several workers, and a bad config that must stop it before it serves."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from tests.e2e.conftest import Env
from tests.e2e.gateway_process import ROOT, free_port, running_gateway
from tests.support.processes import stop, wait_http_ok


def test_no_config_no_keys_mock_answers_everything() -> None:
    with running_gateway(None, env={}) as gw:
        client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key="anything", max_retries=0)
        resp = client.chat.completions.create(
            model="any-model-at-all", messages=[{"role": "user", "content": "hello"}]
        )
        assert "Mock response" in (resp.choices[0].message.content or "")
        again = client.chat.completions.create(
            model="any-model-at-all", messages=[{"role": "user", "content": "hello"}]
        )
        assert again.choices[0].message.content == resp.choices[0].message.content  # deterministic
        text = "".join(
            c.choices[0].delta.content or ""
            for c in client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hello"}], stream=True
            )
            if c.choices
        )
        assert text == resp.choices[0].message.content.replace("any-model-at-all", "m")  # type: ignore[union-attr]
        tools = [
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "parameters": {
                        "type": "object",
                        "properties": {"q": {"type": "string"}},
                        "required": ["q"],
                    },
                },
            }
        ]
        called = client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "use the tool please"}],
            tools=tools,  # type: ignore[arg-type]
        )
        assert called.choices[0].finish_reason == "tool_calls"
        assert called.choices[0].message.tool_calls[0].function.name == "lookup"  # type: ignore[index]
        assert httpx.get(f"{gw.url}/health").json()["providers"] == {
            "mock": {"status": "ok", "circuits": {"mock": "closed"}}
        }


def test_environment_variables_register_providers(env: Env) -> None:
    chat = env.fake("openai-chat")
    variables = {
        "OPENAI_API_KEY": "sk-from-env",
        "OPENAI_API_BASE": chat.base_url,
        "LOCAL_LLM_BASE_URL": chat.base_url,
        "LOCAL_LLM_API_KEY": "local-key",
        "GATEWAY_API_KEY": "env-gw-key",
    }
    with running_gateway(None, env=variables) as gw:
        client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key="env-gw-key", max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "env"}]
        )
        assert raw.headers["x-provider"] == "openai"
        assert raw.parse().choices[0].message.content == "Echo: env"
        assert chat.last.headers["authorization"] == "Bearer sk-from-env"
        local = client.chat.completions.with_raw_response.create(
            model="local:qwen-coder", messages=[{"role": "user", "content": "l"}]
        )
        assert local.headers["x-provider"] == "local" and chat.last.json["model"] == "qwen-coder"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{gw.url}/v1", api_key="wrong", max_retries=0).models.list()


def test_several_workers_serve(env: Env) -> None:
    config = f"""
providers:
  - {{name: up, style: openai-chat, base_url: "{env.fake("openai-chat").base_url}", api_key: k, models: ["chat/*"]}}
"""
    with running_gateway(config, workers=2) as gw:
        client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key="x", max_retries=0)
        answers = {
            client.chat.completions.create(model="chat/ok", messages=[{"role": "user", "content": f"w{i}"}])
            .choices[0]
            .message.content
            for i in range(20)
        }
        assert answers == {f"Echo: w{i}" for i in range(20)}


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=cwd,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def test_check_config_reports_file_key_path_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "gw.yaml"
    bad.write_text(
        "providers: [{name: a, style: openai-chat, base_url: http://x/v1}]\nroutes: [{name: r, steps: [{provider: b, model: m}]}]\n"
    )
    result = _cli(["check-config", "--config", str(bad)], tmp_path)
    assert result.returncode == 2
    assert f"{bad}: routes[0].steps[0].provider: unknown provider 'b' (known: a)" in result.stderr
    good = tmp_path / "ok.yaml"
    good.write_text(
        "providers: [{name: a, style: mock}]\nroutes: [{name: r, steps: [{provider: a, model: m}]}]\n"
    )
    ok = _cli(["check-config", "--config", str(good)], tmp_path)
    assert ok.returncode == 0 and "configuration OK" in ok.stdout and "r" in ok.stdout


def test_serve_refuses_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "gw.yaml"
    bad.write_text("limits: {max_messages: many}\n")
    port = free_port()
    result = _cli(["serve", "--config", str(bad), "--port", str(port)], tmp_path)
    assert result.returncode == 2
    assert "limits.max_messages: expected int" in result.stderr
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/live")


def test_config_from_frugal_config_variable(env: Env, tmp_path: Path) -> None:
    cfg = tmp_path / "elsewhere.yaml"
    cfg.write_text(
        json.dumps(
            {"providers": [{"name": "mock", "style": "mock", "models": ["*"]}], "aliases": {"best": "x"}}
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "app", "check-config"],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "FRUGAL_CONFIG": str(cfg)},
    )
    assert result.returncode == 0, result.stderr
    assert str(cfg) in result.stdout


def test_text_logs_one_line_per_request_and_a_start_up_summary(env: Env) -> None:
    chat = env.fake("openai-chat").base_url
    config = f"""
providers:
  - {{name: fake-chat, style: openai-chat, base_url: "{chat}", api_key: sk-upstream-planted-1234567890abcdef, models: ["chat/*"]}}
usage: {{database_url: "postgresql://frugal:db-pass-planted@127.0.0.1:1/none"}}
logging: {{format: text}}
"""
    with running_gateway(config) as gw:
        client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key="x", max_retries=0)
        for i in range(3):
            client.chat.completions.create(model="chat/ok", messages=[{"role": "user", "content": f"q{i}"}])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and gw.log().count(" 200 openai-chat ") < 3:
            time.sleep(0.05)
        log = gw.log()
    requests = [line for line in log.splitlines() if " 200 openai-chat chat/ok -> fake-chat/chat/ok " in line]
    assert len(requests) == 3, log
    assert all(re.match(r"^\d\d:\d\d:\d\d 200 ", line) and "\x1b" not in line for line in requests)
    assert not any(line.startswith("{") for line in log.splitlines())  # no JSON line at all
    assert f"listening       http://127.0.0.1:{gw.port}" in log
    assert "usage store     PostgreSQL postgresql://127.0.0.1:1/none" in log
    assert "stages          skills -> cache -> prompt_cache -> dedup -> boilerplate -> tier" in log
    assert "db-pass-planted" not in log and "sk-upstream-planted" not in log


def test_auto_format_colours_a_terminal(env: Env, tmp_path: Path) -> None:
    """``logging.format: auto`` (the default) on a real pseudo-terminal: coloured lines."""
    chat = env.fake("openai-chat").base_url
    cfg = tmp_path / "gw.yaml"
    cfg.write_text(
        f'providers: [{{name: fake-chat, style: openai-chat, base_url: "{chat}", api_key: sk-up, models: ["chat/*"]}}]\n'
    )
    port = free_port()
    leader, follower = pty.openpty()
    env_vars = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FRUGAL_CONFIG")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env={**env_vars, "TERM": "xterm"},
    )  # fmt: skip
    os.close(follower)
    seen = b""
    try:
        assert wait_http_ok(f"http://127.0.0.1:{port}/live", 30, alive=lambda: proc.poll() is None)
        httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            json={"model": "chat/ok", "messages": [{"role": "user", "content": "hi"}]},
            timeout=10,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and b"chat/ok -> fake-chat" not in seen:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(leader, 65536)
                except OSError:
                    break
    finally:
        stop(proc)
        os.close(leader)
    text = seen.decode(errors="replace")
    assert "\x1b[1mFrugal Gateway\x1b[0m" in text  # the summary, in bold
    assert "\x1b[32m\x1b[1m200\x1b[0m openai-chat chat/ok -> fake-chat/chat/ok" in text, text[-2000:]
    assert '{"ts":' not in text
