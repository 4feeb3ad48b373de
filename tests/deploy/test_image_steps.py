"""The Dockerfile's steps run without Docker: its build stage's install commands in a venv,
its final stage's COPY sources laid out as in the image, and its ENTRYPOINT started as an
unprivileged user from there — the gateway must come up, answer /live, pass the image's own
HEALTHCHECK command and proxy a request (mock provider, no config)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.test_deploy_files import ROOT, _stages
from tests.e2e.gateway_process import free_port
from tests.support.processes import stop, wait_http_ok


def _interpreter() -> str:
    """A Python the unprivileged user can run, like the image's /usr/local one: the system's
    when it is 3.11+ (this machine's own lives under /root), else the running one."""
    system = Path("/usr/bin/python3")
    if system.exists():
        done = subprocess.run([str(system), "-c", "import sys, venv, ensurepip; print(sys.version_info >= (3, 11))"],
                              capture_output=True, text=True, check=False)  # fmt: skip
        if done.stdout.strip() == "True":
            return str(system)
    return sys.executable


def _unprivileged(python: Path) -> list[str]:
    """The prefix that runs a command as ``nobody`` (the image's USER is not root either)."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    probe = subprocess.run([runuser, "-u", "nobody", "--", str(python), "-c", "pass"], check=False)
    assert probe.returncode == 0, f"nobody cannot run {python}"
    return [runuser, "-u", "nobody", "--"]


def _args(instruction: str) -> list[str]:
    text = instruction.strip()
    return json.loads(text) if text.startswith("[") else ["sh", "-c", text]


@pytest.fixture
def image_root() -> Iterator[Path]:
    """A directory the unprivileged user can walk into (pytest's own tmp_path is root's only)."""
    root = Path(tempfile.mkdtemp(prefix="frugal-image-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_the_image_steps_install_and_serve(image_root: Path) -> None:
    tmp_path = image_root
    build, final = _stages()[0], _stages()[-1]
    venv = tmp_path / "venv"
    srv = tmp_path / "srv"
    work = tmp_path / "build"
    work.mkdir()
    # build stage: every COPY into the work dir, then the RUN steps that make /opt/venv
    for ins, arg in build:
        if ins == "COPY":
            *sources, _dest = arg.split()
            for src in sources:
                shutil.copy(ROOT / src, work / Path(src).name)
        elif ins == "RUN" and "/opt/venv" in arg:
            cmd = arg.replace("/opt/venv", str(venv)).replace("python -m venv", f"{_interpreter()} -m venv")
            done = subprocess.run(
                ["sh", "-c", cmd], cwd=work, capture_output=True, text=True, timeout=600, check=False
            )
            assert done.returncode == 0, done.stderr[-3000:]
    # final stage: sources where the image has them (WORKDIR /srv), environment as ENV sets it
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "HOME": str(tmp_path)}
    for ins, arg in final:
        if ins == "COPY" and not arg.startswith("--from"):
            src, dest = arg.split()
            shutil.copytree(ROOT / src, srv / Path(dest).relative_to("/srv"))
        elif ins == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", arg):
                env[key] = value.replace("/opt/venv", str(venv)).replace("$PATH", env["PATH"])
    env["PYTHONPATH"] = str(srv)
    port = free_port()
    env["PORT"] = str(port)
    entry = next(arg for ins, arg in final if ins == "ENTRYPOINT").replace(
        "0.0.0.0", "127.0.0.1"
    )  # loopback only
    healthcheck = next(arg for ins, arg in final if ins == "HEALTHCHECK").split(" CMD ", 1)[1]
    user = _unprivileged(venv / "bin" / "python")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([*user, *_args(entry)], cwd=srv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_http_ok(f"http://127.0.0.1:{port}/live", 60, alive=lambda: proc.poll() is None), (
            tmp_path / "serve.log"
        ).read_text()
        check = subprocess.run([*user, "sh", "-c", healthcheck], cwd=srv, env=env, timeout=30, check=False)
        assert check.returncode == 0
        answer = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hello"}]},
            timeout=30,
        )
        assert (
            answer.status_code == 200 and "Mock response" in answer.json()["choices"][0]["message"]["content"]
        )
    finally:
        stop(proc)
        log.close()
    served = (tmp_path / "serve.log").read_text()
    assert "Frugal Gateway" in served and "listening" in served  # the start-up summary
