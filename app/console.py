"""What the ``frugal`` command shows a person at a terminal: progress bars and the ``serve``
start-up summary. Progress goes to stderr and only on a terminal, so piped or CI output is the
report alone; colour follows ``NO_COLOR`` (no-color.org)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from app.config import GatewayConfig
from app.observability.logging import wants_colour
from app.observability.redaction import redact, safe_url

Progress = Callable[[int, int], None]


@contextmanager
def progress_bar(label: str) -> Iterator[Progress | None]:
    """A rich progress bar on stderr fed by ``(done, total)`` calls; None when stderr is not a
    terminal (callers then stay silent)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    console = Console(stderr=True, no_color=not wants_colour(sys.stderr))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with RichProgress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@dataclass(frozen=True, slots=True)
class ServeTarget:
    host: str
    port: int
    workers: int


def summary_lines(
    cfg: GatewayConfig, source: str, target: ServeTarget, stages: list[str]
) -> list[tuple[str, str]]:
    """(label, value) pairs: where the gateway listens and what it is made of. Names, hosts and
    numbers only: every URL loses its credentials and free text goes through ``redact``."""
    shown_host = "127.0.0.1" if target.host in ("0.0.0.0", "::") else target.host
    workers = f"{target.workers} worker{'s' if target.workers != 1 else ''}"
    lines = [
        ("listening", f"http://{shown_host}:{target.port}  (bound to {target.host}, {workers})"),
        ("config", source),
    ]
    for p in cfg.providers:
        where = safe_url(p.base_url) if p.base_url else "default endpoint"
        key = "key set" if p.api_key else "no key"
        lines.append(("provider", f"{p.name}  {p.style}  {where}  ({key})"))
    if not cfg.providers:
        lines.append(("provider", "none configured"))
    for r in cfg.routes:
        steps = " -> ".join(f"{s.provider}/{s.model}" for s in r.steps)
        lines.append(("route", f"{r.name}: {steps}"))
    tiers = {t: getattr(cfg.tiers, t) for t in ("local", "cheap", "strong") if getattr(cfg.tiers, t)}
    lines.append(
        ("tiers", ", ".join(f"{k}={v}" for k, v in tiers.items()) or "none (auto uses the default route)")
    )
    lines.append(
        ("routing", f"{cfg.routing.router} router, cascade {'on' if cfg.routing.cascade else 'off'}")
    )
    lines.append(("response cache", _cache(cfg)))
    lines.append(("usage store", _usage(cfg)))
    lines.append(("stages", " -> ".join(stages) or "none"))
    auth = cfg.auth
    keys = len([k for k in auth.api_keys if k]) + len([p for p in auth.projects if p.api_key])
    lines.append(
        (
            "auth",
            f"{keys} key{'s' if keys != 1 else ''}"
            if keys
            else "off (no key: anyone on the network may call it)",
        )
    )
    metrics = "/metrics open" if cfg.metrics.public else "/metrics (admin key)"
    lines.append(("admin", f"/admin, /admin/usage, {metrics}, /health"))
    lines.append(("logs", f"{cfg.logging.level}, format {cfg.logging.format}"))
    return [(label, redact(value)) for label, value in lines]


def _cache(cfg: GatewayConfig) -> str:
    c = cfg.cache
    if c.backend == "off":
        return "off"
    if c.backend == "redis":
        url = cfg.reliability.redis_url or c.url
        return f"redis {safe_url(url)}" if url else "redis (no URL: memory instead)"
    return f"memory, up to {c.memory_max_bytes / 2**20:,.0f} MiB"


def _usage(cfg: GatewayConfig) -> str:
    u = cfg.usage
    if not u.enabled:
        return "off"
    if u.database_url:
        return f"PostgreSQL {safe_url(u.database_url)}"
    return f"SQLite {u.sqlite_path}"


def render_summary(lines: list[tuple[str, str]], colour: bool) -> str:
    width = max(len(label) for label, _ in lines)
    bold, dim, reset = ("\x1b[1m", "\x1b[2m", "\x1b[0m") if colour else ("", "", "")
    out = [f"{bold}Frugal Gateway{reset}"]
    out += [f"  {dim}{label:<{width}}{reset}  {value}" for label, value in lines]
    return "\n".join(out) + "\n"
