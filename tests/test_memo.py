"""The bounded memo for pure functions of long texts (app/memo.py)."""

from __future__ import annotations

import gc
import sys

from app.memo import IdentityMemo, TextMemo


def test_remembers_by_key_and_text() -> None:
    memo: TextMemo[int] = TextMemo(max_bytes=10_000, min_chars=10)
    text = "x" * 100
    assert memo.get("a", text) is None
    memo.put("a", text, 1)
    assert memo.get("a", "x" * 100) == 1  # an equal text, another object
    assert memo.get("b", text) is None  # another key: another function or setting
    assert (memo.hits, memo.misses) == (1, 2)


def test_bounded_by_memory_least_recently_used_out_first() -> None:
    texts = [str(i) * 200 for i in range(1, 6)]
    memo: TextMemo[int] = TextMemo(max_bytes=5 * sys.getsizeof(texts[0]), min_chars=10)  # 5 fit exactly
    for i, t in enumerate(texts):
        memo.put("k", t, i)
    assert memo.get("k", texts[0]) == 0  # touched: now the most recent
    memo.put("k", "z" * 200, 9)  # over the bound: the least recently used goes
    assert memo.get("k", texts[1]) is None
    assert memo.get("k", texts[0]) == 0
    assert memo.size_bytes <= memo.max_bytes
    assert len(memo) == 5


def test_wide_characters_count_for_what_they_cost() -> None:
    ascii_text = "x" * 1_000
    wide = "x" * 999 + "🚀"  # same length, four bytes a character
    memo: TextMemo[int] = TextMemo(max_bytes=4 * sys.getsizeof(ascii_text), min_chars=10)
    for i in range(4):
        memo.put("ascii", "x" * 999 + str(i), i)
    assert len(memo) == 4  # four narrow texts fit
    assert memo.worth(ascii_text)
    assert not memo.worth(wide)  # ~4 kB: more than a quarter of the bound, never remembered
    memo.put("wide", wide, 9)
    assert memo.size_bytes <= memo.max_bytes and len(memo) == 1  # it pushed all four out


def test_only_texts_worth_remembering() -> None:
    memo: TextMemo[int] = TextMemo(max_bytes=4_000, min_chars=512)
    assert not memo.worth("short")
    assert memo.worth("x" * 512)
    assert not memo.worth("x" * 2_000)  # a quarter of the bound at most: one text never floods it


def test_identity_memo_lives_as_long_as_its_object() -> None:
    from app.canonical import Message, TextPart

    memo: IdentityMemo[str] = IdentityMemo()
    a = Message("user", [TextPart("same")])
    b = Message("user", [TextPart("same")])
    memo.put(a, "for a")
    assert memo.get(a) == "for a"
    assert memo.get(b) is None  # equal content, another object: not this entry
    del a
    gc.collect()
    assert len(memo) == 0  # the entry left with its object
    c = Message("user", [TextPart("new")])  # may reuse a's address: must not see a's entry
    assert memo.get(c) is None
