"""Child processes the tests start (gateways, Prometheus, Chromium): wait until one answers,
stop it for sure."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx


def wait_http_ok(url: str, timeout: float = 30.0, alive: Callable[[], bool] | None = None) -> bool:
    """True once ``GET url`` answers 200 within ``timeout``; False when the time is up or
    ``alive()`` says the process is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            return False
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
