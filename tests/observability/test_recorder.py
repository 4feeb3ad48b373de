"""The traffic recorder: one JSONL line per request in the client's own style, grouped into
conversations, secrets redacted, readable by `frugal replay`."""

from __future__ import annotations

import json
from pathlib import Path

from app.observability.recorder import Recorder, conversation_id
from app.replay.load import load_conversations


def _turn(n: int) -> dict[str, object]:
    messages: list[dict[str, object]] = [{"role": "user", "content": "fix the bug"}]
    for i in range(n):
        messages += [{"role": "assistant", "content": f"step {i}"}, {"role": "user", "content": f"more {i}"}]
    return {"model": "claude-sonnet-4-5", "max_tokens": 100, "system": "be careful", "messages": messages}


def test_turns_of_one_conversation_share_an_id_and_others_do_not() -> None:
    ids = {conversation_id(_turn(n), "anthropic-messages", "p") for n in range(4)}
    assert len(ids) == 1
    assert conversation_id(_turn(0), "anthropic-messages", "q") not in ids
    other = {**_turn(1), "system": "something else"}
    assert conversation_id(other, "anthropic-messages", "p") not in ids


def test_recorded_lines_are_redacted_and_replayable(tmp_path: Path) -> None:
    rec = Recorder(str(tmp_path))
    rec.start()
    secret = "sk-ant-api03-" + "x" * 40
    for n in range(3):
        body = _turn(n)
        body["messages"][0]["content"] = f"my key is {secret}, fix the bug"  # type: ignore[index]
        rec.record("team/a", "anthropic-messages", body, None)
    rec.record(
        "team/a",
        "google-genai",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        "gemini-2.5-pro",
    )
    rec.close()
    files = list(tmp_path.glob("*.jsonl"))
    assert len(files) == 1 and files[0].name.startswith("team_a-")
    lines = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert [line["_trace"]["turn"] for line in lines[:3]] == [0, 1, 2]
    assert secret not in files[0].read_text()
    assert lines[3]["model"] == "gemini-2.5-pro"  # Google's model lives in the URL
    conversations = load_conversations([str(files[0])])
    assert sorted(len(c.requests) for c in conversations) == [1, 3]


def test_a_full_queue_drops_and_counts(tmp_path: Path) -> None:
    rec = Recorder(str(tmp_path), queue_size=2)
    for _ in range(5):
        rec.record("p", "openai-chat", {"model": "m", "messages": []}, None)
    assert rec.dropped == 3
