"""The benchmark suite runs end to end in its tiny mode, so the bench cannot rot.

``bench/suite.py --smoke``: every scenario with 50 requests a run from ``loadgen.py`` (no wrk,
no LiteLLM), a 500-request soak, the router timing; the JSON must hold every scenario with
numeric figures and every target with a status.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {
    "a_passthrough": ("direct", "floor", "gateway"),
    "b_conversion": ("direct", "gateway"),
    "c_agent_50k": ("direct", "gateway"),
    "d_cache_hit": ("gateway",),
    "e_auto_learned": ("gateway",),
    "f_two_workers": ("gateway-2w",),
}


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


@pytest.mark.timeout(60)
def test_smoke_run_reports_every_scenario_with_numbers(tmp_path: Path) -> None:
    out = tmp_path / "suite.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "suite.py"), "--smoke", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=55, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["mode"] == "smoke"
    for key in ("python", "gateway", "litellm"):
        assert key in r["versions"]
    assert r["machine"]["cores"] >= 1
    for scenario, servers in SCENARIOS.items():
        assert scenario in r["scenarios"], scenario
        for name in servers:
            fig = r["scenarios"][scenario][name]
            assert "failed" not in fig, (scenario, name, fig)
            for c in ("c1", "c16", "c64"):
                assert fig[c]["requests"] > 0 and fig[c]["errors"] == 0, (scenario, name, c)
                assert _number(fig[c]["rps"]) and _number(fig[c]["p50_ms"]) and _number(fig[c]["p99_ms"])
            if name != "direct":
                assert _number(fig["added_p50_ms"]) and _number(fig["added_p99_ms"])
    assert _number(r["scenarios"]["c_agent_50k"]["request"]["tokens_o200k"])
    for scenario, name in (
        ("a_passthrough", "gateway"),
        ("b_conversion", "gateway"),
        ("c_agent_50k", "gateway"),
    ):
        stream = r["scenarios"][scenario][name]["stream"]
        assert stream["errors"] == 0 and _number(stream["ttfb_p50_ms"]) and _number(stream["ttlb_p50_ms"])
    assert r["scenarios"]["d_cache_hit"]["gateway"]["cache_hit_verified"]
    assert "litellm" in r["missing"]  # not run in --smoke, and said so
    for key in ("gateway", "gateway-2w", "floor"):
        assert r["rss_mb"][key] > 0
    assert r["soak"]["requests"] > 0 and set(r["soak"]["rss_at"]) == {"10%", "50%", "100%"}
    assert _number(r["router"]["requests"]["agent turn"]["learned"]["p99_us"])
    statuses = {t["target"]: t["status"] for t in r["targets"]}
    assert len(statuses) == 7
    assert set(statuses.values()) <= {"PASS", "FAIL", "MISSING"}


def test_the_agent_request_is_built_without_the_shared_traces(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clone on its own (no shared/ beside it) still gets a ~50k-token agent request: this
    repository's source files viewed as an agent's history."""
    sys.path.insert(0, str(ROOT))
    from bench import harness

    monkeypatch.setattr(harness, "TRACES", ROOT / "no-such-traces")
    body, tokens = harness.agent_body(20_000)
    assert 18_000 <= tokens <= 24_000
    assert b'"name": "Bash"' in body and b"app/" in body


@pytest.mark.timeout(60)
@pytest.mark.parametrize("canned", [False, True])
def test_in_process_bench_runs_and_leaves_out_what_it_is_asked_to(canned: bool) -> None:
    args = [sys.executable, str(ROOT / "bench" / "inprocess.py"), "--blocks", "2", "--without", "hooks",
            "--without", "FileDedup,BoilerplateStrip", "--without", "NoSuchStage"]  # fmt: skip
    done = subprocess.run(
        [*args, "--canned"] if canned else args,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=55,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert any(line.strip().startswith("full gateway") and "µs" in line for line in lines)
    assert any("without hooks" in line for line in lines)
    assert any("without FileDedup,BoilerplateStrip" in line for line in lines)
    assert any("no hook or stage named NoSuchStage" in line for line in lines)
