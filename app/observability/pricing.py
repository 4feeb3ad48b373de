"""What a request cost, in USD, from its token usage and a price table.

Prices are USD per million tokens (``models/pricing.json``, overridable by ``pricing:`` in the
config). Cost is computed from the canonical ``Usage`` (whose ``input_tokens`` counts every
prompt token, cache reads and writes included), kept unrounded:

    cost = (input - cache_read - cache_write) * input_price + cache_read * cache_read_price
           + cache_write * cache_write_price + output * output_price

A model the table does not know has an *unknown* cost (``None``), never zero: the caller counts it
as unpriced so a missing price is visible instead of silently cheap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import msgspec

from app.canonical import Usage
from app.config import PriceConfig

PER_TOKEN = 1e-6
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
_DATE_SUFFIX = re.compile(r"(-\d{8}|-\d{4}-\d{2}-\d{2}|@\d{8}|-latest|-preview-\d\d-\d\d)$")


class _Band(msgspec.Struct):
    above: int
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


class _Entry(msgspec.Struct):
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    long_context: _Band | None = None


class _Table(msgspec.Struct):
    models: dict[str, _Entry]


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens for one model (and, above ``long_above`` prompt tokens, another)."""

    input: float
    output: float
    cache_read: float
    cache_write: float
    long_above: int | None = None
    long: Price | None = None

    def for_prompt(self, prompt_tokens: int) -> Price:
        if self.long is not None and self.long_above is not None and prompt_tokens > self.long_above:
            return self.long
        return self

    def cost(self, usage: Usage) -> float:
        p = self.for_prompt(usage.input_tokens)
        uncached = max(0, usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens)
        return PER_TOKEN * (
            uncached * p.input
            + usage.cache_read_tokens * p.cache_read
            + usage.cache_write_tokens * p.cache_write
            + usage.output_tokens * p.output
        )

    def input_cost(self, tokens: int, prompt_tokens: int | None = None) -> float:
        """What ``tokens`` uncached prompt tokens cost (what an optimizer saved by not sending them)."""
        p = self.for_prompt(tokens if prompt_tokens is None else prompt_tokens)
        return PER_TOKEN * tokens * p.input


def _price(input: float, output: float, cache_read: float | None, cache_write: float | None) -> Price:
    # no published cache price: assume none is offered (cache tokens billed as input)
    read = input if cache_read is None else cache_read
    write = input if cache_write is None else cache_write
    return Price(input, output, read, write)


class PriceTable:
    """Looks a model up by exact name, then without a date/version suffix or a vendor prefix
    (``anthropic/claude-sonnet-4.5`` and ``claude-sonnet-4-5-20250929`` are
    ``claude-sonnet-4-5``)."""

    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices = dict(prices)
        self._memo: dict[str, Price | None] = {}

    @classmethod
    def load(cls, overrides: Mapping[str, PriceConfig] | None = None, path: Path | None = None) -> PriceTable:
        table = msgspec.json.decode((path or MODELS_DIR / "pricing.json").read_bytes(), type=_Table)
        prices: dict[str, Price] = {}
        for name, e in table.models.items():
            base = _price(e.input, e.output, e.cache_read, e.cache_write)
            if e.long_context is not None:
                lc = e.long_context
                long = _price(lc.input, lc.output, lc.cache_read, lc.cache_write)
                base = Price(base.input, base.output, base.cache_read, base.cache_write, lc.above, long)
            prices[name] = base
        for name, o in (overrides or {}).items():
            prices[name] = _price(o.input, o.output, o.cache_read, o.cache_write)
        return cls(prices)

    def names(self) -> list[str]:
        return sorted(self._prices)

    def get(self, model: str | None) -> Price | None:
        if not model:
            return None
        if model in self._memo:
            return self._memo[model]
        found = self._lookup(model)
        if len(self._memo) < 4096:  # model names come from configs and providers: few distinct
            self._memo[model] = found
        return found

    def _lookup(self, model: str) -> Price | None:
        for candidate in _candidates(model):
            price = self._prices.get(candidate)
            if price is not None:
                return price
        return None

    def cost(self, model: str | None, usage: Usage | None) -> float | None:
        if usage is None:
            return None
        price = self.get(model)
        return None if price is None else price.cost(usage)


def _candidates(model: str) -> list[str]:
    name = model.strip()
    out = [name]
    bare = name.rsplit("/", 1)[-1].removeprefix("models/")  # vendor/model, Gemini's models/x
    bare = bare.split(":", 1)[0]  # local:NAME, bedrock-style suffixes
    out.append(bare)
    dashed = bare.replace(".", "-") if bare.startswith("claude") else bare
    out.append(dashed)
    undated = _DATE_SUFFIX.sub("", dashed)
    out.append(undated)
    if undated.startswith("claude-") and undated.count("-") == 2:
        out.append(undated + "-0")  # claude-sonnet-4 == claude-sonnet-4-0
    return list(dict.fromkeys(out))
