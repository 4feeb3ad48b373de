"""Fitting the learned router (``frugal train``); needs scikit-learn, imported lazily.

The model is ridge regression on the standardised difficulty features, predicting the gain
``strong - weak`` of a prompt (1: only the strong model was right; -1: only the weak one). Ridge
on the gain ranked held-out domains better than logistic regression on ``strong > weak`` or
gradient-boosted trees on the dev set (source-held-out CV, README "Routing"): the trees learned
domain quirks that did not transfer.

``fit_pairs`` is the seam for the gateway's own outcome records: any (features, label) pairs
fit, e.g. a cascade outcome via ``label_of_cascade`` (escalated: the cheap answer failed, the
strong tier was needed).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from app.routing import artifact
from app.routing.dataset import Dataset, family
from app.routing.features import FEATURES
from app.routing.learned import LearnedRouter
from app.routing.metrics import evaluate

ALPHA = 10.0  # ridge penalty on standardised features; 1..100 gave the same CV ranking
QUANTILES = 101
# attribution of the data sets this project trains on, by the file's sha256: the metadata of an
# artifact built from one names where its labels come from (Apache-2.0 asks for it)
KNOWN_DATA = {
    "442e31d5ee1df03c9cdad8f0bc0f92120bd82f280d62476007ad2202225ad5a6": (
        "Trained on prompts and per-prompt correctness of gpt-4-1106-preview (strong) and "
        "Mixtral-8x7B-Instruct-v0.1 (weak) derived from lm-sys/RouteLLM routellm/evals/ "
        "(commit 0b64fdaf, Apache-2.0; Ong et al., 2024) — GSM8K and MMLU prompts."
    ),
}


def label_of_cascade(outcome: str) -> float:
    """A cascade outcome as a training label: 1.0 escalated (cheap failed), 0.0 accepted."""
    if outcome not in ("escalated", "accepted"):
        raise ValueError(f"unknown cascade outcome {outcome!r}")
    return 1.0 if outcome == "escalated" else 0.0


def fit_pairs(features: np.ndarray, labels: Sequence[float] | np.ndarray) -> artifact.LinearModel:
    """Fit the linear model to (feature row, label) pairs; higher label = needs strong more."""
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(FEATURES) or len(x) != len(y):
        raise ValueError(f"need rows of {len(FEATURES)} features and one label each")
    scaler = StandardScaler().fit(x)
    ridge = Ridge(alpha=ALPHA).fit(scaler.transform(x), y)
    scale = np.asarray(scaler.scale_, dtype=np.float64)  # 1.0 where a feature never varies
    pred = ridge.predict(scaler.transform(x))
    knots = np.percentile(pred, np.linspace(0, 100, QUANTILES))
    return artifact.LinearModel(
        features=list(FEATURES),
        mean=[float(v) for v in scaler.mean_],
        scale=[float(v) for v in scale],
        coef=[float(v) for v in ridge.coef_],
        intercept=float(ridge.intercept_),
        quantiles=[float(v) for v in np.maximum.accumulate(knots)],
    )


def out_of_fold(
    features: np.ndarray,
    labels: np.ndarray,
    groups: Sequence[str],
    folds: int = 5,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Scores of each row by a model that never saw its group (GroupKFold); ``progress`` hears
    (folds done, folds)."""
    from sklearn.model_selection import GroupKFold

    n_groups = len(set(groups))
    if n_groups < 2:
        raise ValueError("cross-validation by group needs at least two groups")
    scores = np.zeros(len(labels))
    k = min(folds, n_groups)
    for done, (train, test) in enumerate(GroupKFold(k).split(features, labels, list(groups)), 1):
        router = LearnedRouter(fit_pairs(features[train], labels[train]))
        scores[test] = router.scores(features[test])
        if progress is not None:
            progress(done, k)
    return scores


def metrics_by_family(scores: np.ndarray, data: Dataset) -> dict[str, dict[str, float]]:
    """APGR / CPT(50%) / CPT(80%) overall and per source family (``gsm8k``, ``mmlu``)."""
    strong, weak = data.strong(), data.weak()
    fams = np.array([family(s) for s in data.sources()])
    out: dict[str, dict[str, float]] = {}
    for name in ["all", *sorted(set(fams))]:
        mask = np.ones(len(fams), bool) if name == "all" else fams == name
        m = evaluate(scores[mask], strong[mask], weak[mask])
        out[name] = {"n": m.n, **{k: round(getattr(m, k), 4) for k in ("apgr", "cpt50", "cpt80")}}
    return out


def train(
    data: Dataset,
    command: str,
    attribution: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> artifact.Artifact:
    """Fit on every row of ``data`` and record source-held-out CV metrics in the metadata;
    ``attribution`` says where the labels come from (known data sets are named automatically).
    ``progress`` hears (CV folds done, folds)."""
    import sklearn

    if not data.labelled:
        raise ValueError("training needs `strong` and `weak` scores on every row")
    x = data.features()
    gain = data.strong() - data.weak()
    cv: dict[str, Any] = {"scheme": "none (fewer than two sources)"}
    if len(set(data.sources())) >= 2:
        oof = out_of_fold(x, gain, data.sources(), progress=progress)
        cv = {"scheme": "5-fold GroupKFold by source, out-of-fold", **metrics_by_family(oof, data)}
    # SOURCE_DATE_EPOCH (reproducible-builds convention) pins the date, so a rebuild is identical
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    meta = artifact.Metadata(
        trained_at=when.replace(microsecond=0).isoformat(),
        data_sha256=data.sha256,
        data_rows=len(data.rows),
        target="gain = strong - weak (per-prompt correctness)",
        estimator=f"StandardScaler + Ridge(alpha={ALPHA}); score = percentile among training predictions",
        libraries={"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        command=command,
        cv=cv,
        attribution=KNOWN_DATA.get(data.sha256, attribution),
    )
    return artifact.Artifact(artifact.FORMAT, fit_pairs(x, gain), meta)


def train_from_outcomes(
    pairs: Sequence[tuple[Sequence[float], str]], command: str, source: str
) -> artifact.Artifact:
    """Fit on the gateway's own cascade outcomes (feature row, accepted | escalated): an
    escalation says the cheap tier was not enough for a request like this one. ``source`` names
    the store (without credentials) for the metadata."""
    import hashlib

    import sklearn

    if len(pairs) < 20:
        raise ValueError(f"{len(pairs)} cascade outcomes in the store; training needs at least 20")
    labels = np.asarray([label_of_cascade(outcome) for _, outcome in pairs], dtype=np.float64)
    if labels.min() == labels.max():
        raise ValueError("every cascade outcome is the same: nothing to learn from yet")
    x = np.asarray([list(f) for f, _ in pairs], dtype=np.float64)
    digest = hashlib.sha256(x.tobytes() + labels.tobytes()).hexdigest()
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    meta = artifact.Metadata(
        trained_at=when.replace(microsecond=0).isoformat(),
        data_sha256=digest,
        data_rows=len(pairs),
        target="cascade outcome: 1 escalated (cheap answer failed a check), 0 accepted",
        estimator=f"StandardScaler + Ridge(alpha={ALPHA}); score = percentile among training predictions",
        libraries={"scikit-learn": sklearn.__version__, "numpy": np.__version__},
        command=command,
        cv={"scheme": "none (outcome records)", "escalated_share": round(float(labels.mean()), 4)},
        attribution=f"the gateway's own cascade outcomes ({source})",
    )
    return artifact.Artifact(artifact.FORMAT, fit_pairs(x, labels), meta)
