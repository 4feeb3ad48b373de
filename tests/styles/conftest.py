"""Codec tests that compare two encodings of one answer (streamed and whole) pin the per-answer
nonce of gateway-made ids (``app.styles.ids``); tests of the nonce itself use ``ids.nonce``
through ``REAL_NONCE``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.styles import ids
from app.styles.history_parse import HistoryParser

REAL_NONCE = ids.nonce
FIXED_NONCE = "n0nce0000000"


@pytest.fixture(scope="module")
def fixed_nonce() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ids, "nonce", lambda: FIXED_NONCE)
        yield FIXED_NONCE


@pytest.fixture
def shared_history(monkeypatch: pytest.MonkeyPatch) -> HistoryParser:
    """A fresh parser standing in for ``HISTORY`` where the codecs look up what they remembered,
    sharing histories of any size: parse with it and the decode memos are in play."""
    from app.styles import history_parse
    from app.styles.anthropic import decode as anthropic_decode
    from app.styles.openai_chat import decode as chat_decode

    parser = HistoryParser(min_bytes=0)
    for module in (history_parse, anthropic_decode, chat_decode):
        monkeypatch.setattr(module, "HISTORY", parser)
    return parser
