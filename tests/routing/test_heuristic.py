"""The complexity heuristic ranks clear cases the way a developer would, and explains itself."""

from __future__ import annotations

import pytest

from app.canonical import Message, Request, TextPart, ToolCallPart, ToolDef, ToolResultPart
from app.routing.heuristic import HeuristicRouter
from app.routing.router import Thresholds, load_router

CODE = "\n".join(
    f"class Service{i}:\n    def handle(self, event):\n        return self.repo.save(event)  # {i}\n"
    for i in range(40)
)


def user(text: str, **kw: object) -> Request:
    return Request(model="auto", style="openai-chat", messages=[Message("user", [TextPart(text)])], **kw)  # type: ignore[arg-type]


RENAME = user("rename the variable `tmp` to `total`")
DESIGN = user(
    "We need to redesign the architecture of our order pipeline. Here are src/orders/service.py, "
    "src/orders/repo.py, src/billing/events.py and src/api/routes.py:\n"
    f"```python\n{CODE}```\n```python\n{CODE}```\n"
    "What are the trade-offs between an event-driven design and keeping synchronous calls? "
    "How should we split the modules, and what is the migration strategy?"
)


def test_a_multi_file_design_question_outranks_a_one_line_rename() -> None:
    router = HeuristicRouter()
    low, _ = router.score(RENAME)
    high, reason = router.score(DESIGN)
    assert 0.0 <= low < 0.15 < 0.6 <= high <= 1.0
    assert "files named" in reason and "design ask" in reason


def test_reason_names_what_pulled_the_score_down() -> None:
    score, reason = HeuristicRouter().score(RENAME)
    assert reason.startswith(f"heuristic {score:.2f}: ")
    assert "quick fix ask" in reason


def test_debugging_with_a_traceback_outranks_a_short_explain_question() -> None:
    router = HeuristicRouter()
    explain = user("What is a Python list comprehension?")
    debug = user(
        "This fails intermittently with a race condition. Traceback:\n```\n"
        + '  File "app/worker.py", line 88, in run\n    self.lock.acquire()\n' * 10
        + "```\nWhy does it deadlock and how do I fix it?"
    )
    assert router.score(debug)[0] > router.score(explain)[0]


def test_a_step_inside_an_agent_loop_scores_lower_than_the_same_ask_fresh() -> None:
    ask = "Implement retry with backoff in src/http/client.py and update tests/test_client.py"
    fresh = user(ask)
    looping = Request(
        model="auto",
        style="openai-chat",
        tools=[ToolDef("read_file")],
        messages=[
            Message("user", [TextPart(ask)]),
            Message("assistant", [ToolCallPart("c1", "read_file", '{"path": "src/http/client.py"}')]),
            Message("user", [ToolResultPart("c1", [TextPart("def get(url): ...")])]),
        ],
    )
    router = HeuristicRouter()
    assert router.score(looping)[0] < router.score(fresh)[0]


def test_history_length_raises_the_score() -> None:
    history = [Message("user", [TextPart(CODE)]), Message("assistant", [TextPart("ok")])] * 5
    ask = Message("user", [TextPart("now add logging to it")])
    long = Request(model="auto", style="openai-chat", messages=[*history, ask])
    assert HeuristicRouter().score(long)[0] > HeuristicRouter().score(user("now add logging to it"))[0]


@pytest.mark.parametrize(
    ("score", "has_local", "tier"),
    [
        (0.05, True, "local"),
        (0.05, False, "cheap"),
        (0.15, True, "cheap"),
        (0.59, True, "cheap"),
        (0.6, False, "strong"),
    ],
)
def test_thresholds_map_a_score_to_a_tier(score: float, has_local: bool, tier: str) -> None:
    assert Thresholds(cheap=0.15, strong=0.6).tier_for(score, has_local=has_local) == tier


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="cheap <= strong"):
        Thresholds(cheap=0.7, strong=0.5)


def test_the_clear_cases_land_in_the_tiers_of_the_default_thresholds() -> None:
    router, th = load_router("heuristic"), Thresholds()
    assert th.tier_for(router.score(RENAME)[0], has_local=True) == "local"
    assert th.tier_for(router.score(DESIGN)[0]) == "strong"
