"""The traffic recorder (``record:``, off by default): writes what clients send, as JSONL of
request bodies in their own API style — the format ``frugal replay`` reads — so users can measure
the token savers on their own traffic.

One file per project and UTC day (``<dir>/<project>-<YYYY-MM-DD>.jsonl``). Each line is the body
the client sent plus ``_trace: {conversation, turn, source}``: requests that open with the same
tools, system prompt and first message are one conversation (an agent resends its whole history
every turn), which is how replay groups them. Secrets are redacted from every string first
(``app.observability.redaction``); keys and headers are never written. Writing happens in one
thread off the request path; past ``queue_size`` pending lines, lines are dropped and counted.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import re
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

from app.canonical import Style
from app.observability.redaction import redact

log = logging.getLogger("frugal.recorder")
_encoder = msgspec.json.Encoder(order="sorted")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_STOP = object()


def conversation_id(body: dict[str, Any], style: Style, project: str) -> str:
    """Stable across the turns of one conversation: its tools, system prompt and first message."""
    h = hashlib.sha256(f"{project}\0{style}\0".encode())
    h.update(_encoder.encode(body.get("tools") or []))
    h.update(_encoder.encode(body.get("system") or body.get("instructions") or body.get("systemInstruction")))
    history = body.get("messages") or body.get("contents") or body.get("input")
    if isinstance(history, list) and history:
        first = history[1] if len(history) > 1 and isinstance(history[0], dict) and history[0].get(
            "role") in ("system", "developer") else history[0]  # fmt: skip
        h.update(_encoder.encode(first))
        if isinstance(history[0], dict) and history[0].get("role") in ("system", "developer"):
            h.update(_encoder.encode(history[0]))
    elif isinstance(history, str):
        h.update(history.encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:16]


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    return value


class Recorder:
    def __init__(self, directory: str, *, queue_size: int = 1000) -> None:
        self.dir = Path(directory)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._turns: dict[str, int] = {}
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.written = 0

    def record(self, project: str, style: Style, body: dict[str, Any], model: str | None) -> None:
        """Called on the request path: copies nothing heavy, only enqueues."""
        try:
            self._queue.put_nowait((project, style, body, model, time.time()))
        except queue.Full:
            self.dropped += 1

    def start(self) -> None:
        if self._thread is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                self._write(*item)  # type: ignore[misc]
            except Exception:  # a full disk must not take the gateway down
                log.exception("recording a request failed")

    def _write(self, project: str, style: Style, body: dict[str, Any], model: str | None, ts: float) -> None:
        line = dict(_redacted(body))
        if style == "google-genai" and model and "model" not in line:
            line["model"] = model  # Google puts it in the URL; replay reads it from the body
        conv = conversation_id(body, style, project)
        turn = self._turns.get(conv, 0)
        self._turns[conv] = turn + 1
        if len(self._turns) > 100_000:
            self._turns.clear()  # bounded: a later turn of an old conversation restarts at 0
        line["_trace"] = {"conversation": conv, "turn": turn, "source": style}
        day = time.strftime("%Y-%m-%d", time.gmtime(ts))
        path = self.dir / f"{_SAFE.sub('_', project)}-{day}.jsonl"
        with path.open("ab") as fh:
            fh.write(msgspec.json.encode(line) + b"\n")
        self.written += 1
