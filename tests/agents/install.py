"""Install the pinned coding-agent CLIs into ``.cache/agents`` (``python -m tests.agents.install``),
and Aider into its own venv ``.cache/aider/venv``.

The versions live in ``tests/agents/package.json`` + ``package-lock.json`` (exact pins, lock made
by npm). ``npm ci`` runs in the cache folder, so a clean clone gets byte-identical clients and a
second run is a no-op: the install is skipped when every pinned package is already there at its
pinned version and the lock file has not changed since. Prints how long it took.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = ROOT / ".cache" / "agents"
BIN = CACHE / "node_modules" / ".bin"
NPM_TIMEOUT_S = 900

# executable name -> npm package that provides it
EXECUTABLES = {
    "claude": "@anthropic-ai/claude-code",
    "codex": "@openai/codex",
    "gemini": "@google/gemini-cli",
    "opencode": "opencode-ai",
    "qwen": "@qwen-code/qwen-code",
    "cn": "@continuedev/cli",
    "cline": "cline",
}


class InstallError(RuntimeError):
    """The pinned clients could not be installed (npm missing or failing)."""


def pinned() -> dict[str, str]:
    """Package -> exact version, from the repo's package.json."""
    deps: dict[str, str] = json.loads((HERE / "package.json").read_text())["dependencies"]
    return deps


def _lock_digest() -> str:
    return hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()


def installed_version(package: str) -> str | None:
    manifest = CACHE / "node_modules" / package / "package.json"
    try:
        version: str = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return version


def is_installed() -> bool:
    """Every pinned package present at its pinned version, from the current lock file."""
    stamp = CACHE / ".lock-sha256"
    if not stamp.exists() or stamp.read_text().strip() != _lock_digest():
        return False
    if any(installed_version(pkg) != version for pkg, version in pinned().items()):
        return False
    return all((BIN / exe).exists() for exe in EXECUTABLES)


def executable(name: str) -> Path:
    """Path of a pinned client's executable (a key of ``EXECUTABLES``: ``claude``, ``cn``, ...)."""
    return BIN / name


def install(*, force: bool = False) -> float:
    """Run ``npm ci`` into the cache unless already installed; return the seconds it took."""
    start = time.monotonic()
    if not force and is_installed():
        print(f"agents: pinned clients already installed in {CACHE} ({_versions()})", flush=True)
        return time.monotonic() - start
    npm = shutil.which("npm")
    if npm is None:
        raise InstallError(
            "npm is not on PATH: the agents tier needs Node.js >= 20 with npm to install the pinned "
            "coding-agent CLIs (Claude Code, Codex CLI, Gemini CLI, OpenCode, Qwen Code, Continue, "
            "Cline: see tests/agents/package.json)"
        )
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(HERE / name, CACHE / name)
    (CACHE / ".lock-sha256").unlink(missing_ok=True)
    done = _npm(npm, "ci")
    if done.returncode != 0 and "EUSAGE" in done.stderr:
        # npm ci refuses a lock that lacks optional platform packages the registry does not serve
        # (a partial mirror has no opencode-darwin-*/windows-* 1.18.33, so npm cannot lock them).
        # npm install with the same exact pins and lock installs the identical tree.
        print(
            "agents: npm ci refused the lock (registry lacks some optional platform builds); "
            "falling back to npm install with the same pins",
            flush=True,
        )
        done = _npm(npm, "install")
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
        raise InstallError(f"npm failed with exit code {done.returncode}:\n{tail}")
    missing = [p for p, v in pinned().items() if installed_version(p) != v]
    missing += [str(BIN / exe) for exe in EXECUTABLES if not (BIN / exe).exists()]
    if missing:
        raise InstallError(f"npm ci finished but these are missing or at the wrong version: {missing}")
    (CACHE / ".lock-sha256").write_text(_lock_digest())
    took = time.monotonic() - start
    print(f"agents: installed {_versions()} in {took:.1f}s", flush=True)
    return took


# ------------------------------------------------------------------------------------------ Aider
# Aider is a Python CLI whose wheel pins every dependency exactly (litellm, openai, tree-sitter, ...),
# which would fight the project's own pins: it gets its own venv, never the project's.

AIDER_PACKAGE = "aider-chat"
AIDER_VERSION = "0.86.2"
AIDER_VENV = ROOT / ".cache" / "aider" / "venv"
AIDER_BIN = AIDER_VENV / "bin" / "aider"
PIP_TIMEOUT_S = 900


def _aider_stamp() -> str:
    return f"{AIDER_PACKAGE}=={AIDER_VERSION}"


def aider_installed() -> bool:
    """The venv holds the pinned Aider (the stamp is written only after a complete install)."""
    stamp = AIDER_VENV / ".installed"
    return AIDER_BIN.exists() and stamp.exists() and stamp.read_text().strip() == _aider_stamp()


def _aider_python() -> str:
    """An interpreter Aider supports (its wheel requires Python >= 3.10, < 3.13)."""
    if (3, 10) <= sys.version_info[:2] < (3, 13):
        return sys.executable
    for name in ("python3.12", "python3.11", "python3.10"):
        found = shutil.which(name)
        if found:
            return found
    raise InstallError(f"Aider {AIDER_VERSION} needs Python 3.10-3.12; none found on PATH")


def install_aider(*, force: bool = False) -> float:
    """Create ``.cache/aider/venv`` with the pinned aider-chat unless present; seconds taken."""
    start = time.monotonic()
    if not force and aider_installed():
        print(f"agents: {_aider_stamp()} already installed in {AIDER_VENV}", flush=True)
        return time.monotonic() - start
    if AIDER_VENV.exists():
        shutil.rmtree(AIDER_VENV)  # half-made or another version: start clean
    print(f"agents: creating {AIDER_VENV} with {_aider_stamp()} ...", flush=True)
    steps = [
        [_aider_python(), "-m", "venv", str(AIDER_VENV)],
        [str(AIDER_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         _aider_stamp()],
    ]  # fmt: skip
    for cmd in steps:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise InstallError(f"{cmd[:3]} did not finish within {PIP_TIMEOUT_S}s") from exc
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
            raise InstallError(f"{' '.join(cmd[:4])} failed with exit code {done.returncode}:\n{tail}")
    if not AIDER_BIN.exists():
        raise InstallError(f"pip finished but {AIDER_BIN} is missing")
    (AIDER_VENV / ".installed").write_text(_aider_stamp())
    took = time.monotonic() - start
    print(f"agents: installed {_aider_stamp()} in {took:.1f}s", flush=True)
    return took


def _npm(npm: str, verb: str) -> subprocess.CompletedProcess[str]:
    cmd = [npm, verb, "--no-audit", "--no-fund", "--loglevel=error"]
    print(f"agents: npm {verb} in {CACHE} ...", flush=True)
    try:
        return subprocess.run(
            cmd, cwd=CACHE, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"npm {verb} did not finish within {NPM_TIMEOUT_S}s") from exc


def _versions() -> str:
    return ", ".join(f"{p}@{installed_version(p)}" for p in pinned())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        install(force="--force" in args)
        install_aider(force="--force" in args)
    except InstallError as exc:
        print(f"agents: install failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
