"""What the benchmark suite and the soak share: processes on loopback, their CPU and memory from
/proc, the load generators (``wrk`` or ``loadgen.py``, each in its own process), the configs of
the gateway and LiteLLM, and the ~50k-token agent request.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key"
LITELLM_KEY = "sk-bench-key"
NONCE = "@@NONCE@@"
TICKS = os.sysconf("SC_CLK_TCK")
AGENT_REQUEST = ROOT / "tests" / "data" / "agent_requests" / "claude_turn2.json"
TRACES = ROOT.parent / "shared" / "data" / "traces"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ---------------------------------------------------------------------------- processes


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn's workers, multiprocessing helpers)."""
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / TICKS


def rss_mb(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int

    @property
    def pid(self) -> int:
        return self.popen.pid

    def pids(self) -> list[int]:
        return tree(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pids())

    def rss(self) -> float:
        return rss_mb(self.pids())

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)


def start(name: str, args: list[str], port: int, tmp: Path, env: dict[str, str] | None = None) -> Proc:
    log = tmp / f"{name}.log"
    full_env = {**os.environ, **(env or {})}
    full_env.pop("DATABASE_URL", None)
    full_env.pop("REDIS_URL", None)
    with log.open("wb") as out:
        popen = subprocess.Popen(
            args, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Proc(name, popen, log, port)


def http_request(port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                 timeout: float = 5.0) -> tuple[int, bytes]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"content-type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_ready(proc: Proc, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited at start:\n{proc.log_tail()}")
        try:
            http_request(proc.port, "GET", path, timeout=1.0)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not come up in {timeout:.0f} s:\n{proc.log_tail()}")


def start_upstream(tmp: Path) -> Proc:
    port = free_port()
    p = start("upstream", [sys.executable, "bench/fake_upstream.py", str(port)], port, tmp)
    wait_ready(p, "/stats")
    return p


def upstream_calls(upstream: Proc) -> int:
    _, body = http_request(upstream.port, "GET", "/stats")
    counts: dict[str, int] = json.loads(body)
    return sum(counts.values())


def start_gateway(name: str, config: Path, tmp: Path, workers: int = 1) -> Proc:
    port = free_port()
    args = [sys.executable, "-m", "app", "serve", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        args += ["--workers", str(workers)]
    return start(name, args, port, tmp)


def start_floor(upstream: Proc, tmp: Path) -> Proc:
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "bench.floor_app:app", "--host", "127.0.0.1", "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]  # fmt: skip
    return start("floor", args, port, tmp, {"BENCH_UPSTREAM": f"http://127.0.0.1:{upstream.port}"})


BENCH_CACHE_BYTES = 1_048_576


def gateway_config(upstream_port: int, tmp: Path, *, cache_max_bytes: int | None = None) -> str:
    """Every lossless token-saving stage on, the response cache in memory, usage in SQLite,
    metrics, access log, the learned router for ``auto``. Lossy stages (size limits, stale tool
    output, context fit) stay off, and so does diff-first (it changes what the model is asked
    to write). The loop guard is off: a benchmark sends one conversation thousands of times,
    which is exactly what it exists to refuse.

    The memory response cache is bounded to 1 MB here (the default is 64 MB): LiteLLM's local
    cache, which it is compared with, keeps 200 entries (``InMemoryCache(max_size_in_memory=
    200)``), and 1 MB holds ~2,700 of this bench's answers. With 64 MB the cache alone, filled
    by (c)'s nonce-per-request misses, is more than a third of LiteLLM's whole RSS."""
    up = f"http://127.0.0.1:{upstream_port}"
    cache_extra = f", memory_max_bytes: {cache_max_bytes or BENCH_CACHE_BYTES}"
    return f"""
auth: {{api_keys: ["{KEY}"]}}
providers:
  - {{name: oai, style: openai-chat, base_url: "{up}/v1", api_key: upstream-key}}
  - {{name: anth, style: anthropic-messages, base_url: "{up}", api_key: upstream-key}}
routes:
  - {{name: bench-model, steps: [{{provider: oai, model: bench-model, timeout: 30s}}]}}
  - {{name: claude-bench, steps: [{{provider: anth, model: claude-bench, timeout: 30s}}]}}
  - {{name: claude-sonnet-4-5, steps: [{{provider: anth, model: claude-bench, timeout: 30s}}]}}
  - {{name: bench-cheap, steps: [{{provider: oai, model: bench-cheap, timeout: 30s}}]}}
  - {{name: bench-strong, steps: [{{provider: oai, model: bench-strong, timeout: 30s}}]}}
tiers: {{cheap: bench-cheap, strong: bench-strong}}
routing: {{router: learned}}
cache: {{backend: memory, ttl: 1800s{cache_extra}}}
optimizers:
  prompt_cache: true
  dedup: true
  boilerplate: true
  stale_tool_output: false
  context_fit: false
  diff_first: false
skills: {{enabled: true}}
reliability: {{rate_limit_rpm: 0, loop_guard: {{enabled: false}}}}
limits: {{max_body_bytes: 10485760, max_messages: 2000}}
usage: {{enabled: true, sqlite_path: "{tmp / 'usage.db'}"}}
logging: {{level: warning, access_log: true}}
"""


def litellm_config(upstream_port: int) -> str:
    up = f"http://127.0.0.1:{upstream_port}"
    return f"""
model_list:
  - model_name: bench-model
    litellm_params: {{model: openai/bench-model, api_base: "{up}/v1", api_key: upstream-key}}
  - model_name: claude-bench
    litellm_params: {{model: anthropic/claude-bench, api_base: "{up}", api_key: upstream-key}}
litellm_settings:
  drop_params: true
  telemetry: false
  cache: true
  cache_params: {{type: local}}
general_settings:
  master_key: {LITELLM_KEY}
"""


# ---------------------------------------------------------------------------- bodies


def chat_body(model: str = "bench-model", text: str = "hello bench", *, stream: bool = False, nonce: bool = True,
              max_tokens: int | None = None) -> bytes:  # fmt: skip
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": f"{text} {NONCE}" if nonce else text}]}
    if max_tokens:
        body["max_tokens"] = max_tokens
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def anthropic_body(text: str = "hello bench", *, stream: bool = False, nonce: bool = True) -> bytes:
    body: dict[str, Any] = {
        "model": "claude-bench",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": f"{text} {NONCE}" if nonce else text}],
    }
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def _trace_turns() -> list[tuple[str, str, str, str]]:
    """(assistant text, tool name, tool arguments, tool output) of the recorded SWE-agent sessions
    that used function calling, in order. Without those traces beside the repository (a clone on
    its own): this repository's source files viewed one after another, each view coming back
    again later as an agent's history does (what the figures were not measured on)."""
    if not TRACES.is_dir():
        return _source_views()
    turns: list[tuple[str, str, str, str]] = []
    for path in sorted(TRACES.glob("*.jsonl")):
        last = json.loads(path.read_text().splitlines()[-1])
        msgs = last["messages"]
        for i, m in enumerate(msgs[:-1]):
            nxt = msgs[i + 1]
            calls = m.get("tool_calls") or []
            if m["role"] == "assistant" and len(calls) == 1 and nxt["role"] == "tool":
                fn = calls[0]["function"]
                turns.append((m.get("content") or "", fn["name"], fn["arguments"], nxt["content"]))
    return turns


def _source_views() -> list[tuple[str, str, str, str]]:
    files = sorted((ROOT / "app").rglob("*.py"))[:40]
    views = [("", "cat", json.dumps({"path": str(f.relative_to(ROOT))}), f.read_text()[:12_000]) for f in files]
    return views + views[::3]  # a third of the files opened again


def agent_body(target_tokens: int = 50_000, *, stream: bool = False) -> tuple[bytes, int]:
    """A Claude Code turn grown to ~``target_tokens`` with real agent history.

    Claude Code's recorded turn 2 (``tests/data/agent_requests/claude_turn2.json``: its system
    blocks, 12 tool schemas, thinking settings, first user message, Write call and result) keeps
    its envelope; between its first user message and its own tool call go the tool turns of the
    recorded SWE-agent sessions (shared/data/traces: file views opened again and again, command
    outputs, edits), as Claude Code ``Bash`` tool_use / tool_result pairs, in order, until the
    body holds ~``target_tokens`` (o200k count). The newest user message ends with a
    ``<system-reminder>`` holding the nonce. Returns (body, tokens)."""
    base = json.loads(AGENT_REQUEST.read_text())
    first, *rest = base["messages"]
    turns = _trace_turns()
    if not turns:
        raise RuntimeError(f"no recorded agent turns under {TRACES}")
    history: list[dict[str, Any]] = []
    chars = len(json.dumps(base))
    i = 0
    while chars < target_tokens * 4.4:  # ~4.4 characters a token on this mix (JSON included); counted below
        text, name, args, output = turns[i % len(turns)]
        tid = f"toolu_bench{i:05d}"
        assistant = {
            "role": "assistant",
            "content": [
                *([{"type": "text", "text": text}] if text else []),
                {"type": "tool_use", "id": tid, "name": "Bash", "input": {"command": f"{name} {args}"}},
            ],
        }
        user = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tid, "content": output}]}
        history += [assistant, user]
        chars += len(json.dumps(assistant)) + len(json.dumps(user))
        i += 1
    messages = [first, *history, *rest]
    last = messages[-1]
    last["content"] = [*last["content"], {"type": "text", "text": f"<system-reminder>\nbench request {NONCE}\n</system-reminder>"}]
    base["messages"] = messages
    base["stream"] = stream
    body = json.dumps(base).encode()
    return body, count_tokens(body)


def count_tokens(anthropic_body_bytes: bytes) -> int:
    sys.path.insert(0, str(ROOT))
    from app.observability.tokens import TokenCounter
    from app.styles import codec_for
    from app.styles.base import RequestTarget

    req = codec_for("anthropic-messages").decode_request(json.loads(anthropic_body_bytes), RequestTarget())
    return TokenCounter().count_request(req, "claude-bench")


# ---------------------------------------------------------------------------- load


@dataclass
class Target:
    """One server under one scenario's request."""

    name: str
    proc: Proc
    path: str
    body: Path
    headers: dict[str, str] = field(default_factory=dict)
    nonce: bool = True


class LoadGen:
    """``loadgen.py --serve`` in its own process; one JSON command per call."""

    def __init__(self) -> None:
        self.p = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "loadgen.py"), "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip

    def run(self, cmd: dict[str, Any]) -> dict[str, Any]:
        assert self.p.stdin is not None and self.p.stdout is not None
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("the load generator died")
        out: dict[str, Any] = json.loads(line)
        if "failed" in out:
            raise RuntimeError(f"load generator: {out['failed']}")
        return out

    def command(self, t: Target, op: str, concurrency: int, *, count: int | None = None,
                duration: float | None = None, requests: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
        return {
            "op": op,
            "port": t.proc.port,
            "requests": requests or [{"path": t.path, "headers": t.headers, "body_file": str(t.body)}],
            "nonce": NONCE if t.nonce else None,
            "concurrency": concurrency,
            "count": count,
            "duration": duration,
        }

    def close(self) -> None:
        if self.p.stdin is not None:
            self.p.stdin.close()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


_LUA = """
local f = assert(io.open({body!r}, "rb"))
local body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{headers}
local function split(s, sep)
  local out, i = {{}}, 1
  while true do
    local a, b = string.find(s, sep, i, true)
    if not a then table.insert(out, string.sub(s, i)); return out end
    table.insert(out, string.sub(s, i, a - 1)); i = b + 1
  end
end
local parts = split(body, {nonce!r})
if #parts == 1 then
  wrk.body = body
else
  local n_threads = 0
  function setup(thread) n_threads = n_threads + 1; thread:set("tid", n_threads) end
  local counter = 0
  function request()
    counter = counter + 1
    return wrk.format(nil, nil, nil, table.concat(parts, {run!r} .. "-" .. tostring(tid) .. "-" .. counter))
  end
end
"""


def wrk(t: Target, concurrency: int, duration: float, tmp: Path) -> dict[str, Any]:
    headers = "\n".join(f"wrk.headers[{k!r}] = {v!r}" for k, v in t.headers.items())
    run = f"r{time.monotonic_ns()}"
    lua = tmp / f"wrk-{run}.lua"
    nonce = NONCE if t.nonce else "@@NO-NONCE-IN-THIS-BODY@@"
    lua.write_text(_LUA.format(body=str(t.body), headers=headers, nonce=nonce, run=run).replace("'", '"'))
    threads = 1 if concurrency == 1 else 2
    url = f"http://127.0.0.1:{t.proc.port}{t.path}"
    cmd = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
           "--latency", "-s", str(lua), url]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    lua.unlink()
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    if not m:
        raise RuntimeError(f"wrk output not understood:\n{out}")
    requests = int(m.group(1))
    seconds = _ms(m.group(2) + m.group(3)) / 1000
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, re.M))
    if "99" not in lat:
        raise RuntimeError(f"wrk gave no latency distribution:\n{out}")
    return {
        "requests": requests,
        "errors": errors,
        "first_error": out if errors else None,
        "seconds": seconds,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(lat["50"]),
        "p90_ms": _ms(lat["90"]),
        "p99_ms": _ms(lat["99"]),
    }
