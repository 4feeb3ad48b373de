"""What each turn of a conversation costs in input tokens under a provider's prompt cache.

* ``no_cache``: every prompt token at the input price.
* ``ideal``: the longest prefix (in blocks) any earlier turn of the conversation sent is read
  from cache, the rest is written (Anthropic: as if every block were a breakpoint, no lookback
  limit; OpenAI: no 1,024-token floor, no 128-token steps). The best any caching can do on the
  requests as given.
* ``anthropic``: Anthropic's rules. A turn writes the prefix up to each of its breakpoints (at
  least 1,024 tokens, Sonnet's minimum); a breakpoint reads the longest entry found at it or at
  most 19 blocks before it; reads bill at the cache-read price (0.1x), writes at the write
  price (1.25x), the rest at the input price.
* ``openai``: automatic prefix caching: prompts of 1,024 tokens or more reuse the longest prefix
  of an earlier turn, counted in 128-token steps above 1,024; cached tokens bill at the
  cache-read price, with no write premium.

Entries live for the whole conversation (turns of an agent loop come seconds apart, well inside
the 5-minute lifetime).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.observability.pricing import PER_TOKEN, Price
from app.replay.blocks import Block

Rule = Literal["no_cache", "ideal", "anthropic", "openai"]
LOOKBACK = 20  # blocks Anthropic checks from a breakpoint, the breakpoint's own included
MIN_CACHEABLE = 1024  # tokens: the shortest prefix either provider caches
OPENAI_STEP = 128


@dataclass(slots=True)
class Bill:
    input_tokens: int = 0
    cache_read: int = 0
    cache_write: int = 0
    usd: float = 0.0

    def add(self, other: Bill) -> None:
        self.input_tokens += other.input_tokens
        self.cache_read += other.cache_read
        self.cache_write += other.cache_write
        self.usd += other.usd


class CacheSimulator:
    """One conversation's cache under one rule; ``turn`` bills the next request."""

    def __init__(self, rule: Rule, price: Price) -> None:
        self._rule = rule
        self._price = price
        self._entries: set[bytes] = set()

    def turn(self, blocks: list[Block]) -> Bill:
        totals = _cumulative(blocks)
        total = totals[-1] if totals else 0
        read = write = 0
        if self._rule == "ideal":
            read = self._longest(blocks, totals, range(len(blocks)))
            write = total - read
            self._entries.update(b.prefix for b in blocks)
        elif self._rule == "openai":
            matched = self._longest(blocks, totals, range(len(blocks)))
            if total >= MIN_CACHEABLE and matched >= MIN_CACHEABLE:
                read = MIN_CACHEABLE + (matched - MIN_CACHEABLE) // OPENAI_STEP * OPENAI_STEP
            self._entries.update(b.prefix for b in blocks)
        elif self._rule == "anthropic":
            read, write = self._anthropic(blocks, totals)
        p = self._price.for_prompt(total)
        usd = PER_TOKEN * ((total - read - write) * p.input + read * p.cache_read + write * p.cache_write)
        return Bill(total, read, write, usd)

    def _longest(self, blocks: list[Block], totals: list[int], candidates: range) -> int:
        best = 0
        for i in candidates:
            if blocks[i].prefix in self._entries:
                best = max(best, totals[i])
        return best

    def _anthropic(self, blocks: list[Block], totals: list[int]) -> tuple[int, int]:
        marks = [i for i, b in enumerate(blocks) if b.breakpoint]
        read = 0
        for i in marks:
            for j in range(i, max(-1, i - LOOKBACK), -1):
                if blocks[j].prefix in self._entries:
                    read = max(read, totals[j])
                    break
        written = [i for i in marks if totals[i] >= MIN_CACHEABLE]
        write = max(0, totals[written[-1]] - read) if written else 0
        self._entries.update(blocks[i].prefix for i in written)
        return read, write


def _cumulative(blocks: list[Block]) -> list[int]:
    out: list[int] = []
    n = 0
    for b in blocks:
        n += b.tokens
        out.append(n)
    return out
