"""The history parser gives what a plain JSON parse gives, for any body, while sharing the
history's elements across the turns of a conversation."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import msgspec
import pytest

from app.styles.history_parse import SMALL_BODY, HistoryParser, _common_prefix


def _message(rng: random.Random, i: int) -> Any:
    kind = rng.randrange(6)
    if kind == 0:
        return {"role": "user", "content": f"question {i} " + "x" * rng.randrange(0, 600)}
    if kind == 1:
        return {"role": "assistant", "content": [{"type": "text", "text": f'answer {i}\n"quoted" é 漢字 🙂'}]}
    if kind == 2:
        return {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": "line\n" * 50}],
        }
    if kind == 3:
        return rng.choice(
            [12, 123, -1.5e3, True, None, "a string", [1, [2, {"k": "v"}]]]
        )  # bad input, still JSON
    if kind == 4:
        return {"role": "user", "content": "\\u00e9 escaped \\\\ " * rng.randrange(1, 20)}
    return {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": f"t{i}", "name": "Bash", "input": {"n": i}}],
    }


def _dump(body: Any, rng: random.Random) -> bytes:
    """JSON with the separators clients use (compact, spaced, indented)."""
    style = rng.randrange(3)
    if style == 0:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=rng.random() < 0.5).encode()
    if style == 1:
        return json.dumps(body, ensure_ascii=False).encode()
    return json.dumps(body, indent=2).encode()


@pytest.mark.parametrize("style,field", [("anthropic-messages", "messages"), ("openai-responses", "input"),
                                         ("google-genai", "contents"), ("openai-chat", "messages")])  # fmt: skip
def test_equals_a_plain_parse_turn_after_turn_with_edits(style: Any, field: str) -> None:
    rng = random.Random(hash(style) & 0xFFFF)
    parser = HistoryParser(min_bytes=0)
    conversations: list[list[Any]] = [[_message(rng, 0)] for _ in range(4)]
    for turn in range(150):
        c = rng.randrange(len(conversations))
        history = conversations[c]
        action = rng.random()
        if action < 0.6:
            history += [_message(rng, turn), _message(rng, turn + 1)]
        elif action < 0.75 and len(history) > 2:
            k = rng.randrange(len(history))
            history[k] = _message(rng, turn)  # the client rewrote one message
        elif action < 0.85:
            del history[rng.randrange(len(history)) :]  # shortened (a compaction, an undo)
            history.append(_message(rng, turn))
        else:
            history[-1] = {"role": "user", "content": f"nonce {turn}"}  # only the newest changes
        body = {"model": "m", field: history, "stream": False, "z": [1, 2]}
        raw = _dump(body, rng)
        assert parser.parse(raw, style) == msgspec.json.decode(raw), turn


def test_shares_the_elements_of_a_resent_history() -> None:
    parser = HistoryParser(min_bytes=0)
    history: list[Any] = [{"role": "user", "content": "x" * 300}]
    turns = []
    for i in range(4):
        history = [*history, {"role": "assistant", "content": f"a{i}"}, {"role": "user", "content": f"u{i}"}]
        turns.append(
            parser.parse(json.dumps({"messages": history}).encode(), "anthropic-messages")["messages"]
        )
    # from its second sending on, an element is the same object every time
    for a, b in itertools.pairwise(turns[1:]):
        assert all(x is y for x, y in zip(a[:-2], b, strict=False))
        assert a is not b  # each request its own list
    assert turns[0][-1] is not turns[1][2]  # the newest element is not kept at first sight


def test_the_newest_element_is_not_kept_until_resent() -> None:
    """A prompt that never comes back (a nonce, a timestamp) must not fill the memo."""
    parser = HistoryParser(min_bytes=0)
    for i in range(200):
        body = {"messages": [{"role": "user", "content": f"question {i} " + "x" * 400}]}
        parser.parse(json.dumps(body).encode(), "anthropic-messages")
    assert len(parser) == 0


def test_a_number_that_grows_is_not_taken_for_the_old_one() -> None:
    """``[12, ...]`` then ``[123]``: the shared bytes end inside the number."""
    parser = HistoryParser(min_bytes=0)
    for raw in (
        b'{"messages":[12,{"a":1}]}',
        b'{"messages":[123]}',
        b'{"messages":[12]}',
        b'{"messages":[1]}',
    ):
        assert parser.parse(raw, "anthropic-messages") == msgspec.json.decode(raw)


@pytest.mark.parametrize(
    "raw",
    [b"", b"[1,2]", b'"s"', b"{", b'{"messages": [1,}', b'{"messages": "text"}', b'{"messages": {}}',
     b'{"messages": [1, 2', b'  {"messages": []}  ', b'{"messages": []} trailing', b'{"a":1,"a":2}'],
)  # fmt: skip
def test_odd_bodies_parse_or_fail_as_a_plain_parse_does(raw: bytes) -> None:
    parser = HistoryParser(min_bytes=0)
    for _ in range(2):  # the second time through the memo
        try:
            want: Any = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            with pytest.raises(msgspec.DecodeError):
                parser.parse(raw, "anthropic-messages")
            continue
        assert parser.parse(raw, "anthropic-messages") == want


def test_bounded_by_bytes() -> None:
    parser = HistoryParser(max_bytes=200_000, min_bytes=0)
    for i in range(300):
        body = {"messages": [{"content": f"{i} " + "x" * 1000}, {"content": "the newest"}]}
        parser.parse(json.dumps(body).encode(), "anthropic-messages")
    assert 0 < parser._bytes <= 200_000 and 0 < len(parser) < 300
    assert parser._recent_bytes <= 50_000


def test_decoded_results_are_kept_only_for_shared_elements() -> None:
    parser = HistoryParser(min_bytes=0)
    raw = b'{"messages":[{"role":"user","content":"hi"},{"role":"user","content":"more"}]}'
    element = parser.parse(raw, "anthropic-messages")["messages"][0]
    parser.remember(element, "anthropic-messages", "decoded")
    assert parser.decoded(element, "anthropic-messages") == "decoded"
    assert parser.decoded(element, "openai-chat") is None  # each codec decodes for itself
    stranger = {"role": "user", "content": "hi"}
    parser.remember(stranger, "anthropic-messages", "other")
    assert parser.decoded(stranger, "anthropic-messages") is None


def test_common_prefix() -> None:
    rng = random.Random(3)
    for _ in range(300):
        a = bytes(rng.randrange(3) for _ in range(rng.randrange(0, 400)))
        b = a[: rng.randrange(0, len(a) + 1)] + bytes(rng.randrange(3) for _ in range(rng.randrange(0, 200)))
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        assert _common_prefix(a, b) == n


def test_off_parses_plainly_and_keeps_nothing() -> None:
    parser = HistoryParser(max_bytes=0)
    raw = json.dumps({"messages": [{"content": "x" * 600}, {"content": "y"}]}).encode()
    for _ in range(3):
        assert parser.parse(raw, "anthropic-messages") == msgspec.json.decode(raw)
    assert len(parser) == 0 and not parser._recent


def test_conversations_that_start_alike_keep_their_own_entries() -> None:
    """One agent's opening message for many users: the same first bytes, different
    conversations, interleaved; each one's resent elements still come back as its own objects."""
    parser = HistoryParser(min_bytes=0)
    opening = {"role": "user", "content": "<system-reminder>the same for everyone " + "x" * 700}
    histories: dict[str, list[Any]] = {
        c: [opening, {"role": "user", "content": f"task {c} " + "y" * 300}] for c in "ABC"
    }
    seen: dict[str, Any] = {}
    for turn in range(6):
        for c, history in histories.items():
            history += [
                {"role": "assistant", "content": f"{c} step {turn}"},
                {"role": "user", "content": f"ok {turn}"},
            ]
            raw = json.dumps({"messages": history}).encode()
            got = parser.parse(raw, "anthropic-messages")
            assert got == msgspec.json.decode(raw)
            if turn >= 2:
                assert got["messages"][1] is seen[c]  # its own task element, not parsed again
            seen[c] = got["messages"][1]
    assert sum(len(group) for group in parser._recent.values()) == 3  # one entry each


def test_common_prefix_of_long_inputs() -> None:
    a = bytes(range(256)) * 800
    for cut in (0, 1, 4095, 4096, 4097, 70_000, len(a) - 1):
        b = a[:cut] + bytes([(a[cut] + 1) % 256]) + a[cut + 1 :]
        assert _common_prefix(a, b) == cut
    assert _common_prefix(a, a) == len(a)
    assert _common_prefix(a, a[:5000]) == 5000


def test_small_bodies_are_parsed_whole_and_large_ones_shared() -> None:
    parser = HistoryParser()  # the default threshold
    small = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    raw = json.dumps({"model": "m", "messages": [*small, {"role": "user", "content": "next"}]}).encode()
    assert len(raw) < SMALL_BODY
    first = parser.parse(raw, "openai-chat")
    again = parser.parse(raw, "openai-chat")
    assert first == again == msgspec.json.decode(raw)
    assert again["messages"][0] is not first["messages"][0]  # nothing kept for a small body
    big = [*small, {"role": "user", "content": "x" * SMALL_BODY}, {"role": "assistant", "content": "ok"}]
    turn1 = parser.parse(json.dumps({"model": "m", "messages": big}).encode(), "openai-chat")
    turn2 = parser.parse(json.dumps({"model": "m", "messages": [*big, {"role": "user", "content": "go"}]}).encode(),
                         "openai-chat")  # fmt: skip
    assert turn2["messages"][2] is turn1["messages"][2]  # the large history's elements are shared
