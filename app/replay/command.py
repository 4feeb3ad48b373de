"""``frugal replay PATH... [--config F] [--pricing anthropic|openai] [--model M]``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from app.config import LoadedConfig
from app.observability.pricing import PriceTable
from app.observability.tokens import TokenCounter
from app.optimizers import build_token_savers
from app.replay.blocks import Target
from app.replay.load import load_conversations
from app.replay.runner import Replayer, Report

DEFAULT_MODEL: dict[Target, str] = {"anthropic": "claude-sonnet-4-0", "openai": "gpt-4.1"}


def run(
    paths: Sequence[str],
    target: Target,
    model_name: str | None,
    loaded: LoadedConfig,
    out: TextIO | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    model = model_name or DEFAULT_MODEL[target]
    price = PriceTable.load(loaded.config.pricing).get(model)
    if price is None:
        print(f"frugal replay: no price for model {model!r}", file=sys.stderr)
        return 2
    try:
        conversations = load_conversations(list(paths))
    except (OSError, ValueError) as exc:
        print(f"frugal replay: {exc}", file=sys.stderr)
        return 2
    stages = build_token_savers(loaded.config.optimizers)
    # the tokenizer for every model whatever usage.token_counts says: a replay measures savings,
    # and one o200k count across models is what makes its figures comparable
    counter = TokenCounter(mode="tokenizer")
    replayer = Replayer(stages, target, model, price, counter, progress=progress)
    report = asyncio.run(replayer.run(conversations))
    header = (
        f"{report.conversations} conversations, {report.requests} requests; {target} pricing, "
        f"{model}: input ${price.input:.2f}/M, cache read ${price.cache_read:.2f}/M, "
        f"cache write ${price.cache_write:.2f}/M"
    )
    (out or sys.stdout).write(render(report, header))
    return 0


def render(report: Report, header: str) -> str:
    base = report.rows[0].bill.usd or 1.0
    lines = [header, ""]
    columns = ("input tok", "cache read", "cache write", "input USD", "vs none")
    lines.append(f"{'scenario':<26}" + "".join(f"{c:>12}" for c in columns))
    for row in report.rows:
        b = row.bill
        change = "" if row is report.rows[0] else f"{(b.usd - base) / base * 100:+.1f}%"
        lines.append(
            f"{row.label:<26}{b.input_tokens:>12,}{b.cache_read:>12,}{b.cache_write:>12,}{b.usd:>12.4f}{change:>12}"
        )
    sent = report.rows[0].bill.input_tokens or 1
    lines += ["", "prompt tokens removed per optimizer (summed over requests):"]
    for name, tokens in report.removed.items():
        lines.append(f"  {name:<22}{tokens:>10,}  ({tokens / sent * 100:.1f}% of all input)")
    checked = ", ".join(report.lossless_checked) or "none"
    kept = report.requests - report.requests_losing_lines
    lines += [
        "",
        f"lossless check ({checked}): every distinct client line reached the provider in "
        f"{kept}/{report.requests} requests",
    ]
    lines += [f"  lost: {line[:100]!r}" for line in report.lost_examples]
    return "\n".join(lines) + "\n"
