"""``frugal eval-router``: score a prompt file with a router and report how well it ranks.

Each prompt gets one score (higher = needs strong). With ``strong``/``weak`` labels the report
gives APGR, CPT(50%), CPT(80%) overall and per source family next to a random router's, and the
strong-call share the configured ``strong`` threshold would produce. ``cv_groups`` scores each
prompt with a learned router fitted without its group (whole sources held out), which is how a
router meets domains it has never seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import msgspec
import numpy as np

from app.canonical import Message, Request, TextPart
from app.routing.dataset import Dataset, family
from app.routing.metrics import evaluate, pgr_at_share
from app.routing.router import Router, Thresholds


def prompt_request(prompt: str) -> Request:
    """A labelled prompt as the router sees live traffic: one user message, model ``auto``."""
    return Request(model="auto", style="openai-chat", messages=[Message("user", [TextPart(prompt)])])


def score_all(router: Router, data: Dataset) -> np.ndarray:
    return np.array([router.score(prompt_request(r.prompt))[0] for r in data.rows], dtype=np.float64)


def score_cv(data: Dataset, folds: int = 5, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Out-of-fold learned-router scores, holding out whole ``source`` groups."""
    from app.routing.training import out_of_fold

    if not data.labelled:
        raise ValueError("cross-validation needs `strong` and `weak` scores on every row")
    if any(r.source is None for r in data.rows):
        raise ValueError("cross-validation by source needs a `source` on every row")
    return out_of_fold(data.features(), data.strong() - data.weak(), data.sources(), folds, progress)


def write_scores(path: Path, data: Dataset, scores: np.ndarray) -> None:
    enc = msgspec.json.Encoder()
    with path.open("wb") as f:
        for r, s in zip(data.rows, scores, strict=True):
            f.write(enc.encode({"id": r.id, "score": round(float(s), 6)}) + b"\n")


def report(data: Dataset, scores: np.ndarray, thresholds: Thresholds, title: str) -> str:
    """The metrics table, overall and per source family (``gsm8k``, ``mmlu``, ...)."""
    strong, weak = data.strong(), data.weak()
    fams = np.array([family(s) for s in data.sources()])
    groups: Iterable[str] = ["all", *sorted(set(fams) - {""})] if len(set(fams)) > 1 else ["all"]
    at = f"strong share @{thresholds.strong:.2f}"
    lines = [
        title,
        f"{'prompts':<14}{'n':>6}  {'APGR':>6} {'random':>6}  {'CPT(50%)':>8} {'random':>6}  "
        f"{'CPT(80%)':>8} {'random':>6}  {at:>19} {'PGR':>6}",
    ]
    for g in groups:
        mask = np.ones(len(fams), bool) if g == "all" else fams == g
        s, st, wk = scores[mask], strong[mask], weak[mask]
        m = evaluate(s, st, wk)
        share = float(np.mean(s >= thresholds.strong))
        lines.append(
            f"{g:<14}{m.n:>6}  {m.apgr:>6.3f} {0.5:>6.3f}  {m.cpt50:>8.1%} {0.5:>6.1%}  "
            f"{m.cpt80:>8.1%} {0.8:>6.1%}  {share:>19.1%} {pgr_at_share(s, st, wk, share):>6.3f}"
        )
    lines.append(
        "APGR: area under the performance-gap-recovered curve (random 0.5, higher is better); "
        "CPT(p): share of calls sent to strong to recover p of the gap (lower is better)."
    )
    return "\n".join(lines)
