"""The deployment files, checked without Docker (it does not run on our machines): the
Dockerfile parsed stage by stage, the compose file and railway.toml read as data, and the
gateway's refusal to start keyless on Railway."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for ins in _instructions((ROOT / "Dockerfile").read_text()):
        if ins[0] == "FROM":
            stages.append([])
        stages[-1].append(ins)
    return stages


def test_dockerfile_is_multi_stage_pinned_non_root_and_copies_what_exists() -> None:
    stages = _stages()
    assert len(stages) >= 2
    for stage in stages:
        base = stage[0][1].split()[0]
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base), base
    final = stages[-1]
    users = [arg for ins, arg in final if ins == "USER"]
    assert users and users[-1] not in ("root", "0")
    runs = " ".join(arg for ins, arg in final if ins == "RUN")
    assert not re.search(r"build-essential|\bgcc\b|apt-get install", runs), (
        "no build tools in the final image"
    )
    for stage in stages:
        for ins, arg in stage:
            if ins == "COPY" and not arg.startswith("--from"):
                sources = [a for a in arg.split() if not a.startswith("--")][:-1]
                for src in sources:
                    assert (ROOT / src).exists(), f"COPY source {src} is not in the repository"
    text = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements.lock" in text
    assert "PORT" in text and "/live" in text and "EXPOSE 8080" in text


def test_compose_wires_redis_and_postgres() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    env = compose["services"]["gateway"]["environment"]
    assert env["REDIS_URL"].startswith("redis://redis:") and env["DATABASE_URL"].startswith("postgresql://")
    assert {"redis", "postgres"} <= set(compose["services"])
    ports = compose["services"]["gateway"]["ports"]
    assert ports == ["8080-8089:8080"]  # a range: `--scale gateway=N` must not fight over one host port
    assert all("healthcheck" in compose["services"][s] for s in ("redis", "postgres"))


def test_railway_config() -> None:
    cfg = tomllib.loads((ROOT / "railway.toml").read_text())
    deploy = cfg["deploy"]
    assert deploy["healthcheckPath"] == "/live"
    assert "0.0.0.0" in deploy["startCommand"] and "PORT" in deploy["startCommand"]
    assert deploy["restartPolicyType"] in ("ON_FAILURE", "ALWAYS")
    assert isinstance(deploy["numReplicas"], int) and deploy["numReplicas"] >= 1
    assert (ROOT / cfg["build"]["dockerfilePath"]).exists()


def test_on_railway_a_missing_key_refuses_to_start_with_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "FRUGAL_CONFIG"}
    env["RAILWAY_ENVIRONMENT"] = "production"
    done = subprocess.run([sys.executable, "-m", "app", "serve", "--port", "1"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "GATEWAY_API_KEY" in done.stderr and len(done.stderr.strip().splitlines()) == 1
