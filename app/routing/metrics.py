"""How good a router's ranking is: APGR, CPT(p) and the PGR curve (RouteLLM's metrics).

A router gives every prompt a score, higher meaning "needs the strong model". Sending the k
highest-scored prompts to the strong model (k = 0..n) gives a performance
``perf(k) = mean(strong score if routed strong else weak score)``. PGR, the performance gap
recovered, puts it on a scale where the all-weak router is 0 and the all-strong one is 1:
``PGR(k) = (perf(k) - mean(weak)) / (mean(strong) - mean(weak))``.

* **APGR** — the area under PGR over the strong-call share k/n (trapezoids over k = 0..n);
  a random router scores 0.5, an oracle can exceed 1 where only the weak model was right.
* **CPT(p)** — the smallest strong-call share k/n with PGR(k) >= p; random: p itself.

Tied scores count at their expected value (random tie-breaking): inside a run of m tied prompts,
taking j of them gains j/m of the run's total gain, so the curve is linear across the run. With
every score tied the router *is* random and gets exactly APGR 0.5.

Definitions: lm-sys/RouteLLM (Apache-2.0), "RouteLLM: Learning to Route LLMs with Preference
Data", Ong et al. 2024, and the dev set's README (its README).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# PGR values are sums of many floats: a target hit exactly (random router, PGR(k) = k/n) must
# not be missed by one rounding step
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class RouterMetrics:
    n: int
    strong_mean: float
    weak_mean: float
    apgr: float
    cpt50: float  # strong-call share, 0..1; nan when the models tie on average
    cpt80: float


def gain_curve(scores: Sequence[float] | FloatArray, gain: Sequence[float] | FloatArray) -> FloatArray:
    """Expected total gain (strong - weak) of sending the k highest-scored prompts to strong,
    for k = 0..n, ties broken at random (their expected value)."""
    s = np.asarray(scores, dtype=np.float64)
    g = np.asarray(gain, dtype=np.float64)
    if s.shape != g.shape or s.ndim != 1:
        raise ValueError("scores and gains must be 1-D and of equal length")
    n = len(s)
    order = np.argsort(-s, kind="stable")
    s_sorted, g_sorted = s[order], g[order]
    # boundaries of runs of equal score
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    ends = np.r_[starts[1:], n]
    group_total = np.add.reduceat(g_sorted, starts) if n else np.zeros(0)
    group_size = ends - starts
    # every prompt of a run carries the run's mean gain: the expected gain of a random pick
    per_item = np.repeat(group_total / group_size, group_size) if n else np.zeros(0)
    curve: FloatArray = np.concatenate(([0.0], np.cumsum(per_item)))
    return curve


def pgr_curve(
    scores: Sequence[float] | FloatArray,
    strong: Sequence[float] | FloatArray,
    weak: Sequence[float] | FloatArray,
) -> FloatArray:
    """PGR(k) for k = 0..n (nan throughout when the models' means are equal)."""
    st = np.asarray(strong, dtype=np.float64)
    wk = np.asarray(weak, dtype=np.float64)
    n = len(st)
    gap = float(st.sum() - wk.sum())
    cum = gain_curve(scores, st - wk)
    if n == 0 or abs(gap) < _EPS:
        return np.full(n + 1, np.nan)
    return cum / gap


def cpt(pgr: FloatArray, target: float) -> float:
    """Smallest strong-call share whose PGR reaches ``target`` (nan if none does)."""
    n = len(pgr) - 1
    hit = np.flatnonzero(pgr >= target - _EPS)
    return float(hit[0] / n) if len(hit) and n > 0 else float("nan")


def evaluate(
    scores: Sequence[float] | FloatArray,
    strong: Sequence[float] | FloatArray,
    weak: Sequence[float] | FloatArray,
) -> RouterMetrics:
    pgr = pgr_curve(scores, strong, weak)
    n = len(pgr) - 1
    if n == 0:
        raise ValueError("no prompts to evaluate")
    share = np.arange(n + 1) / n
    apgr = float(np.trapezoid(pgr, share))
    return RouterMetrics(
        n=n,
        strong_mean=float(np.mean(strong)),
        weak_mean=float(np.mean(weak)),
        apgr=apgr,
        cpt50=cpt(pgr, 0.5),
        cpt80=cpt(pgr, 0.8),
    )


def pgr_at_share(
    scores: Sequence[float] | FloatArray,
    strong: Sequence[float] | FloatArray,
    weak: Sequence[float] | FloatArray,
    share: float,
) -> float:
    """PGR when ``share`` (0..1) of the prompts go to strong, interpolated between whole k."""
    pgr = pgr_curve(scores, strong, weak)
    n = len(pgr) - 1
    return float(np.interp(share * n, np.arange(n + 1), pgr))
