"""The learned router's artifact: round trip, metadata, integrity, and the shipped default."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.canonical import Message, Request, TextPart
from app.routing import artifact, dataset, training
from app.routing.features import FEATURES, of_prompt
from app.routing.learned import LearnedRouter
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
