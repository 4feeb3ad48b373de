"""Gateway overhead against a floor, measured in one run on loopback.

Starts three processes — a fast fake OpenAI upstream, the bare Litestar passthrough on raw
aiohttp (the floor, ``floor_app.py``) and the gateway (one worker, default stages on: auth, rate
limit, model resolution, access log) — then drives each with ``wrk`` from a separate process:

* added latency over calling the upstream directly, sequential (p50, p99);
* requests per second at 16 and 64 concurrent connections;
* time to first byte of a 50-chunk stream (``ttfb.py``, raw sockets), also through a conversion
  (an Anthropic Messages client, the OpenAI Chat upstream);
* the gateway's resident memory after the run.

Every figure is printed with its ratio to the floor. Targets (issue 3): added p50 <= 2x the
floor's, c=64 throughput >= 0.5x the floor's.

Usage: ``python bench/overhead.py [--duration 10] [--json results.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, method: str = "GET", timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.request(method, url, timeout=1, json={"model": "bench-model", "messages": []})
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(url: str, connections: int, duration: float, key: str | None) -> dict[str, float]:
    body = json.dumps({"model": "bench-model", "messages": [{"role": "user", "content": "hello bench"}]})
    headers = 'wrk.headers["Content-Type"] = "application/json"\n'
    if key:
        headers += f'wrk.headers["Authorization"] = "Bearer {key}"\n'
    script = f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n{headers}'
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        lua = f.name
    threads = 1 if connections == 1 else 2
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s", "--latency", "-s", lua, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(lua)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed responses under load:\n{out}")
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", out, re.M))
    return {"rps": rps, "p50_ms": _ms(lat["50"]), "p99_ms": _ms(lat["99"])}


def ttfb(port: int, path: str, count: int, style: str = "openai") -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "ttfb.py"),
            "127.0.0.1",
            str(port),
            path,
            KEY,
            str(count),
            style,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def gateway_config(upstream: int) -> str:
    return f"""
auth: {{api_keys: ["{KEY}"]}}
providers:
  - {{name: bench, style: openai-chat, base_url: "http://127.0.0.1:{upstream}/v1", api_key: upstream-key}}
routes:
  - name: bench-model
    steps: [{{provider: bench, model: bench-model, timeout: 30s}}]
reliability: {{rate_limit_rpm: 100000000, loop_guard: {{enabled: false}}}}
cache: {{backend: "off"}}
logging: {{level: warning, access_log: true}}
"""
# wrk resends one request: the response cache would answer it (bench/suite.py measures that as
# its scenario (d)) and the loop guard would refuse it, so both are off for this passthrough


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--ttfb-count", type=int, default=300)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/overhead.py needs wrk (Debian: apt-get install wrk)")

    up, floor, gw = free_port(), free_port(), free_port()
    tmp = Path(tempfile.mkdtemp(prefix="frugal-bench-"))
    (tmp / "gateway.yaml").write_text(gateway_config(up))
    procs = [
        start([sys.executable, "bench/fake_upstream.py", str(up)]),
        start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.floor_app:app",
                "--port",
                str(floor),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            {"BENCH_UPSTREAM": f"http://127.0.0.1:{up}"},
        ),
    ]
    gateway = start(
        [
            sys.executable,
            "-m",
            "app",
            "serve",
            "--config",
            str(tmp / "gateway.yaml"),
            "--host",
            "127.0.0.1",
            "--port",
            str(gw),
        ]
    )
    procs.append(gateway)
    targets = {
        "direct": (up, "/v1/chat/completions", None),
        "floor": (floor, "/v1/chat/completions", None),
        "gateway": (gw, "/v1/chat/completions", KEY),
    }
    results: dict[str, dict[str, Any]] = {name: {} for name in targets}
    try:
        for port, path, _ in targets.values():
            wait_http(f"http://127.0.0.1:{port}{path}", "POST")
        for name, (port, path, key) in targets.items():
            url = f"http://127.0.0.1:{port}{path}"
            wrk(url, 8, 2, key)  # warm-up: pools, caches, JIT-free but lazy imports
            results[name]["seq"] = wrk(url, 1, args.duration, key)
            results[name]["c16"] = wrk(url, 16, args.duration, key)
            results[name]["c64"] = wrk(url, 64, args.duration, key)
            results[name]["ttfb"] = ttfb(port, path, args.ttfb_count)
        # the same stream through a conversion: an Anthropic client, the Chat upstream
        results["gateway"]["ttfb_converted"] = ttfb(gw, "/v1/messages", args.ttfb_count, "anthropic")
        results["gateway"]["rss_mb"] = harness.rss_mb(harness.tree(gateway.pid))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    report(results, args.json)


def report(r: dict[str, dict[str, Any]], json_path: str | None) -> None:
    direct, floor, gw = r["direct"], r["floor"], r["gateway"]
    added = {
        who: {
            "p50_ms": r[who]["seq"]["p50_ms"] - direct["seq"]["p50_ms"],
            "p99_ms": r[who]["seq"]["p99_ms"] - direct["seq"]["p99_ms"],
        }
        for who in ("floor", "gateway")
    }
    rows = [
        ("added latency p50 (ms, sequential)", added["floor"]["p50_ms"], added["gateway"]["p50_ms"]),
        ("added latency p99 (ms, sequential)", added["floor"]["p99_ms"], added["gateway"]["p99_ms"]),
        ("requests/s at c=16", floor["c16"]["rps"], gw["c16"]["rps"]),
        ("requests/s at c=64", floor["c64"]["rps"], gw["c64"]["rps"]),
        ("p50 latency at c=64 (ms)", floor["c64"]["p50_ms"], gw["c64"]["p50_ms"]),
        ("TTFB of a 50-chunk stream, p50 (ms)", floor["ttfb"]["p50_ms"], gw["ttfb"]["p50_ms"]),
        ("whole 50-chunk stream, p50 (ms)", floor["ttfb"]["full_ms"], gw["ttfb"]["full_ms"]),
    ]
    print(
        f"\nupstream direct: p50 {direct['seq']['p50_ms']:.3f} ms sequential, {direct['c64']['rps']:.0f} req/s at c=64, "
        f"TTFB {direct['ttfb']['p50_ms']:.3f} ms"
    )
    print(f"{'metric':40} {'floor':>10} {'gateway':>10} {'gw/floor':>9}")
    for name, f, g in rows:
        ratio = g / f if f else float("inf")
        print(f"{name:40} {f:10.3f} {g:10.3f} {ratio:9.2f}")
    conv = gw["ttfb_converted"]
    print(
        f"{'TTFB through a conversion (Anthropic client, Chat upstream), p50 (ms)':72} {conv['p50_ms']:8.3f}"
    )
    print(f"{'whole converted 50-chunk stream, p50 (ms)':72} {conv['full_ms']:8.3f}")
    print(f"{'gateway RSS after the run (MB)':40} {'':>10} {gw['rss_mb']:10.1f}")
    p50_ok = added["gateway"]["p50_ms"] <= 2 * max(added["floor"]["p50_ms"], 1e-6)
    rps_ok = gw["c64"]["rps"] >= 0.5 * floor["c64"]["rps"]
    print(
        f"target added p50 <= 2x floor: {'PASS' if p50_ok else 'FAIL'}; "
        f"target c=64 throughput >= 0.5x floor: {'PASS' if rps_ok else 'FAIL'}"
    )
    if json_path:
        Path(json_path).write_text(json.dumps({"results": r, "added": added}, indent=2))


if __name__ == "__main__":
    main()
