"""Metrics from records: bounded labels, every SPEC §7 name, nothing secret in the exposition."""

from __future__ import annotations

from app.auth import Project
from app.observability.metrics import Metrics
from app.observability.record import OptimizerSaving, RequestRecord
from app.pipeline import Finished, RequestContext

SPEC_NAMES = (
    "gateway_requests_total",
    "gateway_tokens_total",
    "gateway_cache_hits_total",
    "gateway_cost_usd_total",
    "gateway_latency_seconds",
    "gateway_tokens_saved_total",
    "gateway_circuit_state",
    "gateway_cascade_total",
    "gateway_ttft_seconds",
)


def _done(**fields: object) -> Finished:
    ctx = RequestContext(request_id="r", style="openai-chat", project=Project("p"))
    defaults: dict[str, object] = {"request_id": "r", "ts": 0.0, "project": "p", "style": "openai-chat"}
    return Finished(None, None, None, ctx, RequestRecord(**{**defaults, **fields}))  # type: ignore[arg-type]


def test_unknown_providers_and_models_are_counted_as_other() -> None:
    m = Metrics(["anthropic"], ["claude-sonnet-4-5"])
    m.after(_done(provider="anthropic", model="claude-sonnet-4-5", status=200))
    m.after(_done(provider="anthropic", model="made-up-model-1", status=200))
    m.after(_done(provider="anthropic", model="local:qwen", status=200))
    m.after(_done(provider="surprise", model="made-up-model-2", status=502))
    text = m.render()[0].decode()
    assert 'gateway_requests_total{model="claude-sonnet-4-5",provider="anthropic",status="200"} 1.0' in text
    assert 'gateway_requests_total{model="other",provider="anthropic",status="200"} 2.0' in text
    assert 'gateway_requests_total{model="other",provider="other",status="502"} 1.0' in text
    assert "made-up-model" not in text and "qwen" not in text


def test_every_spec_metric_is_exposed() -> None:
    m = Metrics(["mock"], [])
    m.init_series(["cache", "dedup"], ["cheap"])
    m.after(_done(provider="mock", model="x", stream=True, ttft_s=0.01, latency_s=0.02))
    text = m.render()[0].decode()
    for name in SPEC_NAMES:
        assert f"\n{name}" in text or text.startswith(name) or f"# TYPE {name}" in text, name
    assert 'gateway_circuit_state{provider="mock"} 0.0' in text
    assert 'gateway_tokens_saved_total{optimizer="dedup"} 0.0' in text
    assert 'gateway_cascade_total{outcome="escalated"} 0.0' in text


def test_savings_cost_cache_hits_and_unpriced_requests() -> None:
    m = Metrics(["mock"], ["m"])
    m.after(
        _done(
            provider="mock",
            model="m",
            cost_usd=0.25,
            input_tokens=100,
            output_tokens=7,
            savings={"dedup": OptimizerSaving(40, 0.001)},
        )
    )
    m.after(_done(provider="mock", model="m", cache="HIT", savings={"cache": OptimizerSaving(107, 0.25)}))
    m.after(_done(provider="mock", model="m", cost_usd=None))
    text = m.render()[0].decode()
    assert 'gateway_cost_usd_total{model="m",provider="mock"} 0.25' in text
    assert "gateway_cache_hits_total 1.0" in text
    assert 'gateway_tokens_saved_total{optimizer="dedup"} 40.0' in text
    assert 'gateway_tokens_saved_total{optimizer="cache"} 107.0' in text
    assert 'gateway_unpriced_requests_total{model="m",provider="mock"} 1.0' in text
    assert 'gateway_tokens_total{direction="input",model="m",provider="mock"} 100.0' in text


def test_circuit_state_encoding() -> None:
    m = Metrics(["a"], [])
    m.set_circuit("a", "open")
    assert 'gateway_circuit_state{provider="a"} 2.0' in m.render()[0].decode()
