"""What the Anthropic codec remembers of resent history changes nothing: decoding and encoding
through the shared history elements and messages give exactly what a fresh decode and encode
give, turn after turn, including where a remembered element depends on earlier ones."""

from __future__ import annotations

import json
import random
from typing import Any

import msgspec

from app.canonical import CacheControl, Message, Request, TextPart, ToolCallPart
from app.styles.anthropic.codec import AnthropicCodec
from app.styles.base import RequestTarget
from app.styles.history_parse import HistoryParser

CODEC = AnthropicCodec()


def _turns(rng: random.Random, n: int) -> list[list[dict[str, Any]]]:
    history: list[dict[str, Any]] = [{"role": "user", "content": "fix the bug " + "x" * 300}]
    out = []
    for i in range(n):
        tid = f"toolu_{i}"
        history = [
            *history,
            {"role": "assistant", "content": [
                {"type": "text", "text": f"step {i}  "},
                {"type": "tool_use", "id": tid, "name": rng.choice(["Bash", "Read"]), "input": {"n": i}},
            ]},
            {"role": "user", "content": [
                {"type": "text", "text": "and then"} if rng.random() < 0.3 else None,
                {"type": "tool_result", "tool_use_id": tid, "content": "out\n" * rng.randrange(1, 50)},
            ]},
        ]  # fmt: skip
        history[-1]["content"] = [b for b in history[-1]["content"] if b is not None]
        out.append(list(history))
    return out


def _fresh(raw: bytes) -> Request:
    return CODEC.decode_request(msgspec.json.decode(raw), RequestTarget())


def test_decode_and_encode_through_the_memo_equal_fresh_ones(shared_history: HistoryParser) -> None:
    rng = random.Random(11)
    parser = shared_history
    previous: Request | None = None
    for history in _turns(rng, 25):
        raw = json.dumps({"model": "claude-x", "max_tokens": 100, "messages": history}).encode()
        got = CODEC.decode_request(parser.parse(raw, "anthropic-messages"), RequestTarget())
        want = _fresh(raw)
        assert msgspec.json.encode(got) == msgspec.json.encode(want)
        assert CODEC.encode_request(got, "claude-x") == CODEC.encode_request(want, "claude-x")
        if previous is not None:  # the memo is in play: resent messages are the same objects
            assert (
                sum(a is b for a, b in zip(got.messages, previous.messages, strict=False))
                >= len(previous.messages) - 3
            )
        previous = got


def test_a_resent_tool_result_takes_the_name_of_the_call_it_answers_now(
    shared_history: HistoryParser,
) -> None:
    """The same tool_result bytes after a call whose name changed (a client that rewrote its
    history): the remembered decode named the old tool and must not be reused."""
    parser = shared_history
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "y" * 400}]}
    for name in ("Bash", "Read", "Bash"):
        call = {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": name, "input": {}}]}
        messages = [
            {"role": "user", "content": "go " + "x" * 300},
            call,
            result,
            {"role": "user", "content": "n"},
        ]
        raw = json.dumps({"model": "m", "max_tokens": 5, "messages": messages}).encode()
        got = CODEC.decode_request(parser.parse(raw, "anthropic-messages"), RequestTarget())
        assert got == _fresh(raw)
        assert got.messages[2].content[0].name == name  # type: ignore[union-attr]


def test_a_remembered_block_is_never_changed_by_the_request_that_uses_it() -> None:
    """A prefill's trailing whitespace is cut in the encoded request, not in the blocks kept for
    the message, and merged turns get their own content lists."""
    prefill = Message("assistant", [TextPart("Sure,   ")])
    tool_call = Message("assistant", [ToolCallPart("t1", "Bash", "{}")])
    first = Request(
        model="m", messages=[Message("user", [TextPart("hi")]), prefill], style="anthropic-messages"
    )
    wire = CODEC.encode_request(first, "m")
    assert wire["messages"][-1]["content"][-1]["text"] == "Sure,"
    later = msgspec.structs.replace(first, messages=[*first.messages, Message("user", [TextPart("go on")])])
    wire = CODEC.encode_request(later, "m")
    assert wire["messages"][1]["content"][-1]["text"] == "Sure,   "  # the kept block is intact
    # two messages merged into one user turn, then the same messages alone: lists not shared
    user = Message("user", [TextPart("a", cache_control=CacheControl())])
    merged = Request(
        model="m", messages=[user, Message("user", [TextPart("b")]), tool_call], style="anthropic-messages"
    )
    alone = Request(model="m", messages=[user, tool_call], style="anthropic-messages")
    assert len(CODEC.encode_request(merged, "m")["messages"][0]["content"]) == 2
    assert len(CODEC.encode_request(alone, "m")["messages"][0]["content"]) == 1
