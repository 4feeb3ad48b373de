from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.replay.load import detect_style, load_conversations


def _listing(first: int, n: int) -> str:
    body = "\n".join(f"{i}:    value_{i} = compute({i}, 'ü')" for i in range(first, first + n))
    return f"[File: /repo/mod.py (400 lines total)]\n{body}"


def _trace(path: Path, turns: int = 6) -> None:
    """An OpenAI Chat agent loop that re-opens one window of a file, as the shared traces do."""
    messages: list[dict[str, object]] = [
        {"role": "system", "content": "You are an agent. " * 400},
        {"role": "user", "content": "Fix mod.py"},
    ]
    lines = []
    for t in range(turns):
        messages.append(
            {
                "role": "assistant",
                "content": f"turn {t}",
                "tool_calls": [
                    {
                        "id": f"c{t}",
                        "type": "function",
                        "function": {"name": "open", "arguments": '{"path": "/repo/mod.py"}'},
                    }
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": f"c{t}", "content": _listing(1 + 20 * (t % 2), 80)})
        lines.append(
            json.dumps({"model": "gpt-4", "messages": messages, "_trace": {"conversation": "x", "turn": t}})
        )
    path.write_text("\n".join(lines) + "\n")


def test_style_detection_covers_the_four_styles() -> None:
    assert detect_style({"contents": []}) == "google-genai"
    assert detect_style({"input": "hi", "model": "m"}) == "openai-responses"
    assert detect_style({"system": "s", "messages": []}) == "anthropic-messages"
    assert (
        detect_style({"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]})
        == "anthropic-messages"
    )
    assert detect_style({"messages": [{"role": "tool", "content": "x"}]}) == "openai-chat"


def test_trace_bookkeeping_is_stripped_and_groups_the_conversation(tmp_path: Path) -> None:
    f = tmp_path / "t.jsonl"
    _trace(f, 3)
    [conv] = load_conversations([str(f)])
    assert len(conv.requests) == 3 and "_trace" not in conv.requests[0].extra


@pytest.mark.parametrize("pricing", ["anthropic", "openai"])
def test_replay_bills_stages_below_caching_alone_and_loses_no_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pricing: str
) -> None:
    f = tmp_path / "t.jsonl"
    _trace(f)
    assert main(["replay", str(f), "--pricing", pricing]) == 0
    out, err = capsys.readouterr()
    # fixed columns: a 26-character label, then 12 characters each; input USD is the 4th
    usd = {line[:26].strip(): float(line[62:74]) for line in out.splitlines()[3:9]}
    assert usd["+ dedup"] < usd["ideal prefix caching"] < usd["no caching"]
    assert "in 6/6 requests" in out
    assert err == ""  # no progress bar into a pipe: the report alone


def test_unreadable_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text("[1, 2]\n")
    assert main(["replay", str(f)]) == 2
    assert "expected a JSON object" in capsys.readouterr().err
