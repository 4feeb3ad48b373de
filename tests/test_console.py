"""Progress bars: drawn on a terminal's stderr, absent from a pipe."""

from __future__ import annotations

import io
import sys

import pytest

from app.console import progress_bar


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    with progress_bar("replaying requests") as update:
        assert update is not None
        for done in range(1, 7):
            update(done, 6)
    drawn = tty.getvalue()
    assert "replaying requests" in drawn and "6/6" in drawn


def test_nothing_into_a_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with progress_bar("training") as update:
        assert update is None
    assert pipe.getvalue() == ""
