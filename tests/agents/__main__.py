"""CI entry of the agents tier: ``python -m tests.agents [pytest args]``.

Installs the pinned CLIs and Aider's venv (each skipped when present), runs ``pytest -m agents tests/agents -q`` and
prints the install time and the tier's total wall time. Exit code: pytest's (1 if install fails).
"""

from __future__ import annotations

import subprocess
import sys
import time

from tests.agents import install


def main(argv: list[str]) -> int:
    start = time.monotonic()
    try:
        took = install.install() + install.install_aider()
    except install.InstallError as exc:
        print(f"agents: install failed: {exc}", file=sys.stderr)
        return 1
    cmd = [sys.executable, "-m", "pytest", "-m", "agents", "tests/agents", "-q", *argv]
    rc = subprocess.run(cmd, cwd=install.ROOT, check=False, timeout=1800).returncode
    total = time.monotonic() - start
    print(f"agents tier: install/check {took:.1f}s, total {total:.1f}s, pytest exit {rc}", flush=True)
    return rc


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
