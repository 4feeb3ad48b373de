"""Estimating a request's input tokens without the provider's tokenizer.

Used by the token-counting endpoints when the route's provider cannot count for us, and by the
mock provider. About four characters a token for English and code (OpenAI's and Anthropic's rule
of thumb), plus a small overhead per message; an image counts as a typical 1,600 tokens
(Anthropic's formula, width x height / 750, for a ~1.2-megapixel image). No tokenizer file is
downloaded at run time.
"""

from __future__ import annotations

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

IMAGE_TOKENS = 1600
MESSAGE_OVERHEAD = 4
_encoder = msgspec.json.Encoder()


def estimate_text(text: str) -> int:
    return (len(text) + 3) // 4


def _part(part: Part) -> int:
    if isinstance(part, TextPart):
        return estimate_text(part.text)
    if isinstance(part, ReasoningPart):
        return estimate_text(part.text)
    if isinstance(part, ToolCallPart):
        return estimate_text(part.name) + estimate_text(part.arguments)
    if isinstance(part, ToolResultPart):
        return sum(_part(p) for p in part.content) + MESSAGE_OVERHEAD
    if isinstance(part, ImagePart | FilePart):
        return IMAGE_TOKENS if isinstance(part, ImagePart) else estimate_text(part.data or "") * 3 // 4
    return 0


def estimate_request(req: Request) -> int:
    total = sum(estimate_text(p.text) for p in req.system)
    for m in req.messages:
        total += MESSAGE_OVERHEAD + sum(_part(p) for p in m.content)
    for t in req.tools:
        total += estimate_text(t.name) + estimate_text(t.description or "")
        if t.parameters:
            total += estimate_text(_encoder.encode(t.parameters).decode())
    return max(1, total)
