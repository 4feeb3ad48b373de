"""``frugal eval-router`` and ``frugal train`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.routing.metrics import evaluate


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(autouse=True)
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./gateway.yaml is picked up
    monkeypatch.delenv("FRUGAL_CONFIG", raising=False)


@pytest.mark.parametrize("router", ["heuristic", "learned"])
def test_prompts_without_labels_get_scores_and_no_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], router: str
) -> None:
    data = write(
        tmp_path / "p.jsonl", [{"id": "x1", "prompt": "rename foo to bar"}, {"id": "x2", "prompt": "hi"}]
    )
    out = tmp_path / "scores.jsonl"
    assert main(["eval-router", str(data), "--router", router, "--scores-out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in lines] == ["x1", "x2"]
    assert all(set(r) == {"id", "score"} and 0.0 <= r["score"] <= 1.0 for r in lines)
    printed = capsys.readouterr().out
    assert "2 prompts scored" in printed and "no metrics" in printed and "APGR" not in printed


def test_labelled_prompts_get_the_metrics_of_their_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = ["hi", "Explain the trade-offs of the architecture " * 20, "What is 2+2?", "x" * 400]
    rows = [
        {"id": str(i), "prompt": p, "source": "s", "strong": st, "weak": wk}
        for i, (p, st, wk) in enumerate(zip(prompts, [1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0], strict=True))
    ]
    data = write(tmp_path / "l.jsonl", rows)
    out = tmp_path / "scores.jsonl"
    assert main(["eval-router", str(data), "--router", "heuristic", "--scores-out", str(out)]) == 0
    scores = [json.loads(line)["score"] for line in out.read_text().splitlines()]
    m = evaluate(scores, [r["strong"] for r in rows], [r["weak"] for r in rows])  # type: ignore[misc]
    printed = capsys.readouterr().out
    assert "APGR" in printed and "CPT(50%)" in printed
    assert f"{m.apgr:.3f}" in printed.splitlines()[2]


def test_cross_validation_needs_the_learned_router(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(tmp_path / "l.jsonl", [{"id": "1", "prompt": "a", "source": "s", "strong": 1, "weak": 0}])
    assert main(["eval-router", str(data), "--router", "heuristic", "--cv-groups", "source"]) == 2
    assert "--router learned" in capsys.readouterr().err


def test_a_broken_line_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "prompt": "ok"}\n{"id": 2}\n')
    assert main(["eval-router", str(bad), "--router", "heuristic"]) == 2
    assert "bad.jsonl:2" in capsys.readouterr().err


def test_train_then_evaluate_with_the_new_artifact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {
            "id": f"{i}",
            "prompt": ("long question with 12 and 40 numbers " * (i % 4 + 1)),
            "source": f"g{i % 3}",
            "strong": 1.0,
            "weak": float(i % 4 < 2),
        }
        for i in range(24)
    ]
    data = write(tmp_path / "t.jsonl", rows)
    art = tmp_path / "r.json"
    assert main(["train", str(data), "--out", str(art)]) == 0
    assert "CV all" in capsys.readouterr().out
    assert main(["eval-router", str(data), "--router", "learned", "--artifact", str(art)]) == 0
    assert "learned router" in capsys.readouterr().out
    assert (
        main(["eval-router", str(data), "--router", "learned", "--cv-groups", "source", "--folds", "3"]) == 0
    )
    assert "out-of-fold" in capsys.readouterr().out
