"""Memory soak: does the gateway's resident memory stay flat over many requests?

Starts the fake upstream and the gateway (the suite's config: every lossless stage, response
cache, usage store, metrics, access log) and sends ``--requests`` requests at 16 concurrent
connections from ``loadgen.py`` in its own process, cycling through a mix: OpenAI passthrough
(plain and streamed), OpenAI client -> Anthropic upstream (plain and streamed), each with a
nonce (a cache miss and a cache store every time), and one repeated request (a cache hit).
The in-memory response cache is bounded at 1 MB here so that it is full within the warm-up: a
cache filling towards its bound is by design; memory that keeps growing after it is a leak.

RSS is read from /proc after each tenth of the requests; the figures at 10% (end of warm-up),
50% and 100% are reported, and the soak passes when RSS at 50% and 100% is within +-5% of the
RSS at 10%.

Usage: ``python bench/soak.py [--requests 100000] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness as h

SLICES = 10
TOLERANCE = 0.05


def soak(requests: int, *, use_wrk: bool = False, log: Callable[[str], None] = print) -> dict[str, Any]:
    del use_wrk  # the soak is bounded by a request count: always loadgen.py
    tmp = Path(tempfile.mkdtemp(prefix="frugal-soak-"))
    procs: list[h.Proc] = []
    gen = None
    try:
        upstream = h.start_upstream(tmp)
        procs.append(upstream)
        cfg = tmp / "gateway.yaml"
        cfg.write_text(h.gateway_config(upstream.port, tmp))
        gw = h.start_gateway("gateway", cfg, tmp)
        procs.append(gw)
        h.wait_ready(gw, "/live")
        auth = {"Authorization": f"Bearer {h.KEY}"}
        bodies = {
            "plain": h.chat_body(),
            "stream": h.chat_body(stream=True),
            "conv": h.chat_body("claude-bench", max_tokens=256),
            "conv-stream": h.chat_body("claude-bench", max_tokens=256, stream=True),
            "hit": h.chat_body(text="the same question", nonce=False),
        }
        mix = []
        for name, body in bodies.items():
            path = tmp / f"{name}.json"
            path.write_bytes(body)
            mix.append({"path": "/v1/chat/completions", "headers": auth, "body_file": str(path)})
        gen = h.LoadGen()
        per = max(1, requests // SLICES)
        rss: list[float] = []
        sent = errors = 0
        started = time.perf_counter()
        for i in range(SLICES):
            cmd = {"op": "load", "port": gw.port, "requests": mix, "nonce": h.NONCE, "concurrency": 16, "count": per}
            res = gen.run(cmd)
            sent += res["requests"]
            errors += res["errors"]
            rss.append(gw.rss())
            if res["errors"]:
                log(f"  ! soak slice {i + 1}: {res['errors']} failed: {str(res['first_error'])[:200]}")
        seconds = time.perf_counter() - started
        base = rss[0]
        drifts = [(rss[4] - base) / base, (rss[-1] - base) / base]
        drift = max(drifts, key=abs)
        out = {
            "requests": sent,
            "errors": errors,
            "seconds": seconds,
            "rps": sent / seconds,
            "rss_at": {"10%": rss[0], "50%": rss[4], "100%": rss[-1]},
            "rss_every_tenth_mb": rss,
            "max_drift": drift,
            "pass": abs(drift) <= TOLERANCE and errors == 0,
        }
        log(f"  soak: RSS {rss[0]:.1f} MB at 10%, {rss[4]:.1f} at 50%, {rss[-1]:.1f} at 100% "
            f"(drift {drift * 100:+.1f}%, {'PASS' if out['pass'] else 'FAIL'}), {sent / seconds:.0f} req/s")  # fmt: skip
        return out
    finally:
        if gen is not None:
            gen.close()
        for p in procs:
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--json")
    args = ap.parse_args()
    out = soak(args.requests)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    sys.exit(0 if out["pass"] else 1)


if __name__ == "__main__":
    main()
