"""A load generator in its own process: HTTP/1.1 keep-alive over raw asyncio sockets (uvloop).

The suite uses ``wrk`` for throughput when it is installed and this generator otherwise (and
always for streams and for the soak); either way one generator drives every server of a run.

Run as ``python bench/loadgen.py --serve``: it reads one JSON command per line on stdin and
answers one JSON line on stdout, so a run starts the process once. A command::

    {"op": "load" | "stream", "host": "127.0.0.1", "port": 8080,
     "requests": [{"path": "/v1/chat/completions", "headers": {...}, "body_file": "x.json"}],
     "nonce": "@@NONCE@@" | null, "concurrency": 16, "count": 1000 | null, "duration": 5.0 | null}

``requests`` are sent in turn; every occurrence of ``nonce`` in a body is replaced by a value
unique to the request (so a response cache misses while the body keeps its shape). ``load``
answers ``{"requests", "errors", "seconds", "rps", "p50_ms", "p90_ms", "p99_ms"}``; ``stream``
also times each answer's first body bytes holding ``data:`` (``ttfb_*``) and its end
(``ttlb_*``). Loops are bounded by ``count`` or ``duration`` (whichever comes first).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Template:
    head: bytes  # request line and headers up to (without) Content-Length
    parts: list[bytes]  # the body split at each nonce

    def build(self, nonce: bytes | None) -> bytes:
        body = self.parts[0] if nonce is None else nonce.join(self.parts)
        return self.head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    ttfb: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None


def templates(cmd: dict[str, Any]) -> list[Template]:
    out = []
    host = f"{cmd.get('host', '127.0.0.1')}:{cmd['port']}"
    for r in cmd["requests"]:
        body = Path(r["body_file"]).read_bytes() if "body_file" in r else r["body"].encode()
        head = f"POST {r['path']} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        for k, v in r.get("headers", {}).items():
            head += f"{k}: {v}\r\n"
        nonce = cmd.get("nonce")
        parts = body.split(nonce.encode()) if nonce else [body]
        out.append(Template(head.encode(), parts))
    return out


async def _read_response(reader: asyncio.StreamReader, started: float, stats: Stats | None) -> tuple[int, bytes]:
    """One whole response; returns (status, body). Records the time of the first ``data:``."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    body = b""
    first = None
    if b"transfer-encoding: chunked" in lower:
        chunks = []
        while True:
            line = await reader.readline()
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await reader.readline()
                break
            data = await reader.readexactly(size + 2)
            chunks.append(data[:-2])
            if first is None and b"data:" in data:
                first = time.perf_counter() - started
        body = b"".join(chunks)
    else:
        idx = lower.find(b"content-length:")
        if idx >= 0:
            n = int(lower[idx + 15 : lower.find(b"\r\n", idx)].strip())
            body = await reader.readexactly(n)
        else:  # no length, no chunks: the body runs to the end of the connection
            body = await reader.read()
        if b"data:" in body:
            first = time.perf_counter() - started
    if stats is not None and first is not None:
        stats.ttfb.append(first)
    return status, body


async def _worker(
    cmd: dict[str, Any],
    tpls: list[Template],
    budget: itertools.count[int],
    limit: int,
    deadline: float,
    stats: Stats,
    run_id: str,
    stream: bool,
) -> None:
    reader = writer = None
    try:
        while True:
            i = next(budget)
            if i >= limit or time.perf_counter() >= deadline:
                return
            if writer is None:
                reader, writer = await asyncio.open_connection(cmd.get("host", "127.0.0.1"), cmd["port"])
            assert reader is not None
            tpl = tpls[i % len(tpls)]
            nonce = f"{run_id}-{i}".encode() if cmd.get("nonce") else None
            data = tpl.build(nonce)
            started = time.perf_counter()
            writer.write(data)
            try:
                status, body = await _read_response(reader, started, stats if stream else None)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                stats.errors += 1
                stats.first_error = stats.first_error or f"connection: {exc!r}"
                writer.close()
                reader = writer = None
                continue
            stats.latencies.append(time.perf_counter() - started)
            if status != 200 or (stream and b"[DONE]" not in body and b"message_stop" not in body):
                stats.errors += 1
                stats.first_error = stats.first_error or f"{status}: {body[:300]!r}"
    finally:
        if writer is not None:
            writer.close()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * q))] * 1000


async def run(cmd: dict[str, Any]) -> dict[str, Any]:
    tpls = templates(cmd)
    stream = cmd["op"] == "stream"
    count = cmd.get("count")
    duration = cmd.get("duration")
    limit = count if count is not None else 10**12
    started = time.perf_counter()
    deadline = started + (duration if duration is not None else 3600.0)
    stats = Stats()
    run_id = f"{os.getpid()}-{time.monotonic_ns()}"
    budget = itertools.count()
    conc = int(cmd.get("concurrency", 1))
    await asyncio.gather(*[_worker(cmd, tpls, budget, limit, deadline, stats, run_id, stream) for _ in range(conc)])
    seconds = time.perf_counter() - started
    n = len(stats.latencies)
    out: dict[str, Any] = {
        "requests": n,
        "errors": stats.errors,
        "first_error": stats.first_error,
        "seconds": seconds,
        "rps": n / seconds if seconds else 0.0,
        "p50_ms": _pct(stats.latencies, 0.5),
        "p90_ms": _pct(stats.latencies, 0.9),
        "p99_ms": _pct(stats.latencies, 0.99),
    }
    if stream:
        out.update(
            ttfb_p50_ms=_pct(stats.ttfb, 0.5),
            ttfb_p99_ms=_pct(stats.ttfb, 0.99),
            ttlb_p50_ms=out["p50_ms"],
            ttlb_p99_ms=out["p99_ms"],
        )
    return out


def main() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    if "--serve" not in sys.argv:
        sys.exit(__doc__)
    loop = asyncio.new_event_loop()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            result = loop.run_until_complete(run(json.loads(line)))
        except Exception as exc:  # report, keep serving
            result = {"failed": repr(exc)}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
