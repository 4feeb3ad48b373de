"""Labelled prompt files for ``frugal train`` and ``frugal eval-router``.

One JSON object a line: ``id`` and ``prompt`` always; ``source`` (a group name such as
``gsm8k`` or ``mmlu/anatomy``) and the two models' scores ``strong`` and ``weak`` when known.
Other fields are ignored. A file without scores can still be scored, just not evaluated.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np

from app.routing.features import of_prompt


class Row(msgspec.Struct):
    id: str
    prompt: str
    source: str | None = None
    strong: float | None = None
    weak: float | None = None


class DatasetError(Exception):
    """The file cannot be read as labelled prompts (the message names the line)."""


@dataclass(frozen=True, slots=True)
class Dataset:
    rows: list[Row]
    sha256: str

    @property
    def labelled(self) -> bool:
        return bool(self.rows) and all(r.strong is not None and r.weak is not None for r in self.rows)

    def strong(self) -> np.ndarray:
        return np.array([r.strong for r in self.rows], dtype=np.float64)

    def weak(self) -> np.ndarray:
        return np.array([r.weak for r in self.rows], dtype=np.float64)

    def sources(self) -> list[str]:
        return [r.source or "" for r in self.rows]

    def features(self) -> np.ndarray:
        return np.array([of_prompt(r.prompt) for r in self.rows], dtype=np.float64)


def family(source: str) -> str:
    """``mmlu/anatomy`` -> ``mmlu``: the benchmark a source belongs to."""
    return source.split("/", 1)[0]


def read(path: Path) -> Dataset:
    decoder = msgspec.json.Decoder(Row)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror})") from None
    rows = []
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(decoder.decode(line))
        except msgspec.DecodeError as exc:
            raise DatasetError(f"{path}:{n}: {exc}") from None
    if not rows:
        raise DatasetError(f"{path}: no prompts")
    return Dataset(rows, hashlib.sha256(data).hexdigest())
