"""The learned router at run time: a linear model from ``models/router.json``, pure Python.

Training (``app.routing.training``) needs scikit-learn; scoring does not: the artifact holds the
standardisation, the coefficients and the training predictions' percentiles, so a score is one
dot product and one interpolation (a few µs on top of the features). The score is the share of
training prompts the model rated as needing the strong tier less than this one: 0.7 means "harder
than 70% of what it was trained on", which is what a tier threshold wants to say.

Scoring one request is plain Python over ~20 floats: numpy would cost ~10 MB of resident memory
in every worker for one dot product. ``predict`` and ``scores`` (matrices of rows, for evaluation
and training) import numpy when called.
"""

from __future__ import annotations

import bisect
import math
from pathlib import Path
from typing import TYPE_CHECKING

from app.canonical import Request
from app.routing import artifact
from app.routing.features import FEATURES, Conversation, describe, extract

if TYPE_CHECKING:
    import numpy as np


class LearnedRouter:
    """Scores with a fitted linear model (``Router``). Build with ``LearnedRouter.load``."""

    def __init__(self, model: artifact.LinearModel, meta: artifact.Metadata | None = None) -> None:
        self.meta = meta
        self._mean = [float(v) for v in model.mean]
        self._scale = [float(v) for v in model.scale]
        self._coef = [float(v) for v in model.coef]
        self._intercept = float(model.intercept)
        self._knots = [float(v) for v in model.quantiles]
        self._levels = _linspace01(len(self._knots))

    @classmethod
    def load(cls, path: Path) -> LearnedRouter:
        art = artifact.load(path, FEATURES)
        return cls(art.model, art.metadata)

    def score(self, req: Request) -> tuple[float, str]:
        return self.score_conversation(Conversation.of(req))

    def score_conversation(self, conv: Conversation) -> tuple[float, str]:
        return self.score_features(extract(conv))

    def score_features(self, row: list[float]) -> tuple[float, str]:
        """A feature row (``app.routing.features.FEATURES``) already extracted."""
        x = [float(v) for v in row]
        if len(x) != len(self._coef):
            raise ValueError(f"expected {len(self._coef)} features, got {len(x)}")
        terms = [(v - m) / s * c for v, m, s, c in zip(x, self._mean, self._scale, self._coef, strict=True)]
        score = interp(sum(terms) + self._intercept, self._knots, self._levels)
        return score, self._reason(score, terms, x)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Raw predictions for a matrix of feature rows (evaluation, calibration)."""
        import numpy as np

        mean = np.asarray(self._mean, dtype=np.float64)
        scale = np.asarray(self._scale, dtype=np.float64)
        coef = np.asarray(self._coef, dtype=np.float64)
        z: np.ndarray = ((features - mean) / scale) @ coef + self._intercept
        return z

    def scores(self, features: np.ndarray) -> np.ndarray:
        import numpy as np

        out: np.ndarray = np.interp(self.predict(features), self._knots, self._levels)
        return out

    def _reason(self, score: float, terms: list[float], x: list[float]) -> str:
        up = score >= 0.5
        # strongest first; equal terms in feature order, NaN last (as numpy sorts it)
        order = sorted(range(len(terms)), key=lambda i: _sort_key(-terms[i] if up else terms[i]))[:3]
        said = ", ".join(
            describe(FEATURES[i], x[i]) for i in order if (terms[i] > 0.01 if up else terms[i] < -0.01)
        )
        return f"learned {score:.2f}: {said or 'nothing unusual'}"


def _sort_key(v: float) -> float:
    return math.inf if math.isnan(v) else v


def _linspace01(n: int) -> list[float]:
    """``np.linspace(0.0, 1.0, n)``, value for value (``i * step``, the last exactly 1.0)."""
    if n < 2:
        return [0.0] * n
    step = 1.0 / (n - 1)
    return [i * step for i in range(n - 1)] + [1.0]


def interp(x: float, xp: list[float], fp: list[float]) -> float:
    """``np.interp`` for one value over non-decreasing knots ``xp``: ``fp[0]`` below the first
    knot, ``fp[-1]`` above the last, linear in between; on repeated knots, the last of them."""
    if math.isnan(x):
        return x
    n = len(xp)
    if x < xp[0]:
        return fp[0]
    if x > xp[-1]:
        return fp[-1]
    j = bisect.bisect_right(xp, x) - 1  # the last knot <= x, as numpy's binary search finds it
    if j == n - 1 or xp[j] == x:
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    y = slope * (x - xp[j]) + fp[j]
    if math.isnan(y):  # numpy's fallback when one side overflows
        y = slope * (x - xp[j + 1]) + fp[j + 1]
        if math.isnan(y) and fp[j] == fp[j + 1]:
            y = fp[j]
    return y
