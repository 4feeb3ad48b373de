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
