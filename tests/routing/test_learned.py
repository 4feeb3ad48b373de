"""The learned router's artifact: round trip, metadata, integrity, and the shipped default."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.canonical import Message, Request, TextPart
from app.routing import artifact, dataset, training
from app.routing.features import FEATURES, describe, of_prompt
from app.routing.learned import LearnedRouter, _linspace01, interp
from app.routing.router import DEFAULT_ARTIFACT, load_router

# synthetic labels where the strong model helps exactly on long, number-heavy prompts
EASY = ["What is the capital of France?", "Name a primary colour.", "Is water wet?", "Say hi."]
HARD = [
    "A train leaves at 3:15 travelling 84 km/h; a second leaves 45 minutes later at 102 km/h. "
    f"After how many minutes does it overtake the first if the track is {n} km long and each stops twice?"
    for n in (120, 250, 380, 415)
]


def write_data(path: Path) -> Path:
    rows = []
    for i, p in enumerate(EASY * 3):
        rows.append({"id": f"e{i}", "prompt": p, "source": f"easy/{i % 3}", "strong": 1.0, "weak": 1.0})
    for i, p in enumerate(HARD * 3):
        rows.append({"id": f"h{i}", "prompt": p, "source": f"hard/{i % 3}", "strong": 1.0, "weak": 0.0})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def trained(tmp_path: Path) -> Path:
    data = dataset.read(write_data(tmp_path / "data.jsonl"))
    out = tmp_path / "router.json"
    artifact.dump(training.train(data, "frugal train data.jsonl", attribution="test data"), out)
    return out


def ask(text: str) -> Request:
    return Request(model="auto", style="openai-chat", messages=[Message("user", [TextPart(text)])])


def test_round_trip_keeps_the_model_and_ranks_what_it_learned(trained: Path) -> None:
    router = LearnedRouter.load(trained)
    hard, reason = router.score(ask(HARD[0]))
    easy, _ = router.score(ask(EASY[0]))
    assert 0.0 <= easy < hard <= 1.0
    assert reason.startswith(f"learned {hard:.2f}: ")
    # scoring a Request and the batch path over feature rows agree
    batch = router.scores(np.array([of_prompt(HARD[0]), of_prompt(EASY[0])]))
    assert list(batch) == pytest.approx([hard, easy])


def test_metadata_says_what_it_was_trained_on(trained: Path, tmp_path: Path) -> None:
    meta = artifact.load(trained, FEATURES).metadata
    raw = (tmp_path / "data.jsonl").read_bytes()
    assert meta.data_sha256 == dataset.read(tmp_path / "data.jsonl").sha256 != ""
    assert len(meta.data_sha256) == 64 and raw
    assert meta.data_rows == 24
    assert set(meta.libraries) == {"scikit-learn", "numpy"}
    assert meta.attribution == "test data"
    assert meta.cv["scheme"].startswith("5-fold GroupKFold by source")
    assert {"all", "easy", "hard"} <= set(meta.cv)


def test_a_tampered_coefficient_is_refused(trained: Path) -> None:
    doc = json.loads(trained.read_text())
    doc["model"]["coef"][0] += 0.5
    trained.write_text(json.dumps(doc))
    with pytest.raises(artifact.ArtifactError, match="integrity check failed"):
        LearnedRouter.load(trained)


def test_tampered_metadata_is_refused_too(trained: Path) -> None:
    doc = json.loads(trained.read_text())
    doc["metadata"]["cv"]["all"]["apgr"] = 0.99
    trained.write_text(json.dumps(doc))
    with pytest.raises(artifact.ArtifactError, match="integrity"):
        load_router("learned", trained)


def test_reformatting_the_json_is_not_tampering(trained: Path) -> None:
    trained.write_text(json.dumps(json.loads(trained.read_text())))  # compact, other key order
    LearnedRouter.load(trained)


def test_an_artifact_for_other_features_is_refused(trained: Path) -> None:
    art = artifact.load(trained, FEATURES)
    art.model.features[0] = "something_else"
    artifact.dump(art, trained)  # correctly sealed, but for features this code does not compute
    with pytest.raises(artifact.ArtifactError, match="retrain"):
        LearnedRouter.load(trained)


def test_missing_or_garbage_artifacts_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(artifact.ArtifactError, match="cannot read"):
        LearnedRouter.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(artifact.ArtifactError, match="not a router artifact"):
        LearnedRouter.load(tmp_path / "bad.json")


def test_fit_pairs_takes_outcome_labels_such_as_cascade_escalations() -> None:
    x = np.array([of_prompt(p) for p in EASY + HARD])
    labels = [training.label_of_cascade("accepted")] * 4 + [training.label_of_cascade("escalated")] * 4
    router = LearnedRouter(training.fit_pairs(x, labels))
    s = router.scores(x)
    assert s[4:].min() > s[:4].max()
    with pytest.raises(ValueError):
        training.label_of_cascade("maybe")


def test_the_shipped_artifact_loads_and_names_its_data() -> None:
    router = load_router("learned")
    assert isinstance(router, LearnedRouter) and router.meta is not None
    assert DEFAULT_ARTIFACT.name == "router.json"
    assert "lm-sys/RouteLLM" in router.meta.attribution and "Apache-2.0" in router.meta.attribution
    assert router.meta.data_rows == 8962
    assert router.meta.cv["mmlu"]["apgr"] > 0.5


def _numpy_score(model: artifact.LinearModel, row: list[float]) -> tuple[float, str]:
    """The scoring this module did with numpy before it went pure Python, kept as the reference."""
    mean, scale, coef = (np.asarray(v, dtype=np.float64) for v in (model.mean, model.scale, model.coef))
    knots = np.asarray(model.quantiles, dtype=np.float64)
    levels = np.linspace(0.0, 1.0, len(knots))
    x = np.asarray(row, dtype=np.float64)
    terms = (x - mean) / scale * coef
    score = float(np.interp(float(terms.sum()) + model.intercept, knots, levels))
    up = score >= 0.5
    order = np.argsort(-terms if up else terms)[:3]
    said = ", ".join(
        describe(FEATURES[i], float(x[i])) for i in order if (terms[i] > 0.01 if up else terms[i] < -0.01)
    )
    return score, f"learned {score:.2f}: {said or 'nothing unusual'}"


def test_pure_python_scores_equal_numpys_across_random_rows() -> None:
    router = load_router("learned")
    assert isinstance(router, LearnedRouter)
    model = artifact.load(DEFAULT_ARTIFACT, FEATURES).model
    rng = np.random.default_rng(19)
    mean, scale = np.asarray(model.mean), np.asarray(model.scale)
    # around the training data, and far outside it on both sides (clamped at 0 and 1)
    rows = np.vstack(
        [
            mean + rng.normal(0.0, 1.0, (3_000, len(FEATURES))) * scale,
            mean + rng.normal(0.0, 8.0, (1_000, len(FEATURES))) * scale,
            np.maximum(0.0, rng.exponential(2.0, (1_000, len(FEATURES)))),
        ]
    )
    batch = router.scores(rows)
    seen = {"low": 0, "high": 0, "between": 0}
    for row, expected in zip(rows.tolist(), batch, strict=True):
        score, reason = router.score_features(row)
        ref_score, ref_reason = _numpy_score(model, row)
        assert abs(score - ref_score) <= 1e-12 and abs(score - expected) <= 1e-12
        assert reason == ref_reason
        seen["low" if score == 0.0 else "high" if score == 1.0 else "between"] += 1
    assert min(seen.values()) > 50, seen  # every branch of the interpolation was exercised


def test_interp_matches_numpy_on_knots_repeats_and_both_ends() -> None:
    knots = [-2.0, -1.0, -1.0, -1.0, 0.0, 0.5, 0.5, 3.0]  # repeated knots: percentiles of ties
    levels = [i / 7 for i in range(8)]
    xs = [
        -5.0,
        -2.0,
        -1.5,
        -1.0,
        -0.999,
        0.0,
        0.25,
        0.5,
        0.5000001,
        2.9,
        3.0,
        7.0,
        float("inf"),
        -float("inf"),
    ]
    xs += np.random.default_rng(3).uniform(-3.0, 4.0, 500).tolist()
    for x in xs:
        assert interp(x, knots, levels) == float(np.interp(x, knots, levels)), x
    assert np.isnan(interp(float("nan"), knots, levels))
    assert interp(1.0, [1.0], [0.0]) == 0.0 and interp(5.0, [1.0], [0.0]) == 0.0
    assert _linspace01(101) == np.linspace(0.0, 1.0, 101).tolist()
    assert _linspace01(1) == [0.0] and _linspace01(2) == [0.0, 1.0]


def test_equal_terms_are_named_in_feature_order() -> None:
    n = len(FEATURES)
    model = artifact.LinearModel(
        features=list(FEATURES),
        mean=[0.0] * n,
        scale=[1.0] * n,
        coef=[1.0] * n,
        intercept=0.0,
        quantiles=[-1.0, 0.0, 1.0],
    )
    router = LearnedRouter(model)
    row = [0.0] * n
    for i in (7, 2, 5, 11):  # four equal pushes up: the three first features by index are named
        row[i] = 1.0
    score, reason = router.score_features(row)
    assert score == 1.0
    named = [describe(FEATURES[i], 1.0) for i in (2, 5, 7)]
    assert reason == f"learned 1.00: {', '.join(named)}"
    down = [-v for v in row]
    _, reason = router.score_features(down)
    assert reason == f"learned 0.00: {', '.join(describe(FEATURES[i], -1.0) for i in (2, 5, 7))}"


def test_the_runtime_with_the_learned_router_does_not_import_numpy() -> None:
    code = """
import asyncio, sys
from app.bootstrap import build
from app.config import parse
from app.canonical import Message, Request, TextPart

loaded = parse('''
providers: [{name: m, style: mock}]
routes:
  - {name: cheap, steps: [{provider: m, model: cheap}]}
  - {name: strong, steps: [{provider: m, model: strong}]}
tiers: {cheap: cheap, strong: strong}
routing: {router: learned}
usage: {enabled: false}
''', "g.yaml", {})
runtime = build(loaded)
tier = next(s for s in runtime.gateway.stages if s.name == "tier")
req = Request(model="auto", style="openai-chat", messages=[Message("user", [TextPart("prove it " * 50)])])
score, reason = tier.router.score(req)
assert 0.0 <= score <= 1.0 and reason.startswith("learned")
assert "numpy" not in sys.modules, "numpy imported"
print("ok")
"""
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
