"""Per-request cost of the routers, against a no-op, on a short ask and a ~40k-token agent turn.

Prints p50/p99 in µs for: a no-op callable (the floor), the heuristic and the learned router;
plus the learned artifact's size and load time. Single process, no I/O.

Usage: ``python bench/router_latency.py [--n 2000]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from app.canonical import Message, Request, TextPart, ToolCallPart, ToolDef, ToolResultPart
from app.routing.learned import LearnedRouter
from app.routing.router import DEFAULT_ARTIFACT, load_router

CODE = "def handle(event):\n    return repo.save(event)  # see app/orders/service.py\n" * 50


def short_ask() -> Request:
    return Request(model="auto", style="openai-chat", messages=[Message("user", [TextPart("rename tmp to total")])])


def agent_turn() -> Request:
    """20 turns of code, tool calls and tool output, then a long ask with code: ~160 kB."""
    msgs: list[Message] = []
    for i in range(20):
        msgs.append(Message("user", [TextPart(f"Fix the failing test in app/x{i}.py:\n```python\n{CODE}```")]))
        msgs.append(Message("assistant", [ToolCallPart(f"c{i}", "read_file", '{"path": "a.py"}')]))
        msgs.append(Message("user", [ToolResultPart(f"c{i}", [TextPart(CODE * 2)])]))
    msgs.append(Message("user", [TextPart(f"Now refactor the architecture across files:\n```python\n{CODE * 10}```")]))
    return Request(model="auto", style="openai-chat", messages=msgs, tools=[ToolDef(f"t{i}") for i in range(10)])


def chars(req: Request) -> int:
    n = 0
    for m in req.messages:
        for p in m.content:
            if isinstance(p, TextPart):
                n += len(p.text)
            elif isinstance(p, ToolResultPart):
                n += sum(len(c.text) for c in p.content if isinstance(c, TextPart))
    return n


def timings(fn: Callable[[Request], object], req: Request, n: int) -> tuple[float, float]:
    for _ in range(50):
        fn(req)
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn(req)
        ts.append(time.perf_counter() - t)
    ts.sort()
    return statistics.median(ts) * 1e6, ts[int(len(ts) * 0.99) - 1] * 1e6


def measure(n: int = 2000) -> dict[str, object]:
    """The figures ``main`` prints, as a dict (the benchmark suite calls this)."""
    t = time.perf_counter()
    learned = LearnedRouter.load(DEFAULT_ARTIFACT)
    load_ms = (time.perf_counter() - t) * 1e3
    routers: dict[str, Callable[[Request], object]] = {
        "no-op": lambda req: None,
        "heuristic": load_router("heuristic").score,
        "learned": learned.score,
    }
    requests: dict[str, object] = {}
    for label, req in (("short ask", short_ask()), ("agent turn", agent_turn())):
        row: dict[str, object] = {"chars": chars(req)}
        for name, fn in routers.items():
            p50, p99 = timings(fn, req, n)
            row[name] = {"p50_us": p50, "p99_us": p99}
        requests[label] = row
    return {"requests": requests, "artifact_bytes": DEFAULT_ARTIFACT.stat().st_size, "load_ms": load_ms, "n": n}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    r = measure(args.n)
    for label, row in r["requests"].items():  # type: ignore[attr-defined]
        print(f"{label}: {row['chars']:,} characters (~{row['chars'] // 4:,} tokens)")
        floor = row["no-op"]["p50_us"]
        for name in ("no-op", "heuristic", "learned"):
            p50, p99 = row[name]["p50_us"], row[name]["p99_us"]
            print(f"  {name:<10} p50 {p50:8.1f} µs  p99 {p99:8.1f} µs   p50 vs no-op {p50 / floor:7.0f}x")
    print(f"artifact {DEFAULT_ARTIFACT.name}: {r['artifact_bytes']:,} bytes, load {r['load_ms']:.2f} ms")


if __name__ == "__main__":
    main()
