"""Recorded conversations: JSONL files of request bodies in any of the four API styles.

Each line is one model call with the whole history so far. A ``_trace`` field (the shared
traces' bookkeeping: ``conversation``, ``turn``) is stripped; lines with the same
``_trace.conversation`` form one conversation, else a file is one conversation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from app.canonical import Request, Style
from app.styles import codec_for
from app.styles.base import RequestTarget

_decoder = msgspec.json.Decoder()
_ANTHROPIC_BLOCKS = frozenset({"tool_use", "tool_result", "thinking", "redacted_thinking", "document"})


@dataclass(slots=True)
class Conversation:
    name: str
    requests: list[Request] = field(default_factory=list)


def load_conversations(paths: Iterable[str]) -> list[Conversation]:
    out: dict[str, Conversation] = {}
    for path in paths:
        p = Path(path)
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            body = _decoder.decode(line)
            if not isinstance(body, dict):
                raise ValueError(f"{p}:{n}: expected a JSON object per line")
            trace = body.pop("_trace", None)
            conv = trace.get("conversation") if isinstance(trace, dict) else None
            name = f"{p.name}:{conv}" if conv else p.name
            style = detect_style(body)
            model = body.get("model") if isinstance(body.get("model"), str) else "replay"
            req = codec_for(style).decode_request(body, RequestTarget(model=model))
            out.setdefault(name, Conversation(name)).requests.append(req)
    return list(out.values())


def detect_style(body: dict[str, Any]) -> Style:
    """Which API style a request body is written in, from its shape."""
    if "contents" in body:
        return "google-genai"
    if "input" in body and "messages" not in body:
        return "openai-responses"
    if isinstance(body.get("system"), str | list):
        return "anthropic-messages"
    for m in body.get("messages") or []:
        if not isinstance(m, dict):
            continue
        if m.get("role") in ("system", "tool", "developer") or "tool_calls" in m:
            return "openai-chat"
        content = m.get("content")
        if isinstance(content, list):
            kinds = {b.get("type") for b in content if isinstance(b, dict)}
            if kinds & _ANTHROPIC_BLOCKS:
                return "anthropic-messages"
            if "image_url" in kinds:
                return "openai-chat"
    return "openai-chat"
