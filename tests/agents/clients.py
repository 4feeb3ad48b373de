"""Run the real coding-agent CLIs headless against a gateway, one throwaway HOME per run.

Each client class writes the config files its CLI needs into a fresh HOME, sets the env vars that keep it offline (no telemetry, update checks, model
catalogue fetches or runtime npm installs), and runs it with unattended tool permissions and a
hard timeout. The gateway route name is passed as the client's model.

    result = CLIENTS["opencode"].run(gateway_url, key, "chat/agent", workdir, prompt)
    result.exit_code, result.stdout, result.stderr, result.duration
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tests.agents.install import AIDER_BIN, BIN, CACHE

# a cell takes 1-7 s; Gemini CLI retries a failing call for ~90 s, Claude Code a 5xx for minutes
DEFAULT_TIMEOUT_S = 45.0


@dataclass
class RunResult:
    client: str
    exit_code: int  # -1 when killed by the timeout
    stdout: str
    stderr: str
    duration: float
    timed_out: bool
    home: Path
    workdir: Path

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr

    def describe(self) -> str:
        """For assertion messages: what the client printed."""
        return (
            f"{self.client}: exit {self.exit_code} after {self.duration:.1f}s"
            f"{' (TIMEOUT)' if self.timed_out else ''}\n--- stdout\n{self.stdout[-3000:]}\n"
            f"--- stderr\n{self.stderr[-4000:]}"
        )


class AgentClient:
    """One CLI: ``prepare`` writes its HOME config, ``command`` builds its argv."""

    name: ClassVar[str]
    executable: ClassVar[str]

    def env(self, gateway_url: str, key: str) -> dict[str, str]:
        raise NotImplementedError

    def prepare(self, home: Path, gateway_url: str, model: str) -> None:
        """Write the config files into ``home`` (none by default)."""

    def command(self, model: str, prompt: str) -> list[str]:
        raise NotImplementedError

    def binary(self) -> Path:
        return BIN / self.executable

    def run(
        self,
        gateway_url: str,
        key: str,
        model: str,
        workdir: Path,
        prompt: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        extra_env: dict[str, str] | None = None,
    ) -> RunResult:
        home = Path(tempfile.mkdtemp(prefix=f"home.{self.name}.", dir=workdir.parent))
        self.prepare(home, gateway_url, model)
        env = {**_base_env(home), **self.env(gateway_url, key), **(extra_env or {})}
        argv = [str(self.binary()), *self.command(model, prompt)]
        start = time.monotonic()
        proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,  # its own process group, so a timeout kills its children too
        )
        timed_out = False
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            stdout, stderr = proc.communicate(timeout=10)
        duration = time.monotonic() - start
        code = -1 if timed_out else proc.returncode
        return RunResult(self.name, code, stdout, stderr, duration, timed_out, home, workdir)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _base_env(home: Path) -> dict[str, str]:
    node = shutil.which("node")
    path = [str(BIN)]
    if node:
        path.append(str(Path(node).parent))
    path += ["/usr/local/bin", "/usr/bin", "/bin"]
    return {
        "PATH": os.pathsep.join(dict.fromkeys(path)),
        "HOME": str(home),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
    }


# ------------------------------------------------------------------------------------ Claude Code


class ClaudeCode(AgentClient):
    """``claude -p``: Anthropic Messages at ``$ANTHROPIC_BASE_URL/v1/messages?beta=true``, no config file."""

    name = "claude-code"
    executable = "claude"

    def env(self, gateway_url: str, key: str) -> dict[str, str]:
        return {
            "ANTHROPIC_BASE_URL": gateway_url,  # no /v1: Claude Code appends /v1/messages
            "ANTHROPIC_API_KEY": key,  # sent as x-api-key
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
        }

    def command(self, model: str, prompt: str) -> list[str]:
        # --dangerously-skip-permissions is refused as root; this pair works unattended
        return [
            "-p",
            prompt,
            "--model",
            model,
            "--permission-mode",
            "acceptEdits",
            "--allowedTools",
            "Write",
            "Bash",
        ]


# ------------------------------------------------------------------------------------------ Codex


class Codex(AgentClient):
    """``codex exec``: OpenAI Responses at ``<base_url>/responses`` through a custom provider.

    With ``catalogue=True`` the route gets the model metadata of Codex's bundled ``gpt-5.5`` entry
    (``model_catalog_json``), as a user would give a gateway route the tools of the model behind
    it: the free-form ``apply_patch`` tool, ``tool_search``, ``reasoning.effort``,
    ``text.verbosity``. Without it Codex uses its fallback metadata for an unknown slug:
    ``exec_command``, a ``namespace`` tool of sub-agent functions, ``reasoning.summary``.
    """

    name = "codex"
    executable = "codex"
    provider = "frugal"
    key_var = "FRUGAL_GATEWAY_KEY"

    def __init__(self, *, catalogue: bool = True) -> None:
        self.catalogue = catalogue
        if not catalogue:
            self.name = "codex-fallback"

    def env(self, gateway_url: str, key: str) -> dict[str, str]:
        return {self.key_var: key}

    def prepare(self, home: Path, gateway_url: str, model: str) -> None:
        codex_home = home / ".codex"
        codex_home.mkdir(parents=True)
        lines = [f"model = {json.dumps(model)}", f'model_provider = "{self.provider}"']
        if self.catalogue:
            catalogue = codex_home / "model_catalog.json"
            entry = {**codex_reference_model(), "slug": model, "display_name": model}
            catalogue.write_text(json.dumps({"models": [entry]}))
            lines.append(f"model_catalog_json = {json.dumps(str(catalogue))}")
        lines += [
            "",
            f"[model_providers.{self.provider}]",
            'name = "Frugal Gateway"',
            f"base_url = {json.dumps(gateway_url + '/v1')}",  # Codex appends /responses
            'wire_api = "responses"',
            f'env_key = "{self.key_var}"',
        ]
        (codex_home / "config.toml").write_text("\n".join(lines) + "\n")

    def command(self, model: str, prompt: str) -> list[str]:
        return [
            "exec",
            "--sandbox",
            "workspace-write",
            "--skip-git-repo-check",
            # no lookups of github.com / chatgpt.com (plugins, analytics, update check)
            "-c",
            "analytics.enabled=false",
            "-c",
            "check_for_update_on_startup=false",
            "--disable",
            "plugins",
            "--disable",
            "remote_plugin",
            "--disable",
            "apps",
            prompt,
        ]


_CODEX_REFERENCE_SLUG = "gpt-5.5"


def codex_reference_model() -> dict[str, object]:
    """Codex's bundled catalogue entry for gpt-5.5, read once from the installed binary."""
    cached = CACHE / f"codex-catalogue-{_CODEX_REFERENCE_SLUG}.json"
    if cached.exists():
        entry: dict[str, object] = json.loads(cached.read_text())
        return entry
    binary = next((CACHE / "node_modules" / "@openai").glob("codex-linux-*/vendor/*/bin/codex"))
    with binary.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        anchor = data.find(b'"apply_patch_tool_type": "freeform"')
        start = data.rfind(b'{\n  "models"', 0, anchor)
        if anchor < 0 or start < 0:
            raise RuntimeError(f"no bundled model catalogue found in {binary}")
        text = data[start : start + 4_000_000].decode("utf-8", "replace")
    catalogue, _end = json.JSONDecoder().raw_decode(text)
    entry = next(m for m in catalogue["models"] if m["slug"] == _CODEX_REFERENCE_SLUG)
    cached.write_text(json.dumps(entry))
    return entry


# ------------------------------------------------------------------------------------- Gemini CLI


class GeminiCli(AgentClient):
    """``gemini -p``: Google GenAI at ``$GOOGLE_GEMINI_BASE_URL/v1beta/models/<model>:...``.

    With ``auto=True`` the CLI runs in its default ``auto`` mode: its numerical routing
    classifier (a non-streamed JSON-schema ``generateContent``) goes to route ``<model>-router``
    and both tiers (flash, pro) resolve to route ``<model>`` (settings ``modelConfigs`` +
    ``experimental.dynamicModelConfiguration``). Otherwise ``-m <model>`` skips the classifier.
    """

    name = "gemini"
    executable = "gemini"

    def __init__(self, *, auto: bool = False) -> None:
        self.auto = auto
        if auto:
            self.name = "gemini-auto"

    @staticmethod
    def router_route(model: str) -> str:
        return model + "-router"

    def env(self, gateway_url: str, key: str) -> dict[str, str]:
        return {
            "GOOGLE_GEMINI_BASE_URL": gateway_url,  # no version: the SDK appends /v1beta/models/...
            "GEMINI_API_KEY": key,  # sent as x-goog-api-key
            "GEMINI_CLI_TRUST_WORKSPACE": "true",
        }

    def prepare(self, home: Path, gateway_url: str, model: str) -> None:
        settings: dict[str, object] = {
            "security": {"auth": {"selectedType": "gemini-api-key"}},
            "privacy": {"usageStatisticsEnabled": False},
            "telemetry": {"enabled": False},
            "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
        }
        if self.auto:
            router = self.router_route(model)
            settings["experimental"] = {"dynamicModelConfiguration": True}
            settings["modelConfigs"] = {
                "customAliases": {"classifier": {"extends": "base", "modelConfig": {"model": router}}},
                "classifierIdResolutions": {
                    "flash": {"default": model, "contexts": []},
                    "pro": {"default": model, "contexts": []},
                },
            }
        (home / ".gemini").mkdir(parents=True)
        (home / ".gemini" / "settings.json").write_text(json.dumps(settings, indent=2))

    def command(self, model: str, prompt: str) -> list[str]:
        argv = ["-p", prompt, "--yolo"]
        return argv if self.auto else [*argv, "-m", model]


# --------------------------------------------------------------------------------------- OpenCode


class OpenCode(AgentClient):
    """``opencode run``: OpenAI Chat Completions at ``<baseURL>/chat/completions``."""

    name = "opencode"
    executable = "opencode"
    provider = "frugal"
    plugin_version = "1.18.33"

    def env(self, gateway_url: str, key: str) -> dict[str, str]:
        return {
            "FRUGAL_GATEWAY_KEY": key,
            "OPENCODE_DISABLE_AUTOUPDATE": "1",
            "OPENCODE_DISABLE_MODELS_FETCH": "1",
            "OPENCODE_DISABLE_SHARE": "1",
            "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
        }

    def prepare(self, home: Path, gateway_url: str, model: str) -> None:
        cfg_dir = home / ".config" / "opencode"
        (cfg_dir / "node_modules").mkdir(parents=True)
        config = {
            "$schema": "https://opencode.ai/config.json",
            "autoupdate": False,
            "share": "disabled",
            "model": f"{self.provider}/{model}",
            "small_model": f"{self.provider}/{model}",  # the title request goes to the same route
            "permission": {"edit": "allow", "bash": "allow", "webfetch": "deny"},
            "provider": {
                self.provider: {
                    "npm": "@ai-sdk/openai-compatible",  # bundled in the binary, never installed
                    "name": "Frugal Gateway",
                    "options": {"baseURL": gateway_url + "/v1", "apiKey": "{env:FRUGAL_GATEWAY_KEY}"},
                    "models": {
                        model: {
                            "name": model,
                            "tool_call": True,
                            "reasoning": True,
                            "limit": {"context": 128000, "output": 8192},
                        }
                    },
                }
            },
        }
        (cfg_dir / "opencode.json").write_text(json.dumps(config, indent=2))
        # Pre-seed: OpenCode skips its background `npm install @opencode-ai/plugin` when
        # node_modules exists and the lock lists every dependency of package.json.
        deps = {"@opencode-ai/plugin": self.plugin_version}
        (cfg_dir / "package.json").write_text(json.dumps({"dependencies": deps}))
        lock = {"lockfileVersion": 3, "packages": {"": {"dependencies": deps}}}
        (cfg_dir / "package-lock.json").write_text(json.dumps(lock))

    def command(self, model: str, prompt: str) -> list[str]:
        return ["run", "--print-logs", "--log-level", "INFO", "-m", f"{self.provider}/{model}", prompt]


# ------------------------------------------------------------------------------------- Qwen Code


class QwenCode(AgentClient):
    """``qwen -p``: OpenAI Chat Completions at ``$OPENAI_BASE_URL/chat/completions``.

    A Gemini CLI fork: the same ``~/.qwen/settings.json`` layout (schema ``$version`` 4, where the
    v2 ``disable*`` flags became ``general.enableAutoUpdate``) and the same tool names
    (``write_file``), but an OpenAI-compatible content generator selected by ``auth.selectedType``.
    """

    name = "qwen-code"
    executable = "qwen"

    def env(self, gateway_url: str, key: str) -> dict[str, str]:
        return {
            "OPENAI_BASE_URL": gateway_url + "/v1",  # the OpenAI SDK appends /chat/completions
            "OPENAI_API_KEY": key,
            # no warm-up HEAD/GET to the base URL before the first call (noise in the tap)
            "QWEN_CODE_DISABLE_PRECONNECT": "1",
            "QWEN_TELEMETRY_ENABLED": "false",
            "QWEN_CODE_SUPPRESS_YOLO_WARNING": "1",
        }

    def prepare(self, home: Path, gateway_url: str, model: str) -> None:
        settings = {
            "$version": 4,
            "security": {"auth": {"selectedType": "openai"}},
            "privacy": {"usageStatisticsEnabled": False},
            "telemetry": {"enabled": False},
            "general": {"enableAutoUpdate": False},
            # its vendored rg may lack the exec bit (npm skips install scripts): built-in grep
            "tools": {"useRipgrep": False},
        }
        (home / ".qwen").mkdir(parents=True)
        (home / ".qwen" / "settings.json").write_text(json.dumps(settings, indent=2))

    def command(self, model: str, prompt: str) -> list[str]:
        return ["-p", prompt, "--approval-mode", "yolo", "--auth-type", "openai", "-m", model]


# --------------------------------------------------------------------------------- Continue CLI

# Preloaded into Node CLIs that call home with no setting to turn it off: fetch() to a host other
# than loopback fails at once, as it would offline (see the file).
OFFLINE_FETCH = Path(__file__).resolve().parent / "offline_fetch.mjs"


class ContinueCli(AgentClient):
    """``cn -p``: Continue CLI headless, its one model from ``~/.continue/config.yaml``.

    ``provider: openai`` with ``apiBase: <gateway>/v1``: OpenAI Chat Completions at
    ``<apiBase>/chat/completions``; ``provider="anthropic"``: Anthropic Messages at
    ``<apiBase>/messages``. The key is a local secret, ``${{ secrets.FRUGAL_GATEWAY_KEY }}``, read
    from the process env. Its writing tool is ``Write`` (``filepath``, ``content``); ``--auto``
    allows every tool (headless mode would refuse ``Write``, an "ask" tool). Offline: metrics off
    (``CONTINUE_CLI_ENABLE_TELEMETRY=0``, ``CONTINUE_METRICS_ENABLED=0``), no update check in
    headless mode, but its version module fetches ``https://api.continue.dev/cn/info?id=<machine
    id>`` on load whatever the config says, so ``offline_fetch.mjs`` is preloaded.

    It keeps no reasoning in its history (its stream handler reads only ``content`` and
    ``tool_calls``), so it sends none back: a DeepSeek-style Chat upstream refuses its tool turn.
    """

    name = "continue"
    executable = "cn"
    key_var = "FRUGAL_GATEWAY_KEY"

    def __init__(self, *, provider: str = "openai") -> None:
        self.provider = provider
        if provider != "openai":
            self.name = f"continue-{provider}"

    def env(self, gateway_url: str, key: str) -> dict[str, str]:
        return {
            self.key_var: key,
            "CONTINUE_CLI_ENABLE_TELEMETRY": "0",
            "CONTINUE_METRICS_ENABLED": "0",
            "NODE_OPTIONS": f"--import={OFFLINE_FETCH}",
        }

    def prepare(self, home: Path, gateway_url: str, model: str) -> None:
        entry = {
            "name": "frugal",
            "provider": self.provider,
            "model": model,
            "apiBase": gateway_url + "/v1/",  # + chat/completions (openai), + messages (anthropic)
            "apiKey": "${{ secrets." + self.key_var + " }}",
            "roles": ["chat", "edit", "apply"],
            "capabilities": ["tool_use"],
        }
        config = {"name": "Frugal Gateway", "version": "0.0.1", "schema": "v1", "models": [entry]}
        (home / ".continue").mkdir(parents=True)
        (home / ".continue" / "config.yaml").write_text(json.dumps(config, indent=2))  # JSON is YAML

    def command(self, model: str, prompt: str) -> list[str]:
        return ["-p", prompt, "--auto"]  # the config: ~/.continue/config.yaml


# ------------------------------------------------------------------------------------- Cline CLI


class ClineCli(AgentClient):
    """``cline <prompt>``: Cline CLI 3 (a Bun binary on the Cline SDK), act mode, auto-approve.

    Its provider settings live in ``~/.cline/data/settings/providers.json``:
    ``openai-compatible`` with ``baseUrl: <gateway>/v1`` speaks OpenAI Chat Completions,
    ``provider="anthropic"`` Anthropic Messages (``cline auth`` refuses a base URL for it, but the
    settings file takes one; an entry without ``updatedAt`` is ignored without a word). The key
    comes from the provider's env var (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``). Its writing
    tool is ``editor`` (``path``, ``new_text``: creates a missing file). ``--thinking low`` asks
    for reasoning, as the routes' names say. Offline: ``global-settings.json`` opts out of telemetry and auto-update; the PostHog
    feature flags it polls from data.cline.bot at start come from a fresh pre-seeded cache
    (``cache/feature-flags.json``, polled again after an hour); ``CLINE_SESSION_BACKEND_MODE=local``
    runs the session in-process instead of in a detached hub daemon.
    """

    name = "cline"
    executable = "cline"
    KEY_VARS: ClassVar[dict[str, str]] = {
        "openai-compatible": "OPENAI_API_KEY",
        "anthropic": "ANTHROPIC_API_KEY",
    }

    def __init__(self, *, provider: str = "openai-compatible") -> None:
        self.provider = provider
        if provider != "openai-compatible":
            self.name = f"cline-{provider}"

    def env(self, gateway_url: str, key: str) -> dict[str, str]:
        return {self.KEY_VARS[self.provider]: key, "CLINE_SESSION_BACKEND_MODE": "local", "NO_COLOR": "1"}

    def prepare(self, home: Path, gateway_url: str, model: str) -> None:
        data = home / ".cline" / "data"
        (data / "settings").mkdir(parents=True)
        (data / "cache").mkdir()
        entry = {
            "settings": {"provider": self.provider, "model": model, "baseUrl": gateway_url + "/v1"},
            "updatedAt": "2026-01-01T00:00:00.000Z",
            "tokenSource": "manual",
        }
        providers = {
            "version": 1,
            "lastUsedProvider": self.provider,
            "modes": {},
            "providers": {self.provider: entry},
        }
        (data / "settings" / "providers.json").write_text(json.dumps(providers, indent=2))
        settings = {"telemetryOptOut": True, "autoUpdateEnabled": False}
        (data / "settings" / "global-settings.json").write_text(json.dumps(settings))
        flags = {
            "version": 2,
            "updatedAt": int(time.time() * 1000),
            "userId": None,
            "flagsPayload": {"featureFlags": {}, "featureFlagPayloads": {}},
        }
        (data / "cache" / "feature-flags.json").write_text(json.dumps(flags))

    def command(self, model: str, prompt: str) -> list[str]:
        return ["-P", self.provider, "-m", model, "--auto-approve", "true", "--thinking", "low", prompt]


# ------------------------------------------------------------------------------------------ Aider


class Aider(AgentClient):
    """``aider --message``: OpenAI Chat Completions through litellm (``openai/<route>``), no tools.

    The model answers in an edit format Aider parses from the text; for a model it does not know
    Aider uses ``whole`` (file name line + fenced whole content), ``edit_format="diff"`` asks for
    SEARCH/REPLACE blocks. It runs from its own venv (``.cache/aider/venv``). Offline: no update
    check, analytics or release notes; litellm reads its bundled model map; Aider's own model-info
    cache (normally fetched from GitHub) is pre-seeded with the route, which also tells Aider
    the route's context window. ``files`` (relative to the working dir) are added to the chat.
    """

    name = "aider"
    executable = "aider"

    def __init__(self, *, edit_format: str | None = None, files: tuple[str, ...] = ("hello.txt",)) -> None:
        self.edit_format = edit_format
        self.files = files
        if edit_format:
            self.name = f"aider-{edit_format}"

    def binary(self) -> Path:
        return AIDER_BIN

    def env(self, gateway_url: str, key: str) -> dict[str, str]:
        return {
            # Aider reads every option from AIDER_<OPTION> too (= --openai-api-base/--openai-api-key)
            "AIDER_OPENAI_API_BASE": gateway_url + "/v1",
            "AIDER_OPENAI_API_KEY": key,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of litellm's price map at import
        }

    def prepare(self, home: Path, gateway_url: str, model: str) -> None:
        info = {
            "max_input_tokens": 128000,
            "max_output_tokens": 8192,
            "input_cost_per_token": 0.0,
            "output_cost_per_token": 0.0,
            "litellm_provider": "openai",
            "mode": "chat",
        }
        caches = home / ".aider" / "caches"
        caches.mkdir(parents=True)
        # fresh (< 24 h) and non-empty, so Aider does not download it from raw.githubusercontent.com
        (caches / "model_prices_and_context_window.json").write_text(json.dumps({f"openai/{model}": info}))

    def command(self, model: str, prompt: str) -> list[str]:
        argv = [
            "--model",
            f"openai/{model}",
            "--yes-always",
            "--no-git",
            "--no-auto-commits",
            "--no-show-model-warnings",
            "--no-check-update",
            "--analytics-disable",
            "--no-show-release-notes",
            "--no-pretty",
            "--no-fancy-input",
            "--message",
            prompt,
        ]
        if self.edit_format:
            argv += ["--edit-format", self.edit_format]
        return [*argv, *self.files]


def all_clients() -> dict[str, AgentClient]:
    """Every client variant the tier runs, by name."""
    clients = [
        ClaudeCode(),
        Codex(),
        Codex(catalogue=False),
        GeminiCli(),
        GeminiCli(auto=True),
        OpenCode(),
        QwenCode(),
        ContinueCli(),
        ContinueCli(provider="anthropic"),
        ClineCli(),
        ClineCli(provider="anthropic"),
    ]
    return {c.name: c for c in clients}
