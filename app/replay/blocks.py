"""A request as the provider's prompt cache sees it: the wire body cut into content blocks.

Anthropic caches (and counts its 20-block lookback) per block: each tool, each system block,
each content block of each message, in that order. OpenAI's automatic cache matches a token
prefix; blocks (each tool, each message) are the granularity this simulation matches it at.
Each block carries its token count, the hash of the whole prefix up to it, and whether it holds
a ``cache_control`` breakpoint. Markers are left out of the hash: the provider matches content,
so a breakpoint that moved does not break the prefix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from app.canonical import Request
from app.observability.tokens import TokenCounter
from app.styles import codec_for

Target = Literal["anthropic", "openai"]
BLOCK_OVERHEAD = 3  # role/framing tokens a block costs beyond its text
_encoder = msgspec.json.Encoder(order="sorted")


@dataclass(frozen=True, slots=True)
class Block:
    tokens: int
    prefix: bytes  # hash of every block up to and including this one
    breakpoint: bool


class BlockCutter:
    """Cuts requests into blocks, counting each distinct block's tokens once."""

    def __init__(self, target: Target, model: str, counter: TokenCounter) -> None:
        self._target = target
        self._model = model
        self._counter = counter
        self._tokens: dict[bytes, int] = {}

    def cut(self, req: Request) -> list[Block]:
        style = "anthropic-messages" if self._target == "anthropic" else "openai-chat"
        body = codec_for(style).encode_request(req, self._model)
        out: list[Block] = []
        prefix = b""
        for role, wire_block in _wire_blocks(body, self._target):
            block, mark = _strip_marks(wire_block)
            key = _encoder.encode([role, block])
            prefix = hashlib.blake2b(prefix + key, digest_size=16).digest()
            out.append(Block(self._count(key, block), prefix, mark))
        return out

    def _count(self, key: bytes, block: Any) -> int:
        digest = hashlib.blake2b(key, digest_size=16).digest()
        n = self._tokens.get(digest)
        if n is None:
            texts: list[str] = []
            _strings(block, texts)
            n = self._tokens[digest] = BLOCK_OVERHEAD + self._counter.count_texts(texts, self._model)
        return n


def _wire_blocks(body: dict[str, Any], target: Target) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [("tool", t) for t in body.get("tools") or []]
    if target == "anthropic":
        system = body.get("system")
        if isinstance(system, str):
            out.append(("system", system))
        elif isinstance(system, list):
            out.extend(("system", b) for b in system)
        for m in body.get("messages") or []:
            content = m.get("content")
            if isinstance(content, list):
                out.extend((m["role"], b) for b in content)
            else:
                out.append((m["role"], content))
    else:
        out.extend((str(m.get("role")), m) for m in body.get("messages") or [])
    return out


def _strip_marks(node: Any) -> tuple[Any, bool]:
    """``node`` without its ``cache_control`` keys, and whether it had one. A copy, never a
    change in place: encoded requests share their blocks with the codec's memo and the client's
    own history elements (``app.styles.history_parse``)."""
    if isinstance(node, dict):
        found = "cache_control" in node
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k != "cache_control":
                out[k], inner = _strip_marks(v)
                found = found or inner
        return out, found
    if isinstance(node, list):
        items = [_strip_marks(v) for v in node]
        return [v for v, _ in items], any(f for _, f in items)
    return node, False


def _strings(node: Any, out: list[str]) -> None:
    if isinstance(node, str):
        out.append(node)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k not in ("type", "role"):
                _strings(v, out)
    elif isinstance(node, list):
        for v in node:
            _strings(v, out)
    elif node is not None and not isinstance(node, bool):
        out.append(str(node))
