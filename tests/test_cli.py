"""The ``frugal`` command in-process: help, version, exit codes (0 / 2 / 1), and the ``serve``
start-up summary, which must never show a password or a key."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.config import load
from app.console import ServeTarget, render_summary, summary_lines

SECRETS = (
    "db-pass-planted",
    "redis-pass-planted",
    "pw-planted",
    "sk-ant-planted-99999",
    "sk-admin-planted-123456",
)
CONFIG = """
auth: {api_keys: ["sk-admin-planted-123456"]}
providers:
  - {name: up, style: anthropic-messages, base_url: "https://user:pw-planted@api.example.com/v1",
     api_key: sk-ant-planted-99999, models: ["claude-*"]}
  - {name: local, style: mock}
routes: [{name: coder, steps: [{provider: up, model: claude-sonnet-4-5}, {provider: local, model: m}]}]
usage: {database_url: "postgresql://frugal:db-pass-planted@db.internal:5432/usage"}
cache: {backend: redis, url: "redis://:redis-pass-planted@cache.internal:6379/0"}
tiers: {cheap: claude-haiku-4-5, strong: coder}
optimizers: {diff_first: true}
"""


def test_help_version_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("serve", "check-config", "replay", "train", "eval-router"):
        assert command in out
    assert "Exit codes" in out
    assert main(["--version"]) == 0 and "frugal-gateway" in capsys.readouterr().out
    assert main(["no-such-command"]) == 2
    assert main(["serve", "--port", "not-a-port"]) == 2
    assert main(["serve", "--workers", "0"]) == 2
    assert main(["replay"]) == 2  # PATH... is required
    assert main(["eval-router", "x.jsonl", "--router", "psychic"]) == 2


def test_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "gw.yaml"
    bad.write_text("limits: {max_messages: many}\n")
    assert main(["check-config", "--config", str(bad)]) == 2
    assert "limits.max_messages" in capsys.readouterr().err
    assert main(["train"]) == 2 and "--from-usage" in capsys.readouterr().err
    missing = tmp_path / "missing.jsonl"
    assert main(["eval-router", str(missing), "--router", "heuristic"]) == 2


def test_keyless_start_on_railway_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAILWAY_ENVIRONMENT", "production")
    for var in ("GATEWAY_API_KEY", "FRUGAL_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no gateway.yaml here
    assert main(["serve", "--port", "0"]) == 2
    assert "GATEWAY_API_KEY" in capsys.readouterr().err


def test_summary_names_everything_and_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "gw.yaml"
    path.write_text(CONFIG)
    loaded = load(str(path))
    from app.bootstrap import stage_names

    stages = stage_names(loaded.config)
    lines = summary_lines(loaded.config, loaded.source, ServeTarget("0.0.0.0", 8080, 2), stages)
    text = render_summary(lines, colour=False)
    assert "http://127.0.0.1:8080" in text and "2 workers" in text
    assert "up  anthropic-messages  https://api.example.com/v1  (key set)" in text
    assert "coder: up/claude-sonnet-4-5 -> local/m" in text
    assert "cheap=claude-haiku-4-5, strong=coder" in text
    assert "redis redis://cache.internal:6379/0" in text
    assert "PostgreSQL postgresql://db.internal:5432/usage" in text
    assert "diff_first" in text and "tier" in text and stages[0] == "skills"
    assert "1 key" in text
    for secret in SECRETS:
        assert secret not in text, secret
    coloured = render_summary(lines, colour=True)
    assert (
        "\x1b[1m" in coloured
        and coloured.replace("\x1b[1m", "").replace("\x1b[2m", "").replace("\x1b[0m", "") == text
    )


def test_stage_names_follow_the_switches(tmp_path: Path) -> None:
    path = tmp_path / "gw.yaml"
    path.write_text(
        "providers: [{name: m, style: mock, models: ['*']}]\n"
        "cache: {backend: 'off'}\noptimizers: {dedup: false, boilerplate: false, prompt_cache: false}\n"
        "skills: {enabled: false}\n"
    )
    from app.bootstrap import stage_names

    assert stage_names(load(str(path)).config) == ["tier"]
