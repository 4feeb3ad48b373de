"""The agents tier reuses the e2e harness: fake upstreams + one gateway (``env``), see tests/e2e.

It adds ``agents_installed`` (the pinned CLIs, installed on first use), ``aider_installed``
(Aider's own venv), ``tap`` (a recording proxy in front of the gateway) and prints the tier's
total duration and each cell's duration at the end of the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.agents import install
from tests.agents.tap import ClientTap
from tests.e2e.conftest import Env, _clear_recordings, env, fake_servers  # noqa: F401  (fixtures)
from tests.e2e.fakes.base import FakeServers


@pytest.fixture(scope="session")
def tap(env: Env, fake_servers: FakeServers) -> Iterator[ClientTap]:  # noqa: F811
    """A recording proxy in front of the gateway: what each client sent and got."""
    t = ClientTap(env.url)
    fake_servers.start(t)
    yield t
    asyncio.run_coroutine_threadsafe(t.aclose(), fake_servers.loop).result(10)


@pytest.fixture(scope="session")
def aider_installed() -> None:
    """Aider in its own venv under .cache/aider (installed on first use, then reused)."""
    try:
        install.install_aider()
    except install.InstallError as exc:
        pytest.fail(f"agents tier: {exc}", pytrace=False)


# (test id, seconds, outcome) of every agents test that ran, for the summary
CELL_TIMES: list[tuple[str, float, str]] = []
_TIER: dict[str, float] = {}


@pytest.fixture(scope="session")
def agents_installed() -> None:
    """The pinned clients in .cache/agents (``python -m tests.agents.install`` beforehand saves time)."""
    try:
        took = install.install()
    except install.InstallError as exc:
        pytest.fail(f"agents tier: {exc}", pytrace=False)
    _TIER["install"] = took


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    if item.get_closest_marker("agents") is None:
        yield
        return
    _TIER.setdefault("start", time.monotonic())
    start = time.monotonic()
    yield
    _TIER["end"] = time.monotonic()
    outcome = getattr(item, "_agents_outcome", "?")
    CELL_TIMES.append((item.nodeid.split("::", 1)[-1], time.monotonic() - start, outcome))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if item.get_closest_marker("agents") is not None and (
        report.when == "call" or report.outcome != "passed"
    ):
        outcome_name = "xfailed" if hasattr(report, "wasxfail") and report.skipped else report.outcome
        item._agents_outcome = outcome_name  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not CELL_TIMES:
        return
    tr = terminalreporter
    tr.section("agents tier durations")
    for name, seconds, outcome in CELL_TIMES:
        tr.write_line(f"{seconds:7.1f}s  {outcome:8} {name}")
    total = _TIER.get("end", 0.0) - _TIER.get("start", 0.0)
    install_s = _TIER.get("install")
    extra = f" (client install/check {install_s:.1f}s)" if install_s is not None else ""
    tr.write_line(f"agents tier total: {total:.1f}s for {len(CELL_TIMES)} tests{extra}")
