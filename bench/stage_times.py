"""Where a 50k-token agent turn's time goes inside the gateway, step by step, in this process.

Builds the gateway from the bench's config (``harness.gateway_config``: every lossless stage),
then sends the 51.7k-token Claude Code request of scenario (c) through the same steps a proxied
request takes — parse, decode, each stage, the provider's encode and its JSON bytes, the record —
``--turns`` times, each time with a new nonce in the newest message (as the suite does), and
prints the mean milliseconds of each step over the turns after the first (the first pays for
what the later ones find remembered). ``--history-off`` sets ``memory.history_max_bytes: 0``
and empties the stages' walk memos before each request: the gateway as it was before it
remembered resent history, for the before/after figures in the README.

Usage: ``python bench/stage_times.py [--turns 300] [--history-off] [--small]``
(``--small``: scenario (a)'s one-message request instead).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec

from app import bootstrap
from app.auth import Project
from app.canonical import Response
from app.config.load import load_file
from app.gateway import _pop_hints
from app.optimizers.walk_memo import WalkMemo
from app.pipeline import RequestContext
from app.styles import codec_for
from app.styles.base import RequestTarget
from app.styles.history_parse import HISTORY
from bench import harness as h

_encoder = msgspec.json.Encoder()


class _Clock:
    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.last = time.perf_counter()

    def tick(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = self.times.get(name, 0.0) + now - self.last
        self.last = now


async def measure(turns: int, *, history: bool, small: bool) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="frugal-stage-times-"))
    cfg = tmp / "gateway.yaml"
    extra = "" if history else "memory: {history_max_bytes: 0}\n"
    cfg.write_text(h.gateway_config(9, tmp) + extra)
    runtime = bootstrap.build(load_file(cfg, os.environ))
    gw = runtime.gateway
    gc.collect()  # the collector as the server sets it (Runtime.start)
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)
    style = "openai-chat" if small else "anthropic-messages"
    body = h.chat_body() if small else h.agent_body()[0]
    codec = codec_for(style)
    totals: dict[str, float] = {}
    for i in range(turns):
        raw = body.replace(h.NONCE.encode(), f"turn{i:08d}".encode())
        if not history:
            for stage in gw.stages:  # a walk memo starts empty: every walk is a whole one
                if isinstance(getattr(stage, "_memo", None), WalkMemo):
                    stage._memo = WalkMemo()  # type: ignore[attr-defined]
        clock = _Clock()
        tick = clock.tick
        parsed = HISTORY.parse(raw, style)
        tick("parse")
        req = codec.decode_request(parsed, RequestTarget())
        tick("decode")
        ctx = RequestContext(request_id=f"r{i}", style=style, project=Project("bench"))
        ctx.resolution = gw._resolve(req.model, _pop_hints({}, {}), ctx.project)
        clock.last = time.perf_counter()
        for stage in gw.stages:
            out = await stage.apply(req, ctx)
            tick(f"stage {stage.name}")
            if isinstance(out, Response):
                raise RuntimeError(f"stage {stage.name} answered: the bench request must miss the cache")
            req = out
        step = ctx.resolution.route.steps[0]
        wire = step.provider.codec.encode_request(req, step.model)  # type: ignore[attr-defined]
        tick("encode")
        _encoder.encode(wire)
        tick("encode: JSON bytes")
        if gw.records is not None:
            gw.records.build(req, None, ctx)
        tick("record")
        if i:  # the first turn fills what the later ones find remembered
            for k, v in clock.times.items():
                totals[k] = totals.get(k, 0.0) + v
    await runtime.aclose()
    return {k: 1000 * v / max(1, turns - 1) for k, v in totals.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--turns", type=int, default=300)
    ap.add_argument("--history-off", action="store_true", help="nothing remembered across requests")
    ap.add_argument("--small", action="store_true", help="scenario (a)'s one-message request")
    args = ap.parse_args()
    ms = asyncio.run(measure(args.turns, history=not args.history_off, small=args.small))
    what = "history off" if args.history_off else "history remembered"
    print(f"mean ms per request over {args.turns - 1} turns ({what}):")
    for k, v in ms.items():
        print(f"  {k:28s} {v:8.3f}")
    print(f"  {'total':28s} {sum(ms.values()):8.3f}")


if __name__ == "__main__":
    main()
