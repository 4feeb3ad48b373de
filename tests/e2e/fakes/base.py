"""Fake upstream providers: real HTTP servers on loopback, one per API style.

Each fake parses requests of its own style into a ``Conversation`` (test-side, independent of the
gateway's codecs), asks ``script.plan`` what to answer, and renders the ``Plan`` in its exact wire
format, streamed or not. Every request is recorded. The model name selects a scenario
(``Scenario.parse``): failures, hangs, resets, slow answers, broken streams.

All fakes run on one event loop in a background thread (``FakeServers``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.e2e.fakes.script import Conversation, Plan


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any
    conversation: Conversation | None = None
    plan: Plan | None = None
    status: int = 200
    at: float = 0.0  # monotonic time the request arrived


@dataclass
class Scenario:
    """What the model name asks the fake to do.

    ``fail-<status>[-<retry_after>]`` answer that status with the style's error body;
    ``hang`` never answer; ``reset`` drop the connection before answering; ``slow-<ms>`` answer
    after a delay; ``malformed`` 200 with a body that is not JSON; ``cut`` stream a few events
    then drop the connection; ``error-first`` stream 200 then an error event straight away;
    ``reject-tools`` / ``reject-format`` / ``reject-reasoning`` 400 when the request uses that
    feature; ``think`` answer with reasoning (also when the request enables thinking);
    ``drip`` (streams) one event, then only SSE comments every 100 ms; ``switch-<name>`` does
    what the test set in ``fake.switches[name]`` (a scenario such as ``fail-500``, optionally
    ``xN`` to apply it to the next N requests only), else answers normally.
    Anything else answers normally. A ``<prefix>/`` before the scenario (route namespacing) is
    ignored.
    """

    name: str
    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0

    @classmethod
    def parse(cls, model: str) -> Scenario:
        name = model.rsplit("/", 1)[-1]
        if name.startswith("fail-"):
            bits = name.split("-")
            return cls("fail", status=int(bits[1]), retry_after=bits[2] if len(bits) > 2 else None)
        if name.startswith("slow-"):
            return cls("slow", delay=int(name.split("-")[1]) / 1000)
        return cls(name)


ErrorBody = Callable[[int, str], dict[str, Any]]


@dataclass
class FakeUpstream:
    """Base of the per-style fakes: recording, scenarios, server lifecycle."""

    style: str = ""
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    switches: dict[str, str] = field(default_factory=dict)
    in_flight: int = 0  # requests being answered right now
    _runner: web.AppRunner | None = None

    # ---- to implement per style
    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        raise NotImplementedError

    # ---- helpers for the styles
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def clear(self) -> None:
        self.requests.clear()

    async def record(self, request: web.Request) -> Recorded:
        body = await request.read()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        rec = Recorded(
            request.method,
            request.path,
            dict(request.query),
            {k.lower(): v for k, v in request.headers.items()},
            body,
            parsed,
            at=time.monotonic(),
        )
        self.requests.append(rec)
        return rec

    def switched(self, scenario: Scenario) -> Scenario:
        """A ``switch-<name>`` scenario resolved to what the test set for it now."""
        if not scenario.name.startswith("switch-"):
            return scenario
        name = scenario.name.removeprefix("switch-")
        value = self.switches.get(name)
        if not value:
            return Scenario("ok")
        what, _, times = value.partition(" x")
        if times:
            left = int(times) - 1
            if left > 0:
                self.switches[name] = f"{what} x{left}"
            else:
                del self.switches[name]
        return Scenario.parse(what)

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response(self.error_body(status, message), status=status, headers=headers)

    async def before_answer(
        self, scenario: Scenario, request: web.Request, rec: Recorded
    ) -> web.StreamResponse | None:
        """Apply the failure scenarios; None means answer normally."""
        scenario = self.switched(scenario)
        if scenario.name == "fail":
            assert scenario.status is not None
            rec.status = scenario.status
            headers = {"retry-after": scenario.retry_after} if scenario.retry_after else None
            if scenario.status == 429 and headers is None:
                headers = {"retry-after": "7"}
            return self.error(scenario.status, f"scripted failure {scenario.status}", headers)
        if scenario.name == "hang":
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                rec.status = 499  # the caller went away (nginx's "client closed request")
                raise
        if scenario.name == "reset":
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError
        if scenario.name == "slow":
            await asyncio.sleep(scenario.delay)
        if scenario.name == "malformed":
            return web.Response(
                body=b"<html>upstream proxy error</html>", status=200, content_type="application/json"
            )
        return None

    def reject(self, scenario: Scenario, conv: Conversation) -> web.Response | None:
        checks = {
            "reject-tools": bool(conv.tools),
            "reject-format": conv.wants_json,
            "reject-reasoning": conv.thinking,
        }
        if checks.get(scenario.name):
            feature = scenario.name.removeprefix("reject-")
            return self.error(400, f"this model does not support {feature}")
        return None


async def stream_cut(response: web.StreamResponse, request: web.Request) -> web.StreamResponse:
    """Drop the connection in the middle of a stream."""
    assert request.transport is not None
    request.transport.abort()
    return response


class FakeServers:
    """Runs fakes on one loop in a daemon thread; ``start(fake)`` binds it to a free port."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fake-upstreams", daemon=True)
        self._thread.start()
        self.fakes: list[FakeUpstream] = []

    def start(self, fake: FakeUpstream) -> FakeUpstream:
        @web.middleware
        async def count(request: web.Request, handler: Any) -> web.StreamResponse:
            fake.in_flight += 1
            try:
                response: web.StreamResponse = await handler(request)
                return response
            finally:
                fake.in_flight -= 1

        async def go() -> None:
            app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[count])
            app.add_routes(fake.routes())
            # handler_cancellation: a handler sees CancelledError when the gateway hangs up,
            # which is how tests observe that a client disconnect reached the upstream
            runner = web.AppRunner(app, access_log=None, handle_signals=False, handler_cancellation=True)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            server = site._server
            assert server is not None
            fake.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            fake._runner = runner

        asyncio.run_coroutine_threadsafe(go(), self.loop).result(10)
        self.fakes.append(fake)
        return fake

    def stop(self) -> None:
        async def go() -> None:
            for fake in self.fakes:
                if fake._runner is not None:
                    await fake._runner.cleanup()

        asyncio.run_coroutine_threadsafe(go(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
