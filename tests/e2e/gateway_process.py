"""Starting the real gateway (``python -m app serve``) on a free loopback port for a test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import stop, wait_http_ok

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class GatewayProcess:
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    key: str | None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running_gateway(
    config_yaml: str | None,
    *,
    key: str | None = None,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    timeout: float = 30.0,
) -> Iterator[GatewayProcess]:
    """Start the gateway with ``config_yaml`` (None: configured from ``env`` only)."""
    tmp = Path(tempfile.mkdtemp(prefix="frugal-e2e-"))
    args = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1"]
    if config_yaml is not None:
        cfg = tmp / "gateway.yaml"
        cfg.write_text(config_yaml)
        args += ["--config", str(cfg)]
    port = free_port()
    args += ["--port", str(port), "--workers", str(workers)]
    base_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k not in _GATEWAY_VARS}
    proc_env = {**base_env, **(env or {})}
    log_path = tmp / "gateway.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(args, cwd=tmp, env=proc_env, stdout=log, stderr=subprocess.STDOUT)
    gw = GatewayProcess(port, proc, log_path, key)
    try:
        _wait_live(gw, timeout)
        yield gw
    finally:
        stop(proc)


_GATEWAY_VARS = {
    "FRUGAL_CONFIG",
    "GATEWAY_API_KEY",
    "LOCAL_LLM_BASE_URL",
    "REDIS_URL",
    "DATABASE_URL",
    "RATE_LIMIT_RPM",
    "PORT",
}


def _wait_live(gw: GatewayProcess, timeout: float) -> None:
    if wait_http_ok(f"{gw.url}/live", timeout, alive=lambda: gw.proc.poll() is None):
        return
    if gw.proc.poll() is not None:
        raise RuntimeError(f"gateway exited with {gw.proc.returncode}:\n{gw.log()}")
    raise RuntimeError(f"gateway did not become live in {timeout}s:\n{gw.log()}")
