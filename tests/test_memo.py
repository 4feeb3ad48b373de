"""The bounded memo for pure functions of long texts (app/memo.py)."""

from __future__ import annotations

from app.memo import TextMemo


def test_remembers_by_key_and_text() -> None:
    memo: TextMemo[int] = TextMemo(max_chars=10_000, min_chars=10)
    text = "x" * 100
    assert memo.get("a", text) is None
    memo.put("a", text, 1)
    assert memo.get("a", "x" * 100) == 1  # an equal text, another object
    assert memo.get("b", text) is None  # another key: another function or setting
    assert (memo.hits, memo.misses) == (1, 2)


def test_bounded_by_characters_least_recently_used_out_first() -> None:
    memo: TextMemo[int] = TextMemo(max_chars=1_000, min_chars=10)
    texts = [str(i) * 200 for i in range(1, 6)]  # 5 x 200 chars: the bound exactly
    for i, t in enumerate(texts):
        memo.put("k", t, i)
    assert memo.get("k", texts[0]) == 0  # touched: now the most recent
    memo.put("k", "z" * 200, 9)  # over the bound: the least recently used goes
    assert memo.get("k", texts[1]) is None
    assert memo.get("k", texts[0]) == 0
    assert memo.chars <= 1_000
    assert len(memo) == 5


def test_only_texts_worth_remembering() -> None:
    memo: TextMemo[int] = TextMemo(max_chars=4_000, min_chars=512)
    assert not memo.worth("short")
    assert memo.worth("x" * 512)
    assert not memo.worth("x" * 2_000)  # a quarter of the bound at most: one text never floods it
