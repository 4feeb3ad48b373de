"""Token counts come from tiktoken's real encodings, loaded offline."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from app.canonical import Message, Request, TextPart, ToolDef
from app.observability.token_estimate import estimate_text
from app.observability.tokens import TokenCounter, _Encodings, _load, encoding_for


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


class EncodingSpy(_Encodings):
    """The real encodings, remembering which were asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def get(self, name: str) -> object:
        self.asked.append(name)
        return super().get(name)


CODE = "def handle(event):\n    return repo.save(event)  # persist\n" * 40


def test_auto_counts_with_tiktoken_only_where_it_is_exact() -> None:
    spy = EncodingSpy()
    auto = TokenCounter(spy, mode="auto")
    for model in ("claude-sonnet-4-5", "gemini-2.5-pro", "claude-bench", "bench-model", None):
        assert auto.count_text(CODE, model) == estimate_text(CODE)
        assert auto.count_texts([CODE, "hi"], model) == estimate_text(CODE) + estimate_text("hi")
        assert not auto.uses_tokenizer(model) and not auto.exact_for(model)
    assert spy.asked == []  # not loaded, not even looked up
    exact = TokenCounter(_Encodings(), mode="tokenizer")
    assert auto.uses_tokenizer("gpt-4o") and auto.exact_for("gpt-4o")
    assert auto.count_text(CODE, "gpt-4o") == exact.count_text(CODE, "gpt-4o") != estimate_text(CODE)
    assert auto.count_text(CODE, "gpt-4") == exact.count_text(CODE, "gpt-4")
    assert set(spy.asked) == {"o200k_base", "cl100k_base"}


def test_tokenizer_mode_keeps_o200k_as_the_estimate_for_other_models() -> None:
    counter = TokenCounter(_Encodings(), mode="tokenizer")
    assert counter.uses_tokenizer("claude-sonnet-4-5") and not counter.exact_for("claude-sonnet-4-5")
    assert counter.count_text(CODE, "claude-sonnet-4-5") == counter.count_text(CODE, "gpt-4o")
    assert TokenCounter().mode == "tokenizer"  # replays and scripts that build their own counter


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="auto, tokenizer, estimate"):
        TokenCounter(mode="exact")  # type: ignore[arg-type]


def test_estimate_mode_never_imports_tiktoken() -> None:
    code = """
import sys
from app.canonical import Message, Request, Response, TextPart
from app.auth import Project
from app.observability.pricing import PriceTable
from app.observability.record import RecordBuilder
from app.observability.tokens import TokenCounter
from app.pipeline import RequestContext

builder = RecordBuilder(PriceTable.load(), TokenCounter(mode="estimate"))
req = Request(model="gpt-4o", style="openai-chat", messages=[Message("user", [TextPart("x" * 4000)])])
ctx = RequestContext(request_id="r", style="openai-chat", project=Project("p"))
ctx.step_model = "gpt-4o"
ctx.saved("dedup", "y" * 4000, "[ref]")
resp = Response(id="m", model="gpt-4o", content=[TextPart("an answer")])
assert not builder.needs_counting(ctx, resp, req)
rec = builder.build(req, resp, ctx)
assert rec.usage_estimated and rec.output_tokens == 3 and rec.savings["dedup"].tokens == 1000 - 2
assert "tiktoken" not in sys.modules, "tiktoken imported"
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_the_slimmed_encoding_counts_like_a_fresh_one() -> None:
    slim = _Encodings().get("o200k_base")
    assert slim is not None and not hasattr(slim, "_mergeable_ranks")  # the ~27 MB dict is gone
    fresh = _load("o200k_base")
    assert len(fresh._mergeable_ranks) == 199_998
    texts = [
        CODE,
        "hello world",
        "日本語のテキストです。これはテストです。🚀 émigré naïve",
        "<|endoftext|> is ordinary text to encode_ordinary <|fim_prefix|>",
        "lone surrogate \ud800 in a text",  # tiktoken's UnicodeEncodeError path
        " ".join(str(i) for i in range(2_000)),
        "\n\n\t  mixed   whitespace \r\n",
    ]
    for text in texts:
        assert slim.encode_ordinary(text) == fresh.encode_ordinary(text)
    counter = TokenCounter(_Encodings(), mode="tokenizer")
    assert counter.count_texts(texts, "gpt-4o") == sum(len(fresh.encode_ordinary(t)) for t in texts)
