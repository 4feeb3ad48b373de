"""Runs conversations through the stages and bills them under each caching rule.

Rows of the report, all over the same requests:

* ``no caching`` and ``ideal prefix caching`` — the client's requests as sent;
* ``client as sent`` — the same under the provider's real rule (Anthropic: only the client's own
  breakpoints; OpenAI: automatic prefix caching);
* ``+ <stage>`` — the stages of the configured pipeline added one at a time in SPEC order,
  under the provider's real rule.

Per optimizer it also counts the prompt tokens each stage removed (summed over requests), and
checks that the lossless stages let every distinct client line reach the provider.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.auth import Project
from app.canonical import Request, Response, Style
from app.observability.pricing import Price
from app.observability.tokens import TokenCounter
from app.pipeline import RequestContext, Stage
from app.providers.mock import MockProvider
from app.replay.billing import Bill, CacheSimulator, Rule
from app.replay.blocks import BlockCutter, Target
from app.replay.load import Conversation
from app.replay.lossless import lost_lines
from app.routing.model_names import Resolution
from app.routing.routes import Route, Step

LOSSY = frozenset({"stale_tool_output"})
_STYLE: dict[Target, Style] = {"anthropic": "anthropic-messages", "openai": "openai-chat"}


@dataclass(slots=True)
class Row:
    label: str
    bill: Bill = field(default_factory=Bill)


@dataclass(slots=True)
class Report:
    rows: list[Row]
    removed: dict[str, int]  # optimizer -> prompt tokens it removed, over all requests
    requests: int
    conversations: int
    lossless_checked: list[str]  # the stages the line check covered
    requests_losing_lines: int
    lost_examples: list[str]


class Replayer:
    def __init__(
        self,
        stages: Sequence[Stage],
        target: Target,
        model: str,
        price: Price,
        counter: TokenCounter,
        progress: Callable[[int, int], None] | None = None,  # (requests done, of total)
    ) -> None:
        self._stages = list(stages)
        self._target = target
        self._model = model
        self._price = price
        self._counter = counter
        self._cutter = BlockCutter(target, model, counter)
        self._progress = progress
        provider = MockProvider(f"replay-{target}")
        provider.style = _STYLE[target]  # the stages see the route's provider style
        self._route = Route("replay", (Step(provider, model),))

    async def run(self, conversations: list[Conversation]) -> Report:
        real: Rule = self._target
        rows = [Row("no caching"), Row("ideal prefix caching"), Row("client as sent")]
        rows += [Row(f"+ {s.name}") for s in self._stages]
        removed: dict[str, int] = {s.name: 0 for s in self._stages}
        lossless = [s.name for s in self._stages if s.name not in LOSSY]
        losing = 0
        examples: list[str] = []
        total = sum(len(c.requests) for c in conversations)
        done = 0
        for conv in conversations:
            sims = [CacheSimulator(rule, self._price) for rule in ("no_cache", "ideal", real)]
            sims += [CacheSimulator(real, self._price) for _ in self._stages]
            for n, req in enumerate(conv.requests):
                versions = await self._versions(req, conv.name, n, removed)
                blocks = self._cutter.cut(req)
                for row, sim in zip(rows[:3], sims[:3], strict=True):
                    row.bill.add(sim.turn(blocks))
                for row, sim, version in zip(rows[3:], sims[3:], versions, strict=True):
                    row.bill.add(sim.turn(self._cutter.cut(version)))
                checked = self._last_lossless(req, versions)
                lost = lost_lines(req, checked)
                if lost:
                    losing += 1
                    examples.extend(sorted(lost)[: max(0, 5 - len(examples))])
                done += 1
                if self._progress is not None:
                    self._progress(done, total)
        return Report(rows, removed, total, len(conversations), lossless, losing, examples)

    async def _versions(self, req: Request, conv: str, n: int, removed: dict[str, int]) -> list[Request]:
        """The request after each stage in turn (a stage's answer ends the pipeline)."""
        ctx = RequestContext(request_id=f"{conv}#{n}", style=req.style, project=Project("replay"))
        ctx.resolution = Resolution(self._route, req.model, "request", None)
        out: list[Request] = []
        current = req
        for stage in self._stages:
            result = await stage.apply(current, ctx)
            if not isinstance(result, Response):
                current = result
            out.append(current)
        for name, s in ctx.savings.items():
            gained = self._counter.count_texts(s.removed, self._model) - self._counter.count_texts(
                s.added, self._model
            )
            removed[name] = removed.get(name, 0) + gained
        return out

    def _last_lossless(self, req: Request, versions: list[Request]) -> Request:
        last = req
        for stage, version in zip(self._stages, versions, strict=True):
            if stage.name in LOSSY:
                break
            last = version
        return last
