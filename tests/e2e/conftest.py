"""Session fixtures: the fake upstreams (one per API style) and one gateway configured for them.

Models are namespaced by provider: ``chat/<scenario>``, ``anthropic/<scenario>``,
``responses/<scenario>``, ``google/<scenario>`` reach that fake with the whole name as model, and
the fake acts out ``<scenario>`` (see fakes/base.py: ``ok``, ``fail-503``, ``hang``, ...).
Named routes below exercise fallback across steps.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.fakes.base import FakeServers, FakeUpstream
from tests.e2e.gateway_process import GatewayProcess, free_port, running_gateway

KEY = "test-gateway-key"
LIMITED_KEY = "limited-project-key"
RESTRICTED_KEY = "restricted-project-key"

# style -> (module, class, model prefix, provider name)
FAKE_SPECS = {
    "openai-chat": ("tests.e2e.fakes.openai_chat", "FakeOpenAIChat", "chat", "fake-chat"),
    "anthropic-messages": ("tests.e2e.fakes.anthropic", "FakeAnthropic", "anthropic", "fake-anthropic"),
    "openai-responses": (
        "tests.e2e.fakes.openai_responses",
        "FakeOpenAIResponses",
        "responses",
        "fake-responses",
    ),
    "google-genai": ("tests.e2e.fakes.google", "FakeGoogle", "google", "fake-google"),
}


@dataclass
class Env:
    gateway: GatewayProcess
    fakes: dict[str, FakeUpstream]  # by style
    prefixes: dict[str, str]  # style -> model prefix

    @property
    def url(self) -> str:
        return self.gateway.url

    def model(self, style: str, scenario: str = "ok") -> str:
        return f"{self.prefixes[style]}/{scenario}"

    def fake(self, style: str) -> FakeUpstream:
        return self.fakes[style]


def _load_fakes(servers: FakeServers) -> dict[str, FakeUpstream]:
    fakes: dict[str, FakeUpstream] = {}
    for style, (module, cls, _prefix, _name) in FAKE_SPECS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        fakes[style] = servers.start(getattr(mod, cls)())
    return fakes


def _record_section() -> str:
    """``FRUGAL_RECORD_DIR=DIR`` records what the clients send (the agents tier's real CLIs
    included) for ``frugal replay``."""
    directory = os.environ.get("FRUGAL_RECORD_DIR")
    return f'record: {{enabled: true, dir: "{directory}"}}\n' if directory else ""


def gateway_config(fakes: dict[str, FakeUpstream]) -> str:
    providers = []
    for style, fake in fakes.items():
        _mod, _cls, prefix, name = FAKE_SPECS[style]
        providers.append(
            f'  - {{name: {name}, style: {style}, base_url: "{fake.base_url}", api_key: upstream-secret-{prefix}, '
            f'models: ["{prefix}/*"]}}'
        )
    dead = free_port()  # nothing listens there
    providers.append(
        f'  - {{name: dead, style: openai-chat, base_url: "http://127.0.0.1:{dead}/v1", api_key: x}}'
    )
    providers.append("  - {name: mock, style: mock}")
    return f"""
auth:
  api_keys: ["{KEY}"]
  projects:
    - {{name: limited, api_key: {LIMITED_KEY}, rpm: 2}}
    - {{name: restricted, api_key: {RESTRICTED_KEY}, allowed_models: ["chat/ok", "sonnet"]}}
providers:
{chr(10).join(providers)}
routes:
  - name: fallback-503
    steps: [{{provider: fake-chat, model: chat/fail-503}}, {{provider: fake-chat, model: chat/ok}}]
  - name: fallback-500
    steps: [{{provider: fake-chat, model: chat/fail-500}}, {{provider: fake-chat, model: chat/ok}}]
  - name: fallback-408
    steps: [{{provider: fake-chat, model: chat/fail-408}}, {{provider: fake-chat, model: chat/ok}}]
  - name: fallback-409
    steps: [{{provider: fake-chat, model: chat/fail-409}}, {{provider: fake-chat, model: chat/ok}}]
  - name: fallback-429
    steps: [{{provider: fake-chat, model: chat/fail-429}}, {{provider: fake-chat, model: chat/ok}}]
  - name: fallback-timeout
    steps: [{{provider: fake-chat, model: chat/hang, timeout: 0.5s}}, {{provider: fake-chat, model: chat/ok}}]
  - name: fallback-reset
    steps: [{{provider: fake-chat, model: chat/reset}}, {{provider: fake-chat, model: chat/ok}}]
  - name: fallback-connect
    steps: [{{provider: dead, model: any}}, {{provider: fake-chat, model: chat/ok}}]
  - name: fallback-malformed
    steps: [{{provider: fake-chat, model: chat/malformed}}, {{provider: fake-chat, model: chat/ok}}]
  - name: fallback-stream-error
    steps: [{{provider: fake-chat, model: chat/error-first}}, {{provider: fake-chat, model: chat/ok}}]
  - name: fallback-to-mock
    steps: [{{provider: fake-chat, model: chat/fail-502}}, {{provider: mock, model: mock-model}}]
  - name: client-fault
    steps: [{{provider: fake-chat, model: chat/fail-400}}, {{provider: fake-chat, model: chat/ok}}]
  - name: all-fail
    steps: [{{provider: fake-chat, model: chat/fail-503}}, {{provider: dead, model: any}}, {{provider: fake-chat, model: chat/fail-500}}]
  - name: all-429
    steps: [{{provider: fake-chat, model: chat/fail-429-9}}, {{provider: fake-chat, model: chat/fail-429-3}}]
  - name: all-timeout
    steps: [{{provider: fake-chat, model: chat/hang, timeout: 0.3s}}, {{provider: fake-chat, model: chat/hang, timeout: 0.3s}}]
  - name: conflict-tools
    steps: [{{provider: fake-chat, model: chat/reject-tools, conflict_resolution: tools}}]
  - name: conflict-format
    steps: [{{provider: fake-chat, model: chat/reject-format, conflict_resolution: [format]}}]
  - name: no-conflict-resolution
    steps: [{{provider: fake-chat, model: chat/reject-tools}}, {{provider: fake-chat, model: chat/ok}}]
  - name: hedged
    hedge: {{after: 0.2s}}
    steps: [{{provider: fake-chat, model: chat/slow-3000}}, {{provider: fake-chat, model: chat/ok}}]
  - name: claude-sonnet-4-5
    aliases: [my-sonnet]
    steps: [{{provider: fake-chat, model: chat/ok}}]
  - name: claude-opus-4-5
    steps: [{{provider: fake-chat, model: chat/ok-strong}}]
tiers: {{cheap: claude-sonnet-4-5, strong: claude-opus-4-5}}
aliases: {{team-default: claude-opus-4-5}}
# these tests check plain ordered fallback, scenario by scenario, many times over: breakers and
# retries (tests/e2e/test_reliability.py) would turn the repeated failures into skipped steps
reliability: {{circuit_breaker: {{enabled: false}}, retries: {{attempts: 1}}}}
# the same request is sent many times on purpose: answers must come from the upstream each time
# (the response cache has its own tests in tests/e2e/test_response_cache.py)
cache: {{backend: "off"}}
{_record_section()}"""


@pytest.fixture(scope="session")
def fake_servers() -> Iterator[FakeServers]:
    servers = FakeServers()
    yield servers
    servers.stop()


@pytest.fixture(scope="session")
def env(fake_servers: FakeServers) -> Iterator[Env]:
    fakes = _load_fakes(fake_servers)
    prefixes = {style: FAKE_SPECS[style][2] for style in fakes}
    with running_gateway(gateway_config(fakes), key=KEY) as gw:
        yield Env(gw, fakes, prefixes)


@pytest.fixture(autouse=True)
def _clear_recordings(request: pytest.FixtureRequest) -> None:
    if "env" in request.fixturenames:
        for fake in request.getfixturevalue("env").fakes.values():
            fake.clear()
