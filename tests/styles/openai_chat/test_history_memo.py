"""The OpenAI Chat decoder through shared history elements gives what a fresh decode gives,
turn after turn, when a resent tool result answers a renamed call, and when one element is
valid in two styles."""

from __future__ import annotations

import json
import random
from typing import Any

import msgspec

from app.styles.anthropic.codec import AnthropicCodec
from app.styles.base import RequestTarget
from app.styles.history_parse import HistoryParser
from app.styles.openai_chat.codec import OpenAIChatCodec

CODEC = OpenAIChatCodec()


def _fresh(raw: bytes) -> Any:
    return CODEC.decode_request(msgspec.json.decode(raw), RequestTarget())


def test_turn_after_turn_equals_fresh_decodes(shared_history: HistoryParser) -> None:
    rng = random.Random(5)
    parser = shared_history
    previous: list[Any] = []
    history: list[dict[str, Any]] = [
        {"role": "system", "content": "you are an agent " + "s" * 300},
        {"role": "user", "content": "fix it " + "x" * 300},
    ]
    for i in range(30):
        call = {"id": f"call_{i}", "type": "function",
                "function": {"name": rng.choice(["bash", "read"]), "arguments": json.dumps({"n": i})}}  # fmt: skip
        history = [
            *history,
            {"role": "assistant", "content": rng.choice([None, f"step {i}"]), "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"call_{i}", "content": "out\n" * rng.randrange(1, 40)},
        ]
        if rng.random() < 0.2:
            history.append({"role": "developer", "content": f"note {i}"})  # not leading: a system message
        raw = json.dumps(
            {"model": "gpt-x", "messages": [*history, {"role": "user", "content": f"n{i}"}]}
        ).encode()
        got = CODEC.decode_request(parser.parse(raw, "openai-chat"), RequestTarget())
        assert msgspec.json.encode(got) == msgspec.json.encode(_fresh(raw)), i
        if i:  # the memo is in play: the resent messages are the previous turn's objects
            # (all but the previous turn's newest message; developer messages are decoded anew)
            kept = {id(m) for m in previous}
            turns = [m for m in previous if m.role != "system"]
            assert sum(id(m) in kept for m in got.messages if m.role != "system") == len(turns) - 1
        previous = got.messages


def test_a_resent_tool_result_takes_the_name_of_the_call_it_answers_now(
    shared_history: HistoryParser,
) -> None:
    parser = shared_history
    result = {"role": "tool", "tool_call_id": "c1", "content": "y" * 400}
    for name in ("bash", "read", "bash"):
        call = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": name, "arguments": "{}"}}]}  # fmt: skip
        msgs = [
            {"role": "user", "content": "go " + "x" * 300},
            call,
            result,
            {"role": "user", "content": "n"},
        ]
        raw = json.dumps({"model": "m", "messages": msgs}).encode()
        got = CODEC.decode_request(parser.parse(raw, "openai-chat"), RequestTarget())
        assert got == _fresh(raw)
        assert got.messages[2].content[0].name == name


def test_one_element_in_two_styles_is_decoded_by_each(shared_history: HistoryParser) -> None:
    parser = shared_history
    anthropic = AnthropicCodec()
    msgs = [{"role": "user", "content": "same bytes " + "x" * 300}, {"role": "user", "content": "n"}]
    raw = json.dumps({"model": "m", "max_tokens": 5, "messages": msgs}).encode()
    for _ in range(2):
        a = anthropic.decode_request(parser.parse(raw, "anthropic-messages"), RequestTarget())
        o = CODEC.decode_request(parser.parse(raw, "openai-chat"), RequestTarget())
        assert a == anthropic.decode_request(msgspec.json.decode(raw), RequestTarget())
        assert o == _fresh(raw)
