"""The benchmark suite: the gateway against the floor and LiteLLM Proxy, in one run, on loopback.

Starts a fast fake upstream (OpenAI Chat and Anthropic Messages, streamed and not), the floor
(``floor_app.py``: bare Litestar + aiohttp passthrough), the gateway with one worker and with two
(every lossless token-saving stage on, response cache in memory, usage in SQLite, metrics,
access log) and LiteLLM Proxy (installed by this script into ``.cache/bench-litellm``, pinned,
telemetry off, no database, one worker, its in-memory cache on), each in its own process, and
drives them with ``wrk`` (or ``loadgen.py`` without it) from another process.

Scenarios: (a) passthrough, OpenAI client -> OpenAI upstream; (b) conversion, OpenAI client ->
Anthropic upstream, streamed and not; (c) a ~50k-token Claude Code request (real recorded agent
history) through every lossless stage, response cache missed (a nonce per request); (d) a
response-cache hit; (e) ``model: auto`` with the learned router; (f) the gateway with 2 workers.
Then the router's own decision time (``router_latency.py``) and a memory soak (``soak.py``).

Every figure comes from this run; "added" latency is through-the-server minus calling the
upstream directly (its p50), measured in the same run.

Usage: ``python bench/suite.py [--quick | --smoke] [--json out.json] [--profile]``
(``--quick`` < 90 s, reuses an installed LiteLLM or skips it; ``--smoke`` is the tiny test mode:
50 requests a run, no LiteLLM).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness as h
from bench.harness import KEY, LITELLM_KEY, LoadGen, Proc, Target

LITELLM_VERSION = "1.81.13"  # pinned: the bench installs exactly this
LITELLM_VENV = h.ROOT / ".cache" / "bench-litellm"
RESULTS = h.ROOT / "bench" / "results"


@dataclass(frozen=True)
class Mode:
    name: str
    duration: float | None  # seconds a load run lasts, or
    count: int | None  # requests a load run sends
    streams: int  # streamed answers timed per target
    warm: int  # requests before a target's first measured run
    soak: int  # soak requests
    router_n: int  # router decisions timed
    profile_s: int  # seconds of py-spy sampling per profiled scenario


MODES = {
    "full": Mode("full", 8.0, None, 500, 300, 100_000, 2000, 10),
    "quick": Mode("quick", 1.0, None, 50, 100, 5_000, 500, 4),
    "smoke": Mode("smoke", None, 50, 10, 10, 500, 50, 2),
}
CONCURRENCY = (1, 16, 64)


class Suite:
    def __init__(self, mode: Mode, tmp: Path, use_wrk: bool, log: Callable[[str], None]) -> None:
        self.mode = mode
        self.tmp = tmp
        self.use_wrk = use_wrk
        self.log = log
        self.gen = LoadGen()
        self.results: dict[str, Any] = {}

    def body(self, name: str, data: bytes) -> Path:
        path = self.tmp / f"{name}.json"
        path.write_bytes(data)
        return path

    # ------------------------------------------------------------------ driving

    def drive(self, t: Target, concurrency: int) -> dict[str, Any]:
        before = t.proc.cpu()
        if self.use_wrk and self.mode.duration is not None:
            res = h.wrk(t, concurrency, self.mode.duration, self.tmp)
        else:
            cmd = self.gen.command(t, "load", concurrency, count=self.mode.count, duration=self.mode.duration)
            res = self.gen.run(cmd)
        used = t.proc.cpu() - before
        res["cpu_ms_per_req"] = used * 1000 / res["requests"] if res["requests"] else None
        if res["errors"]:
            self.log(f"    ! {t.name}: {res['errors']} failed requests at c={concurrency}: {str(res['first_error'])[:300]}")
        return res

    def warm(self, t: Target) -> None:
        res = self.gen.run(self.gen.command(t, "load", 4, count=self.mode.warm))
        if res["errors"]:
            raise RuntimeError(f"{t.name} {t.path}: warm-up failed: {res['first_error']}")

    def measure(self, t: Target, direct_p50: float | None, levels: tuple[int, ...] = CONCURRENCY) -> dict[str, Any]:
        try:
            return self._measure(t, direct_p50, levels)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            self.log(f"  {t.name:<10} FAILED: {str(exc)[:600]}")
            return {"failed": str(exc)[:2000]}

    def _measure(self, t: Target, direct_p50: float | None, levels: tuple[int, ...]) -> dict[str, Any]:
        self.warm(t)
        out: dict[str, Any] = {}
        for c in levels:
            out[f"c{c}"] = self.drive(t, c)
        if direct_p50 is not None and "c1" in out:
            out["added_p50_ms"] = out["c1"]["p50_ms"] - direct_p50
            out["added_p99_ms"] = out["c1"]["p99_ms"] - direct_p50
        out["cpu_ms_per_req"] = out.get("c16", out.get("c1", {})).get("cpu_ms_per_req")
        self.log(
            f"  {t.name:<10} c1 p50 {out['c1']['p50_ms']:7.3f} ms"
            + (f"  added {out['added_p50_ms']:6.3f} ms" if "added_p50_ms" in out else "")
            + "".join(f"  c{c} {out[f'c{c}']['rps']:7.0f}/s" for c in levels if c > 1)
            + (f"  cpu {out['cpu_ms_per_req']:.3f} ms/req" if out["cpu_ms_per_req"] else "")
        )
        return out

    def stream(self, t: Target) -> dict[str, Any]:
        try:
            res = self.gen.run(self.gen.command(t, "stream", 1, count=self.mode.streams))
        except RuntimeError as exc:
            self.log(f"  {t.name:<10} stream FAILED: {exc}")
            return {"failed": str(exc)}
        if res["errors"]:
            self.log(f"    ! {t.name} stream: {res['errors']} failed: {str(res['first_error'])[:300]}")
        self.log(f"  {t.name:<10} stream TTFB p50 {res['ttfb_p50_ms']:.3f} ms, TTLB p50 {res['ttlb_p50_ms']:.3f} ms")
        return {k: res[k] for k in ("requests", "errors", "ttfb_p50_ms", "ttfb_p99_ms", "ttlb_p50_ms", "ttlb_p99_ms")}


# ---------------------------------------------------------------------- LiteLLM


def litellm_installed() -> str | None:
    py = LITELLM_VENV / "bin" / "python"
    if not (LITELLM_VENV / "bin" / "litellm").exists():
        return None
    try:
        out = subprocess.run([str(py), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                             capture_output=True, text=True, timeout=60, check=False).stdout.strip()  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out or None


def ensure_litellm(mode: Mode, log: Callable[[str], None]) -> tuple[str | None, str | None]:
    """(version, None) when LiteLLM is ready, else (None, why not)."""
    if mode.name == "smoke":
        return None, "not run in --smoke"
    version = litellm_installed()
    if version == LITELLM_VERSION:
        return version, None
    if mode.name == "quick":
        return None, f"no LiteLLM {LITELLM_VERSION} in {LITELLM_VENV} (--quick does not install; run the full suite once)"
    log(f"installing litellm[proxy]=={LITELLM_VERSION} into {LITELLM_VENV} ...")
    install_log = LITELLM_VENV.parent / "bench-litellm-install.log"
    LITELLM_VENV.parent.mkdir(parents=True, exist_ok=True)
    try:
        with install_log.open("w") as out:
            if not (LITELLM_VENV / "bin" / "python").exists():
                subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True, stdout=out, stderr=out)
            subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"],
                           check=True, stdout=out, stderr=out, timeout=1200)  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        tail = install_log.read_text(errors="replace").strip().splitlines()[-5:] if install_log.exists() else []
        return None, f"install failed ({exc}); {' | '.join(tail)}"
    version = litellm_installed()
    if version != LITELLM_VERSION:
        return None, f"installed, but litellm reports version {version!r}"
    return version, None


def start_litellm(upstream: Proc, tmp: Path) -> Proc:
    cfg = tmp / "litellm.yaml"
    cfg.write_text(h.litellm_config(upstream.port))
    port = h.free_port()
    env = {
        "LITELLM_TELEMETRY": "False",
        "LITELLM_LOG": "ERROR",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of the price map at start
        "DISABLE_ADMIN_UI": "True",
        "NO_DOCS": "True",
    }
    args = [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port),
            "--num_workers", "1"]  # fmt: skip
    return h.start("litellm", args, port, tmp, env)


# ---------------------------------------------------------------------- the run


def machine() -> dict[str, Any]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    mem = next((int(ln.split()[1]) // 1024 for ln in Path("/proc/meminfo").read_text().splitlines()
                if ln.startswith("MemTotal")), 0)  # fmt: skip
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mb": mem, "kernel": platform.release(),
            "loadavg_at_start": _loadavg()}  # fmt: skip


def _loadavg() -> str:
    """The 1/5/15-minute load: other work on the machine shares its cores with the run."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(args: argparse.Namespace) -> dict[str, Any]:
    mode = MODES["smoke" if args.smoke else "quick" if args.quick else "full"]
    started = time.monotonic()

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {msg}", flush=True)

    use_wrk = h.wrk_available() and not args.no_wrk and mode.duration is not None
    from app import __version__ as gateway_version

    out: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": mode.name,
        "machine": machine(),
        "versions": {"python": platform.python_version(), "gateway": gateway_version, "litellm": None},
        "loadgen": "wrk" if use_wrk else "bench/loadgen.py (asyncio, its own process)",
        "scenarios": {},
        "missing": {},
    }
    if use_wrk:
        out["versions"]["wrk"] = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout.split()[1]
    litellm_version, why = ensure_litellm(mode, log)
    out["versions"]["litellm"] = litellm_version
    if why:
        log(f"LiteLLM rows missing: {why}")
        out["missing"]["litellm"] = why

    tmp = Path(tempfile.mkdtemp(prefix="frugal-suite-"))
    procs: list[Proc] = []
    suite: Suite | None = None
    try:
        upstream = h.start_upstream(tmp)
        procs.append(upstream)
        gw_cfg = tmp / "gateway.yaml"
        gw_cfg.write_text(h.gateway_config(upstream.port, tmp))
        floor = h.start_floor(upstream, tmp)
        gw = h.start_gateway("gateway", gw_cfg, tmp)
        gw2 = h.start_gateway("gateway-2w", gw_cfg, tmp, workers=2)
        procs += [floor, gw, gw2]
        litellm = None
        if litellm_version:
            litellm = start_litellm(upstream, tmp)
            procs.append(litellm)
        h.wait_ready(floor, "/")
        h.wait_ready(gw, "/live")
        h.wait_ready(gw2, "/live")
        if litellm is not None:
            try:
                h.wait_ready(litellm, "/health/liveliness", timeout=180)
            except RuntimeError as exc:
                log(f"LiteLLM did not start: {exc}")
                out["missing"]["litellm"] = f"did not start: {str(exc)[-400:]}"
                litellm.stop()
                litellm = None
        log(f"servers up ({'wrk' if use_wrk else 'loadgen.py'} drives them); gateway RSS {gw.rss():.1f} MB")
        out["rss_idle_mb"] = {"gateway": gw.rss(), "gateway-2w": gw2.rss(), "floor": floor.rss()}
        if litellm is not None:
            out["rss_idle_mb"]["litellm"] = litellm.rss()
        suite = Suite(mode, tmp, use_wrk, log)
        scenarios(suite, out, upstream, floor, gw, gw2, litellm)
        out["rss_mb"] = {"gateway": gw.rss(), "gateway-2w": gw2.rss(), "floor": floor.rss()}
        if litellm is not None:
            out["rss_mb"]["litellm"] = litellm.rss()
        if args.profile:
            out["profile"] = profile(suite, upstream, gw, mode, log)
    finally:
        if suite is not None:
            suite.gen.close()
        for p in procs:
            p.stop()

    log("router decision time (bench/router_latency.py, in this process, servers stopped)")
    from bench.router_latency import measure as router_measure

    out["router"] = router_measure(mode.router_n)
    log(f"  learned router p99: {max(v['learned']['p99_us'] for v in out['router']['requests'].values()):.1f} µs")
    log(f"memory soak: {mode.soak:,} requests (bench/soak.py)")
    from bench.soak import soak

    out["soak"] = soak(mode.soak, use_wrk=False, log=log)
    out["targets"] = targets(out)
    out["machine"]["loadavg_at_end"] = _loadavg()
    out["wall_seconds"] = time.monotonic() - started
    return out


def scenarios(s: Suite, out: dict[str, Any], upstream: Proc, floor: Proc, gw: Proc, gw2: Proc, litellm: Proc | None) -> None:
    sc = out["scenarios"]
    auth = {"Authorization": f"Bearer {KEY}"}
    lauth = {"Authorization": f"Bearer {LITELLM_KEY}"}
    chat, chat_stream = s.body("a", h.chat_body()), s.body("a-stream", h.chat_body(stream=True))

    s.log("(a) passthrough: OpenAI client -> OpenAI upstream")
    a: dict[str, Any] = {}
    a["direct"] = s.measure(Target("direct", upstream, "/v1/chat/completions", chat), None)
    d_a = a["direct"]["c1"]["p50_ms"]
    a["floor"] = s.measure(Target("floor", floor, "/v1/chat/completions", chat), d_a)
    a["gateway"] = s.measure(Target("gateway", gw, "/v1/chat/completions", chat, auth), d_a)
    if litellm is not None:
        a["litellm"] = s.measure(Target("litellm", litellm, "/v1/chat/completions", chat, lauth), d_a)
    for name, proc, hdr in (("direct", upstream, {}), ("floor", floor, {}), ("gateway", gw, auth), ("litellm", litellm, lauth)):
        if proc is not None:
            a[name]["stream"] = s.stream(Target(name, proc, "/v1/chat/completions", chat_stream, hdr))
    sc["a_passthrough"] = a

    s.log("(b) conversion: OpenAI client -> Anthropic upstream")
    b: dict[str, Any] = {}
    conv = s.body("b", h.chat_body("claude-bench", max_tokens=256))
    conv_stream = s.body("b-stream", h.chat_body("claude-bench", max_tokens=256, stream=True))
    anth, anth_stream = s.body("b-direct", h.anthropic_body()), s.body("b-direct-stream", h.anthropic_body(stream=True))
    b["direct"] = s.measure(Target("direct", upstream, "/v1/messages", anth), None)
    d_b = b["direct"]["c1"]["p50_ms"]
    b["gateway"] = s.measure(Target("gateway", gw, "/v1/chat/completions", conv, auth), d_b)
    if litellm is not None:
        b["litellm"] = s.measure(Target("litellm", litellm, "/v1/chat/completions", conv, lauth), d_b)
    b["direct"]["stream"] = s.stream(Target("direct", upstream, "/v1/messages", anth_stream))
    b["gateway"]["stream"] = s.stream(Target("gateway", gw, "/v1/chat/completions", conv_stream, auth))
    if litellm is not None:
        b["litellm"]["stream"] = s.stream(Target("litellm", litellm, "/v1/chat/completions", conv_stream, lauth))
    sc["b_conversion"] = b

    s.log("(c) ~50k-token Claude Code request, every lossless stage, cache missed (nonce per request)")
    agent, tokens = h.agent_body()
    agent_stream, _ = h.agent_body(stream=True)
    c: dict[str, Any] = {"request": {"bytes": len(agent), "tokens_o200k": tokens, "style": "anthropic-messages"}}
    s.log(f"  request: {len(agent):,} bytes, {tokens:,} tokens (o200k)")
    cb, cbs = s.body("c", agent), s.body("c-stream", agent_stream)
    c["direct"] = s.measure(Target("direct", upstream, "/v1/messages", cb), None)
    d_c = c["direct"]["c1"]["p50_ms"]
    # the floor moves the same bytes (to the upstream's Chat endpoint, which reads any body): what
    # a bare Python proxy pays for 50k tokens, before any decoding or stage
    c["floor"] = s.measure(Target("floor", floor, "/v1/chat/completions", cb), d_c)
    c["gateway"] = s.measure(Target("gateway", gw, "/v1/messages", cb, auth), d_c)
    c["direct"]["stream"] = s.stream(Target("direct", upstream, "/v1/messages", cbs))
    c["gateway"]["stream"] = s.stream(Target("gateway", gw, "/v1/messages", cbs, auth))
    sc["c_agent_50k"] = c

    s.log("(d) response-cache hit: one request, repeated")
    d: dict[str, Any] = {}
    hit = s.body("d", h.chat_body(text="what is a cache hit?", nonce=False))
    for name, proc, hdr in (("gateway", gw, auth), ("litellm", litellm, lauth)):
        if proc is None:
            continue
        t = Target(name, proc, "/v1/chat/completions", hit, hdr, nonce=False)
        s.gen.run(s.gen.command(t, "load", 1, count=1))  # the one miss that fills the cache
        time.sleep(0.2)  # stores are written after the answer
        calls = h.upstream_calls(upstream)
        d[name] = s.measure(t, d_a)
        reached = h.upstream_calls(upstream) - calls
        if "failed" in d[name]:
            continue
        sent = s.mode.warm + sum(d[name][f"c{c}"]["requests"] for c in CONCURRENCY)
        d[name]["upstream_calls"] = reached
        d[name]["cache_hit_verified"] = reached <= max(1, sent // 100)
        s.log(f"  {name}: {reached} of {sent} requests reached the upstream")
    sc["d_cache_hit"] = d

    s.log("(e) model auto, learned router")
    auto = s.body("e", h.chat_body("auto", "rename tmp to total in utils.py"))
    sc["e_auto_learned"] = {"gateway": s.measure(Target("gateway", gw, "/v1/chat/completions", auto, auth), d_a)}

    s.log("(f) the gateway with 2 workers, passthrough")
    f = {"gateway-2w": s.measure(Target("gateway-2w", gw2, "/v1/chat/completions", chat, auth), d_a)}
    f["gateway-2w"]["stream"] = s.stream(Target("gateway-2w", gw2, "/v1/chat/completions", chat_stream, auth))
    sc["f_two_workers"] = f


def profile(s: Suite, upstream: Proc, gw: Proc, mode: Mode, log: Callable[[str], None]) -> dict[str, Any]:
    """py-spy on the gateway under c=16 load, (a) then (c); top frames to a text file."""
    from bench.profile import py_spy, record, summarize

    spy = py_spy()
    if spy is None:
        log("profile skipped: py-spy not installed and could not be installed")
        return {"skipped": "no py-spy"}
    auth = {"Authorization": f"Bearer {KEY}"}
    agent, _ = h.agent_body()
    runs = {
        "a_passthrough": Target("gateway", gw, "/v1/chat/completions", s.body("pa", h.chat_body()), auth),
        "c_agent_50k": Target("gateway", gw, "/v1/messages", s.body("pc", agent), auth),
    }
    texts = []
    for name, t in runs.items():
        log(f"profiling the gateway under {name} for {mode.profile_s} s")
        raw = s.tmp / f"profile-{name}.txt"
        cmd = s.gen.command(t, "load", 16, duration=float(mode.profile_s) + 1.0)
        res = record(spy, gw.pid, raw, mode.profile_s, lambda cmd=cmd: s.gen.run(cmd))
        texts.append(summarize(raw, f"{name}: gateway under c=16 ({res['requests']} requests, {res['rps']:.0f} req/s "
                                     f"while sampled); samples of the thread holding the GIL"))  # fmt: skip
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    path = RESULTS / f"profile-{day}.txt"
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(texts))
    log(f"profile written to {path.relative_to(h.ROOT)}")
    return {"file": str(path.relative_to(h.ROOT))}


# ---------------------------------------------------------------------- targets and report


def _get(d: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    sc = r["scenarios"]
    out = []

    def add(name: str, value: float | None, limit: float, le: bool, unit: str, why_missing: str = "") -> None:
        if value is None:
            out.append({"target": name, "value": None, "limit": limit, "status": "MISSING", "note": why_missing})
            return
        ok = value <= limit if le else value >= limit
        out.append({"target": name, "value": value, "limit": limit, "status": "PASS" if ok else "FAIL", "unit": unit})

    lite = r["missing"].get("litellm", "")
    gw_a, fl_a = _get(sc, "a_passthrough", "gateway", "added_p50_ms"), _get(sc, "a_passthrough", "floor", "added_p50_ms")
    add("(a) added p50 <= 1.3x the floor's", gw_a / fl_a if gw_a is not None and fl_a else None, 1.3, True, "x")
    gw_b, li_b = _get(sc, "b_conversion", "gateway", "added_p50_ms"), _get(sc, "b_conversion", "litellm", "added_p50_ms")
    add("(b) added p50 <= 1/4 of LiteLLM's", gw_b / li_b if gw_b is not None and li_b else None, 0.25, True, "x", lite)
    gw_c = _get(sc, "c_agent_50k", "gateway", "added_p50_ms")
    add("(c) added p50 <= (a)'s + 2 ms", gw_c - gw_a if gw_c is not None and gw_a is not None else None, 2.0, True, "ms")
    gw_d, li_d = _get(sc, "d_cache_hit", "gateway", "c64", "rps"), _get(sc, "d_cache_hit", "litellm", "c64", "rps")
    add("(d) cache-hit req/s at c=64 >= 5x LiteLLM's", gw_d / li_d if gw_d and li_d else None, 5.0, False, "x", lite)
    router = r.get("router", {}).get("requests", {})
    p99 = max((v["learned"]["p99_us"] for v in router.values()), default=None)
    add("router decision p99 <= 1 ms", p99 / 1000 if p99 is not None else None, 1.0, True, "ms")
    rss = r.get("rss_mb", {})
    add("gateway RSS <= 1/3 of LiteLLM's", rss["gateway"] / rss["litellm"] if "litellm" in rss else None, 1 / 3, True, "x", lite)
    soak = r.get("soak", {})
    if soak:
        drift = soak.get("max_drift")
        add(f"soak RSS flat within +-5% after warm-up ({soak.get('requests', 0):,} requests)",
            abs(drift) if drift is not None else None, 0.05, True, "share")  # fmt: skip
    return out


def _f(v: Any, fmt: str = "{:.3f}") -> str:
    return "-" if v is None else fmt.format(v)


def report(r: dict[str, Any]) -> str:
    lines = [
        f"Frugal Gateway benchmark suite - {r['date']} - mode {r['mode']} - load by {r['loadgen']}",
        f"machine: {r['machine']['cpu']}, {r['machine']['cores']} cores, {r['machine']['memory_mb']:,} MB, load "
        f"{r['machine']['loadavg_at_start']} at start, {r['machine'].get('loadavg_at_end')} at end; "
        + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
        "",
        f"{'scenario / server':<34}{'c1 p50':>9}{'added p50':>10}{'added p99':>10}{'c16 req/s':>10}{'c16 p99':>9}"
        f"{'c64 req/s':>10}{'c64 p99':>9}{'CPU ms/req':>11}{'TTFB p50':>9}{'TTLB p50':>9}",
    ]
    for sname, servers in r["scenarios"].items():
        for name, v in servers.items():
            if name == "request" or not isinstance(v, dict):
                continue
            if "c1" not in v:
                lines.append(f"{sname + ' / ' + name:<34}FAILED: {str(v.get('failed', ''))[:120]!r}")
                continue
            st = v.get("stream", {})
            lines.append(
                f"{sname + ' / ' + name:<34}{_f(v['c1']['p50_ms']):>9}{_f(v.get('added_p50_ms')):>10}"
                f"{_f(v.get('added_p99_ms')):>10}{_f(_get(v, 'c16', 'rps'), '{:.0f}'):>10}{_f(_get(v, 'c16', 'p99_ms'), '{:.2f}'):>9}"
                f"{_f(_get(v, 'c64', 'rps'), '{:.0f}'):>10}{_f(_get(v, 'c64', 'p99_ms'), '{:.2f}'):>9}"
                f"{_f(v.get('cpu_ms_per_req')):>11}{_f(st.get('ttfb_p50_ms')):>9}{_f(st.get('ttlb_p50_ms')):>9}"
            )
    for k, why in r["missing"].items():
        lines.append(f"{k}: MISSING - {why}")
    lines.append("")
    lines.append("RSS after the run (MB): " + ", ".join(f"{k} {v:.1f}" for k, v in r.get("rss_mb", {}).items()))
    lines.append("RSS idle, after start (MB): " + ", ".join(f"{k} {v:.1f}" for k, v in r.get("rss_idle_mb", {}).items()))
    for label, v in r.get("router", {}).get("requests", {}).items():
        lines.append(f"router on {label} ({v['chars']:,} chars): learned p50 {v['learned']['p50_us']:.1f} µs, "
                     f"p99 {v['learned']['p99_us']:.1f} µs; heuristic p99 {v['heuristic']['p99_us']:.1f} µs")  # fmt: skip
    soak = r.get("soak", {})
    if soak:
        lines.append(f"soak ({soak['requests']:,} requests, {soak.get('rps', 0):.0f} req/s): RSS "
                     + ", ".join(f"{k} {v:.1f} MB" for k, v in soak["rss_at"].items()))  # fmt: skip
    lines.append("")
    lines.append("targets:")
    for t in r["targets"]:
        if t["status"] == "MISSING":
            lines.append(f"  MISSING {t['target']}: {t.get('note', '')}")
        else:
            lines.append(f"  {t['status']:<4}    {t['target']}: {t['value']:.3f} {t['unit']} (limit {t['limit']:.3f})")
    lines.append(f"wall time {r.get('wall_seconds', 0):.1f} s")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="1 s runs, short soak, no LiteLLM install (< 90 s)")
    g.add_argument("--smoke", action="store_true", help="50 requests a run, no LiteLLM: checks the bench itself")
    ap.add_argument("--json", help="write every figure to this file")
    ap.add_argument("--profile", action="store_true", help="py-spy the gateway under (a) and (c)")
    ap.add_argument("--no-wrk", action="store_true", help="use loadgen.py even where wrk is installed")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    try:
        r = run(args)
    except Exception:
        traceback.print_exc()
        sys.exit(1)
    print()
    print(report(r))
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2, default=str))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
