"""The router interface the tier-selection stage calls, and the factory that builds one.

A router turns a canonical request into a score in [0, 1] — higher means "needs the strong tier"
— and a short reason for logs and the admin page. Routers are pure and built once at start-up
(the learned one reads its artifact then); ``score`` does no I/O and keeps no state.

``Thresholds`` maps a score to a tier: below ``cheap`` the local tier (when one is configured),
from ``strong`` up the strong tier, the cheap tier in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from app.canonical import Request

RouterKind = Literal["heuristic", "learned"]
ROUTER_KINDS: tuple[RouterKind, ...] = ("heuristic", "learned")
Tier = Literal["local", "cheap", "strong"]

# the artifact `frugal train` writes and the repository ships
DEFAULT_ARTIFACT = Path(__file__).resolve().parents[2] / "models" / "router.json"


class Router(Protocol):
    """Scores a request: (score in [0, 1], higher = needs strong; a short human-readable reason).
    ``score_features`` scores a feature row already extracted (the tier stage extracts once and
    keeps the row for the usage store: cascade outcomes become training data)."""

    def score(self, req: Request) -> tuple[float, str]: ...

    def score_features(self, x: list[float]) -> tuple[float, str]: ...


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Lowest score of each tier above local (config ``routing.thresholds``)."""

    cheap: float = 0.15
    strong: float = 0.6

    def __post_init__(self) -> None:
        if not 0.0 <= self.cheap <= self.strong <= 1.0:
            raise ValueError(f"thresholds need 0 <= cheap <= strong <= 1, got {self.cheap}, {self.strong}")

    def tier_for(self, score: float, *, has_local: bool = False) -> Tier:
        if score >= self.strong:
            return "strong"
        if has_local and score < self.cheap:
            return "local"
        return "cheap"


def load_router(kind: RouterKind, path: str | Path | None = None) -> Router:
    """Build the router named ``kind``; ``path`` is the learned router's artifact (default: the
    one shipped in models/). Raises ``ArtifactError`` for a missing, tampered or stale artifact."""
    if kind == "heuristic":
        from app.routing.heuristic import HeuristicRouter

        return HeuristicRouter()
    if kind == "learned":
        from app.routing.learned import LearnedRouter

        return LearnedRouter.load(Path(path) if path is not None else DEFAULT_ARTIFACT)
    raise ValueError(f"unknown router {kind!r} (known: {', '.join(ROUTER_KINDS)})")
