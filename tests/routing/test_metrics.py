"""APGR / CPT on a file small enough to compute by hand (ties at their expected value)."""

from __future__ import annotations

import math

import pytest

from app.routing.metrics import evaluate, pgr_curve

# id: (score, strong, weak). Gains +1, 0, -1, +1; b and c tie.
ROWS = {"a": (0.9, 1.0, 0.0), "b": (0.5, 1.0, 1.0), "c": (0.5, 0.0, 1.0), "d": (0.1, 1.0, 0.0)}


def cols() -> tuple[list[float], list[float], list[float]]:
    s, st, wk = zip(*ROWS.values(), strict=True)
    return list(s), list(st), list(wk)


def test_pgr_curve_counts_a_tie_at_its_expected_value() -> None:
    # strong total 3, weak total 2: gap 1. k=1 takes a (+1); k=2 takes half of b+c (-0.5 expected);
    # k=3 both (-1); k=4 adds d (+1)
    assert list(pgr_curve(*cols())) == pytest.approx([0.0, 1.0, 0.5, 0.0, 1.0])


def test_apgr_and_cpt_by_hand() -> None:
    m = evaluate(*cols())
    # trapezoids of width 1/4: (0+1)/2 + (1+.5)/2 + (.5+0)/2 + (0+1)/2 = 2 -> 2/4
    assert m.apgr == pytest.approx(0.5)
    assert m.cpt50 == pytest.approx(0.25)  # PGR 1.0 already at k=1
    assert m.cpt80 == pytest.approx(0.25)
    assert (m.strong_mean, m.weak_mean) == (0.75, 0.5)


def test_ordering_inside_a_tie_does_not_matter() -> None:
    s, st, wk = cols()
    flipped = evaluate(s[::-1], st[::-1], wk[::-1])
    assert flipped.apgr == pytest.approx(evaluate(s, st, wk).apgr)


def test_a_constant_router_is_exactly_random() -> None:
    st = [1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0]
    wk = [0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0]
    m = evaluate([0.3] * 10, st, wk)
    assert m.apgr == pytest.approx(0.5)
    assert m.cpt50 == pytest.approx(0.5)
    assert m.cpt80 == pytest.approx(0.8)


def test_oracle_beats_random_and_reverse_oracle_loses() -> None:
    st = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    wk = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0]
    gain = [a - b for a, b in zip(st, wk, strict=True)]
    best, worst = evaluate(gain, st, wk), evaluate([-g for g in gain], st, wk)
    assert best.apgr > 1.0 > 0.5 > worst.apgr  # > 1: on one prompt only the weak model was right
    assert best.cpt80 == pytest.approx(1 / 6)


def test_equal_models_have_no_gap_to_recover() -> None:
    m = evaluate([0.1, 0.2], [1.0, 0.0], [0.0, 1.0])
    assert math.isnan(m.apgr) and math.isnan(m.cpt50)
