"""Codec tests that compare two encodings of one answer (streamed and whole) pin the per-answer
nonce of gateway-made ids (``app.styles.ids``); tests of the nonce itself use ``ids.nonce``
through ``REAL_NONCE``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.styles import ids

REAL_NONCE = ids.nonce
FIXED_NONCE = "n0nce0000000"


@pytest.fixture(scope="module")
def fixed_nonce() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ids, "nonce", lambda: FIXED_NONCE)
        yield FIXED_NONCE
