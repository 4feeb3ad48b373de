"""The learned router at run time: a linear model from ``models/router.json``, pure numpy.

Training (``app.routing.training``) needs scikit-learn; scoring does not: the artifact holds the
standardisation, the coefficients and the training predictions' percentiles, so a score is one
dot product and one interpolation (a few µs on top of the features). The score is the share of
training prompts the model rated as needing the strong tier less than this one: 0.7 means "harder
than 70% of what it was trained on", which is what a tier threshold wants to say.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.canonical import Request
from app.routing import artifact
from app.routing.features import FEATURES, Conversation, describe, extract


class LearnedRouter:
    """Scores with a fitted linear model (``Router``). Build with ``LearnedRouter.load``."""

    def __init__(self, model: artifact.LinearModel, meta: artifact.Metadata | None = None) -> None:
        self.meta = meta
        self._mean = np.asarray(model.mean, dtype=np.float64)
        self._scale = np.asarray(model.scale, dtype=np.float64)
        self._coef = np.asarray(model.coef, dtype=np.float64)
        self._intercept = model.intercept
        self._knots = np.asarray(model.quantiles, dtype=np.float64)
        self._levels = np.linspace(0.0, 1.0, len(self._knots))

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
        x = np.asarray(row, dtype=np.float64)
        terms = (x - self._mean) / self._scale * self._coef
        score = float(np.interp(float(terms.sum()) + self._intercept, self._knots, self._levels))
        return score, self._reason(score, terms, x)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Raw predictions for a matrix of feature rows (evaluation, calibration)."""
        z: np.ndarray = ((features - self._mean) / self._scale) @ self._coef + self._intercept
        return z

    def scores(self, features: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.interp(self.predict(features), self._knots, self._levels)
        return out

    def _reason(self, score: float, terms: np.ndarray, x: np.ndarray) -> str:
        up = score >= 0.5
        order = np.argsort(-terms if up else terms)[:3]
        said = ", ".join(
            describe(FEATURES[i], float(x[i])) for i in order if (terms[i] > 0.01 if up else terms[i] < -0.01)
        )
        return f"learned {score:.2f}: {said or 'nothing unusual'}"
