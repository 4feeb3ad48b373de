"""OpenTelemetry, opt-in: spans per request and per provider attempt reach an OTLP collector."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.e2e.conftest import KEY, Env
from tests.e2e.gateway_process import ROOT, GatewayProcess, running_gateway

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"


class _Collector(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[bytes] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.server.bodies.append(body)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def collector() -> Iterator[_Collector]:
    server = _Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def traced_gateway(env: Env, collector: _Collector) -> Iterator[GatewayProcess]:
    chat = env.fake("openai-chat").base_url
    config = f"""
auth: {{api_keys: ["{KEY}"]}}
providers:
  - {{name: fake-chat, style: openai-chat, base_url: "{chat}", api_key: upstream-secret-chat, models: ["chat/*"]}}
routes:
  - name: with-fallback
    steps: [{{provider: fake-chat, model: chat/fail-503}}, {{provider: fake-chat, model: chat/ok}}]
"""
    otel = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    with running_gateway(config, key=KEY, env=otel) as gw:
        yield gw


def _spans(collector: _Collector) -> list[tuple[str, object]]:
    out = []
    for body in list(collector.bodies):
        req = ExportTraceServiceRequest()
        req.ParseFromString(body)
        for rs in req.resource_spans:
            for ss in rs.scope_spans:
                out.extend((s.name, s) for s in ss.spans)
    return out


def test_request_and_attempt_spans_reach_the_collector(
    traced_gateway: GatewayProcess, collector: _Collector
) -> None:
    r = httpx.post(
        traced_gateway.url + "/v1/chat/completions",
        json={"model": "with-fallback", "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": f"Bearer {KEY}", "traceparent": f"00-{TRACE_ID}-{PARENT_SPAN}-01"},
    )
    assert r.status_code == 200
    deadline = time.monotonic() + 15
    spans: list[tuple[str, object]] = []
    while time.monotonic() < deadline:
        spans = _spans(collector)
        if len(spans) >= 3:
            break
        time.sleep(0.2)
    names = [n for n, _ in spans]
    assert "openai-chat with-fallback" in names, names
    request = next(s for n, s in spans if n == "openai-chat with-fallback")
    attempts = [s for n, s in spans if n.startswith("fake-chat ")]
    assert request.trace_id.hex() == TRACE_ID  # type: ignore[attr-defined]
    assert request.parent_span_id.hex() == PARENT_SPAN  # type: ignore[attr-defined]
    assert len(attempts) >= 2  # the failing step (retried once by default), then the good one
    for a in attempts:
        assert a.parent_span_id == request.span_id  # type: ignore[attr-defined]
        assert request.start_time_unix_nano <= a.start_time_unix_nano <= a.end_time_unix_nano  # type: ignore[attr-defined]
        assert a.end_time_unix_nano <= request.end_time_unix_nano  # type: ignore[attr-defined]
    outcomes = {kv.key: kv.value for a in attempts for kv in a.attributes}  # type: ignore[attr-defined]
    assert "frugal.attempt.outcome" in outcomes
    raw = b"".join(collector.bodies)
    assert KEY.encode() not in raw and b"upstream-secret" not in raw


def test_nothing_is_loaded_without_an_otlp_endpoint() -> None:
    code = (
        "import sys\n"
        "from app.config import load\n"
        "from app.bootstrap import build\n"
        "runtime = build(load(None, {}))\n"
        "print(runtime.tracing is None, any(m.startswith('opentelemetry') for m in sys.modules))\n"
    )
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "False"], out.stderr
