from __future__ import annotations

import hashlib

import pytest

from app.observability.pricing import Price
from app.replay.billing import CacheSimulator
from app.replay.blocks import Block

PRICE = Price(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)


def blocks(n: int, tokens: int = 100, marks: tuple[int, ...] = (), salt: str = "") -> list[Block]:
    out = []
    prefix = b""
    for i in range(n):
        prefix = hashlib.sha256(prefix + f"{salt if i >= n - 1 else ''}{i}".encode()).digest()
        out.append(Block(tokens, prefix, i in marks))
    return out


def test_anthropic_without_breakpoints_bills_everything_in_full() -> None:
    sim = CacheSimulator("anthropic", PRICE)
    sim.turn(blocks(30))
    bill = sim.turn(blocks(31))
    assert (bill.cache_read, bill.cache_write) == (0, 0)
    assert bill.usd == pytest.approx(31 * 100 * 3.0e-6)


def test_anthropic_reads_within_20_blocks_of_a_breakpoint_only() -> None:
    sim = CacheSimulator("anthropic", PRICE)
    first = sim.turn(blocks(30, marks=(29,)))
    assert first.cache_write == 3000
    near = sim.turn(blocks(49, marks=(48,)))  # entry at block 29 is 19 blocks back: found
    assert near.cache_read == 3000 and near.cache_write == 1900
    sim2 = CacheSimulator("anthropic", PRICE)
    sim2.turn(blocks(30, marks=(29,)))
    far = sim2.turn(blocks(50, marks=(49,)))  # 20 blocks back: out of reach
    assert far.cache_read == 0 and far.cache_write == 5000


def test_anthropic_a_changed_block_breaks_the_prefix_and_small_prefixes_are_not_cached() -> None:
    sim = CacheSimulator("anthropic", PRICE)
    sim.turn(blocks(30, marks=(29,)))
    changed = sim.turn(blocks(30, marks=(29,), salt="x"))  # last block differs
    assert changed.cache_read == 0
    tiny = CacheSimulator("anthropic", PRICE)
    assert tiny.turn(blocks(5, marks=(4,))).cache_write == 0  # 500 tokens < 1,024


def test_openai_caches_automatically_in_128_token_steps_above_1024() -> None:
    sim = CacheSimulator("openai", PRICE)
    sim.turn(blocks(15, tokens=97))
    bill = sim.turn(blocks(20, tokens=97))  # 14 shared blocks ... (15th is salted? no: all equal)
    matched = 15 * 97
    assert bill.cache_read == 1024 + (matched - 1024) // 128 * 128
    assert bill.cache_write == 0


def test_ideal_reads_the_longest_earlier_prefix_and_writes_the_rest() -> None:
    sim = CacheSimulator("ideal", PRICE)
    sim.turn(blocks(3))
    bill = sim.turn(blocks(5))
    assert (bill.cache_read, bill.cache_write) == (300, 200)
