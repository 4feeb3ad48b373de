"""Monthly USD budgets per project (``auth.projects[].monthly_budget_usd``), read from the usage
store.

Spend is the project's cost since the start of the UTC month: the usage store's sum, refreshed
every ``refresh`` seconds in a worker thread (never on the request path), plus what this process
billed since the last refresh (an after-hook adds each finished request's cost), so a burst
between refreshes is still counted. Several workers or replicas each count their own recent
requests and all read the same store: the figure is exact to within one refresh interval.

Past ``soft_share`` of the budget, ``auto`` requests are moved one tier down (tier selection asks
``pressure``); at 100% requests are refused with a 402 in the caller's style — or sent to the local
tier when ``on_exhausted: local`` and one is configured. Cache hits are free and still served.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Literal

from app.background import cancel_and_wait
from app.canonical import Request, Response
from app.errors import BudgetExceeded
from app.pipeline import Finished, RequestContext
from app.routing.model_names import ModelResolver, Resolution

log = logging.getLogger("frugal.budgets")
SpendReader = Callable[[str, float], float]  # (project, since unix seconds) -> USD, blocking


def month_start(now: float) -> float:
    d = dt.datetime.fromtimestamp(now, dt.UTC)
    return dt.datetime(d.year, d.month, 1, tzinfo=dt.UTC).timestamp()


class Budgets:
    def __init__(
        self,
        budgets: dict[str, float],
        read_spend: SpendReader,
        *,
        soft_share: float = 0.8,
        refresh: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.budgets = budgets
        self._read = read_spend
        self.soft_share = soft_share
        self.refresh = refresh
        self._clock = clock
        self._stored: dict[str, float] = {}  # spend in the store at the last refresh
        self._recent: dict[str, float] = {}  # billed by this process since then
        self._month = month_start(clock())
        self._task: asyncio.Task[None] | None = None

    def spent(self, project: str) -> float:
        return self._stored.get(project, 0.0) + self._recent.get(project, 0.0)

    def share(self, project: str) -> float | None:
        budget = self.budgets.get(project)
        if budget is None:
            return None
        return self.spent(project) / budget if budget > 0 else float("inf")

    def pressure(self, project: str) -> bool:
        share = self.share(project)
        return share is not None and share >= self.soft_share

    def exhausted(self, project: str) -> bool:
        share = self.share(project)
        return share is not None and share >= 1.0

    # ------------------------------------------------------------------ keeping spend current

    def after(self, done: Finished) -> None:
        r = done.record
        if r.project in self.budgets and r.cost_usd:
            self._recent[r.project] = self._recent.get(r.project, 0.0) + r.cost_usd

    def refresh_now(self) -> None:
        """Blocking: read every budgeted project's month spend from the store."""
        now = self._clock()
        month = month_start(now)
        stored = {p: self._read(p, month) for p in self.budgets}
        self._stored = stored
        self._recent = {}
        self._month = month

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.refresh_now)
            except Exception as exc:  # the store is away: keep the last figures and this process's
                log.warning("budget spend refresh failed (%s); using the last known figures", exc)
            await asyncio.sleep(self.refresh)

    def start(self) -> None:
        if self._task is None and self.budgets:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def aclose(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None


class BudgetGuard:
    """The stage that refuses (or sends to local) a project whose month budget is spent."""

    name = "budget"

    def __init__(
        self, budgets: Budgets, resolver: ModelResolver, on_exhausted: Literal["reject", "local"]
    ) -> None:
        self.budgets = budgets
        self.resolver = resolver
        self.on_exhausted = on_exhausted

    async def apply(self, req: Request, ctx: RequestContext) -> Request | Response:
        project = ctx.project.name
        if not self.budgets.exhausted(project):
            return req
        budget = self.budgets.budgets[project]
        local = self.resolver.tier_route("local") if self.on_exhausted == "local" else None
        if local is not None and ctx.resolution is not None:
            ctx.resolution = Resolution(local, ctx.resolution.requested, "budget", "local")
            ctx.tier_reason = f"monthly budget of ${budget:,.2f} spent: local tier"
            ctx.decide("budget", "exhausted: local")
            return req
        ctx.decide("budget", "exhausted: refused")
        raise BudgetExceeded(
            f"project '{project}' has spent its monthly budget of ${budget:,.2f} "
            f"(${self.budgets.spent(project):,.2f} this month); it resets on the 1st (UTC)"
        )
