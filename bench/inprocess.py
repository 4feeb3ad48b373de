"""What the gateway itself costs a small request: its ASGI app driven in this process, no server.

Builds the app from the bench's configuration (``harness.gateway_config``: every lossless
stage, memory cache, usage in SQLite, metrics), starts it (lifespan), and sends scenario (a)'s
request (a nonce each, so every one misses the cache) straight to it, one at a time. The upstream
is ``bench/fake_upstream.py`` in its own process; with ``--canned`` the provider call returns the
upstream's answer from memory instead, which leaves only the gateway's own work.

``--without`` names after-hooks or stages to leave out (their class names, or ``hooks`` /
``stages`` for all of them). Each variant, and the full gateway, runs in blocks of 250 requests,
alternated inside the one process, so the machine's drift falls on all of them alike; the figures
are the CPU per request of the event loop's thread (what serialises requests) and of the whole
process (the usage writer's thread too), medians over the blocks, and their difference from the
full gateway.

Usage: ``python bench/inprocess.py [--canned] [--blocks 20] [--without hooks --without FileDedup,BoilerplateStrip]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench import harness as h

BLOCK = 250
_RUNNING: list[asyncio.Future[Any]] = []  # the app's lifespan task, kept while it runs


def _scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5), "server": ("127.0.0.1", 80), "state": {},
    }  # fmt: skip


class Driver:
    def __init__(self, app: Any, template: str) -> None:
        self.app = app
        self.template = template
        self.sent = 0

    async def one(self) -> None:
        self.sent += 1
        body = self.template.replace(h.NONCE, f"inproc-{self.sent}").encode()
        headers = {"authorization": f"Bearer {h.KEY}", "content-type": "application/json",
                   "content-length": str(len(body))}  # fmt: skip
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)  # the client never leaves
            return {"type": "http.disconnect"}

        status: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await self.app(_scope("/v1/chat/completions", headers), receive, send)
        if status != [200]:
            raise RuntimeError(f"the gateway answered {status}")


async def _lifespan(app: Any) -> asyncio.Queue[dict[str, Any]]:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    _RUNNING.append(
        asyncio.ensure_future(
            app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
        )
    )
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the gateway did not start: {started}")
    return inbox


async def run(args: argparse.Namespace, upstream_port: int, tmp: Path) -> None:
    from app import config as config_module
    from app.http.server import create_app

    cfg = tmp / "gateway.yaml"
    cfg.write_text(h.gateway_config(upstream_port, tmp))
    app = create_app(config_module.load(str(cfg)))
    runtime = app.fallback.state.runtime
    gateway = runtime.gateway
    template = h.chat_body().decode()
    if args.canned:
        from app.providers.transport import Whole

        answer = httpx.post(f"http://127.0.0.1:{upstream_port}/v1/chat/completions",
                            content=h.chat_body(nonce=False)).content  # fmt: skip

        async def whole(url: str, headers: Any, body: bytes, timeouts: Any) -> Whole:
            return Whole(200, {"content-type": "application/json"}, answer)

        for provider in runtime.providers.values():
            transport = getattr(provider, "transport", None)
            if transport is not None:
                transport.whole = whole
    inbox = await _lifespan(app)
    driver = Driver(app, template)
    for _ in range(300):  # warm: imports, pools, memos
        await driver.one()
    hooks, stages = list(gateway.after_hooks), list(gateway.stages)
    variants = ["full", *args.without]
    cpu: dict[str, list[float]] = {v: [] for v in variants}  # the event loop's thread
    total: dict[str, list[float]] = {v: [] for v in variants}  # every thread (the usage writer's too)
    for block in range(args.blocks):
        for v in variants if block % 2 == 0 else variants[::-1]:
            left_out = set() if v == "full" else set(v.split(","))
            gateway.after_hooks = [
                x for x in hooks if "hooks" not in left_out and type(x).__name__ not in left_out
            ]
            gateway.stages = [
                x for x in stages if "stages" not in left_out and type(x).__name__ not in left_out
            ]
            started, started_all = time.thread_time(), time.process_time()
            for _ in range(BLOCK):
                await driver.one()
            await asyncio.sleep(0.01)  # the after-hooks of the last one run
            cpu[v].append((time.thread_time() - started) * 1e6 / BLOCK)
            total[v].append((time.process_time() - started_all) * 1e6 / BLOCK)
    gateway.after_hooks, gateway.stages = hooks, stages
    await inbox.put({"type": "lifespan.shutdown"})
    await asyncio.sleep(0.3)
    where = "canned answer (the gateway's own work)" if args.canned else "fake upstream over loopback"
    print(f"scenario (a), {where}; CPU per request (the event loop's thread, and all threads),")
    print(f"median of {args.blocks} blocks of {BLOCK}")
    names = {type(x).__name__ for x in hooks} | {type(x).__name__ for x in stages}
    print(f"  after-hooks: {', '.join(type(x).__name__ for x in hooks)}")
    print(f"  stages: {', '.join(type(x).__name__ for x in stages)}")
    for v in variants:
        unknown = set(v.split(",")) - names - {"full", "hooks", "stages"}
        if unknown:
            print(f"  (no hook or stage named {', '.join(sorted(unknown))})")
        label = "full gateway" if v == "full" else f"without {v}"
        line = f"  {label:<36} loop {statistics.median(cpu[v]):6.1f} µs, all {statistics.median(total[v]):6.1f} µs"
        if v != "full":
            diff = statistics.median(a - b for a, b in zip(cpu[v], cpu["full"], strict=True))
            diff_all = statistics.median(a - b for a, b in zip(total[v], total["full"], strict=True))
            line += f"  ({diff:+.1f} / {diff_all:+.1f})"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--canned", action="store_true", help="answer the provider call from memory")
    ap.add_argument("--blocks", type=int, default=20)
    ap.add_argument(
        "--without", action="append", default=[], help="hooks, stages or class names, comma-separated"
    )
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="frugal-inprocess-"))
    upstream = h.start_upstream(tmp)
    try:
        import uvloop

        uvloop.run(run(args, upstream.port, tmp))
    finally:
        upstream.stop()


if __name__ == "__main__":
    main()
