"""Costs from usage, cache tokens included, against hand-computed values."""

from __future__ import annotations

import pytest

from app.canonical import Usage
from app.config import PriceConfig
from app.observability.pricing import PriceTable


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return PriceTable.load({"my-local": PriceConfig(input=0.5, output=1.0)})


def test_anthropic_cost_with_cache_reads_and_writes(prices: PriceTable) -> None:
    # claude-sonnet-4-5: $3 in, $15 out, $0.30 cache read, $3.75 cache write per million.
    # 10,000 prompt tokens of which 6,000 read from cache and 2,000 written: 2,000 uncached.
    usage = Usage(input_tokens=10_000, output_tokens=500, cache_read_tokens=6_000, cache_write_tokens=2_000)
    expected = (2_000 * 3 + 6_000 * 0.30 + 2_000 * 3.75 + 500 * 15) / 1e6  # = 0.0228
    assert prices.cost("claude-sonnet-4-5", usage) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.0228)


def test_openai_cached_tokens_have_no_write_premium(prices: PriceTable) -> None:
    # gpt-4.1: $2 in, $8 out, $0.50 cached. 3,000 prompt tokens, 2,048 cached.
    usage = Usage(input_tokens=3_000, output_tokens=100, cache_read_tokens=2_048)
    assert prices.cost("gpt-4.1", usage) == pytest.approx((952 * 2 + 2_048 * 0.5 + 100 * 8) / 1e6)


def test_long_context_band_prices_the_whole_request(prices: PriceTable) -> None:
    # gemini-2.5-pro: above 200k prompt tokens every token is billed at $2.50 / $15
    usage = Usage(input_tokens=250_000, output_tokens=1_000)
    assert prices.cost("gemini-2.5-pro", usage) == pytest.approx((250_000 * 2.5 + 1_000 * 15) / 1e6)
    small = Usage(input_tokens=1_000, output_tokens=1_000)
    assert prices.cost("gemini-2.5-pro", small) == pytest.approx((1_000 * 1.25 + 1_000 * 10) / 1e6)


@pytest.mark.parametrize(
    "name",
    [
        "claude-sonnet-4-5-20250929",
        "anthropic/claude-sonnet-4.5",
        "claude-sonnet-4-5",
    ],
)
def test_versioned_and_vendor_prefixed_names_find_their_price(prices: PriceTable, name: str) -> None:
    assert prices.get(name) == prices.get("claude-sonnet-4-5")


def test_claude_family_name_without_minor_version(prices: PriceTable) -> None:
    assert prices.get("anthropic/claude-sonnet-4") == prices.get("claude-sonnet-4-0")


def test_unknown_model_cost_is_unknown_not_zero(prices: PriceTable) -> None:
    assert prices.cost("someone/brand-new-model", Usage(input_tokens=10, output_tokens=10)) is None


def test_config_override_without_cache_prices_bills_cache_tokens_as_input(prices: PriceTable) -> None:
    usage = Usage(input_tokens=1_000, output_tokens=0, cache_read_tokens=1_000)
    assert prices.cost("my-local", usage) == pytest.approx(1_000 * 0.5 / 1e6)


def test_every_model_the_readme_names_has_a_price(prices: PriceTable) -> None:
    for model in (
        "claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1", "claude-sonnet-4-0",
        "gpt-5", "gpt-5-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "o3", "o4-mini",
        "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-3-pro-preview",
    ):  # fmt: skip
        assert prices.get(model) is not None, model
