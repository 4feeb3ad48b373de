"""The learned router's artifact: a linear model and its metadata as JSON, sealed by a sha256.

No pickle: the file is data that anyone can read and diff, and loading it runs no code. The
``sha256`` field is the digest of the canonical encoding (sorted keys, compact) of everything
else, so an edited coefficient, feature list or metadata value is caught at load. It guards
against accidents and casual edits, not an attacker who can also rewrite the digest.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import msgspec

FORMAT = "frugal-router-linear/1"


class ArtifactError(Exception):
    """The artifact is missing, unreadable, tampered with, or made for other features."""


class LinearModel(msgspec.Struct, forbid_unknown_fields=True):
    """``pred = ((x - mean) / scale) . coef + intercept``; the score is pred's position among
    the training predictions (``quantiles``: pred at the 0th, 1st, ..., 100th percentile)."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    quantiles: list[float]


class Metadata(msgspec.Struct, forbid_unknown_fields=True):
    trained_at: str  # ISO date-time (UTC)
    data_sha256: str
    data_rows: int
    target: str  # what the model predicts
    estimator: str
    libraries: dict[str, str]
    command: str
    cv: dict[str, Any]  # cross-validated metrics, per prompt family
    attribution: str


class Artifact(msgspec.Struct, forbid_unknown_fields=True):
    format: str
    model: LinearModel
    metadata: Metadata
    sha256: str = ""


def _digest(art: Artifact) -> str:
    body = msgspec.to_builtins(msgspec.structs.replace(art, sha256=""))
    del body["sha256"]
    return hashlib.sha256(msgspec.json.encode(body, order="sorted")).hexdigest()


def seal(art: Artifact) -> Artifact:
    return msgspec.structs.replace(art, sha256=_digest(art))


def dump(art: Artifact, path: Path) -> None:
    sealed = seal(art)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(sealed, order="sorted"), indent=1) + b"\n")


def load(path: Path, features: tuple[str, ...]) -> Artifact:
    """Read and verify an artifact; ``features`` are the names this code computes, in order."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"router artifact {path}: cannot read ({exc.strerror})") from None
    try:
        art = msgspec.json.decode(raw, type=Artifact)
    except msgspec.DecodeError as exc:
        raise ArtifactError(f"router artifact {path}: not a router artifact ({exc})") from None
    if art.format != FORMAT:
        raise ArtifactError(f"router artifact {path}: format {art.format!r}, this gateway reads {FORMAT!r}")
    if art.sha256 != _digest(art):
        raise ArtifactError(
            f"router artifact {path}: integrity check failed (sha256 does not match the content); "
            "it was edited or corrupted — rebuild it with `frugal train`"
        )
    m = art.model
    if tuple(m.features) != features:
        raise ArtifactError(
            f"router artifact {path}: trained on features {m.features}, this version computes "
            f"{list(features)}; retrain with `frugal train`"
        )
    n = len(features)
    if not (len(m.mean) == len(m.scale) == len(m.coef) == n and len(m.quantiles) >= 2):
        raise ArtifactError(f"router artifact {path}: model arrays do not match {n} features")
    return art
