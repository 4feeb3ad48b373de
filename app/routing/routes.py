"""Runtime routes: a name and the ordered provider steps that can answer it."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.config import ConflictKind
from app.providers.base import Provider


@dataclass(frozen=True, slots=True)
class Step:
    provider: Provider
    model: str
    timeout: float | None = None
    conflicts: tuple[ConflictKind, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    steps: tuple[Step, ...]
    hedge_after: float | None = None
    aliases: tuple[str, ...] = field(default=())
