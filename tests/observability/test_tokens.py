"""Token counts come from tiktoken's real encodings, loaded offline."""

from __future__ import annotations

import socket

import pytest

from app.canonical import Message, Request, TextPart, ToolDef
from app.observability.tokens import TokenCounter, _Encodings, encoding_for


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(_Encodings())


def test_encodings_load_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    fresh = TokenCounter(_Encodings())
    # the o200k_base ids of "hello world" are [24912, 2375]: two tokens, counted exactly
    assert fresh.count_text("hello world", "gpt-4o") == 2
    assert fresh.exact_for("gpt-4o")


def test_cl100k_for_gpt4_and_o200k_for_newer_models() -> None:
    assert encoding_for("gpt-4") == ("cl100k_base", True)
    assert encoding_for("gpt-4o-mini") == ("o200k_base", True)
    assert encoding_for("openai/gpt-5") == ("o200k_base", True)
    assert encoding_for("claude-sonnet-4-5") == ("o200k_base", False)  # an estimate


def test_counts_differ_by_encoding(counter: TokenCounter) -> None:
    # o200k_base has many more non-English tokens than cl100k_base
    text = "日本語のテキストです。これはテストです。" * 5
    assert counter.count_text(text, "gpt-4") == 80
    assert counter.count_text(text, "gpt-4o") == 65


def test_request_count_covers_system_messages_and_tools(counter: TokenCounter) -> None:
    base = Request(model="gpt-4o", style="openai-chat", messages=[Message("user", [TextPart("hi")])])
    bigger = Request(
        model="gpt-4o",
        style="openai-chat",
        system=[TextPart("You are a careful assistant. " * 10)],
        messages=[Message("user", [TextPart("hi")])],
        tools=[
            ToolDef(
                "read_file", "Read a file", {"type": "object", "properties": {"path": {"type": "string"}}}
            )
        ],
    )
    assert counter.count_request(bigger) > counter.count_request(base) + 50


def test_unicode_and_empty_text(counter: TokenCounter) -> None:
    assert counter.count_text("", "gpt-4o") == 0
    assert counter.count_text("日本語のテキスト 🚀", "gpt-4o") > 0


class _CountingEncoding:
    """Wraps a real encoding and counts the texts it was asked to encode."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.encoded: list[str] = []

    def encode_ordinary(self, text: str) -> list[int]:
        self.encoded.append(text)
        return self.real.encode_ordinary(text)  # type: ignore[attr-defined,no-any-return]

    def encode_ordinary_batch(self, texts: list[str]) -> list[list[int]]:
        raise AssertionError("encode_ordinary_batch builds a thread pool per call: not on the hot path")


class _Wrapped(_Encodings):
    def __init__(self, enc: _CountingEncoding) -> None:
        super().__init__()
        self.enc = enc

    def get(self, name: str) -> object:
        return self.enc


def test_long_texts_are_counted_once_and_counts_do_not_change(counter: TokenCounter) -> None:
    real = _Encodings().get("o200k_base")
    enc = _CountingEncoding(real)
    memo_counter = TokenCounter(_Wrapped(enc))
    long_text = "def handle(event):\n    return repo.save(event)\n" * 200  # ~9 kB: a file view
    short = "hello world"
    expected = len(real.encode_ordinary(long_text)) + len(real.encode_ordinary(short))  # type: ignore[union-attr]
    assert memo_counter.count_texts([long_text, short], "gpt-4o") == expected
    # the next turn resends the same history: the long text is not encoded again
    again = "".join(list(long_text))  # equal, but another object, as a fresh request decodes it
    assert memo_counter.count_texts([again, short], "gpt-4o") == expected
    assert enc.encoded.count(long_text) == 1
    assert enc.encoded.count(short) == 2  # short texts are cheaper to count than to remember
    assert memo_counter.count_text(again, "gpt-4o") == expected - 2
    assert counter.count_texts([long_text, short], "gpt-4o") == expected
