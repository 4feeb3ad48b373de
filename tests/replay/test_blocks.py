"""Cutting a request into cache blocks reads the encoded request and changes nothing in it: the
blocks of an encoded message are shared with the codec's memo (and client history elements with
the history parser), so a cut that stripped markers in place took them from every later request
of the conversation (the replay then billed `+ dedup` at -29.8% instead of -75.5%)."""

from __future__ import annotations

import msgspec

from app.canonical import CacheControl, Message, Request, TextPart
from app.observability.tokens import TokenCounter
from app.replay.blocks import BlockCutter
from app.styles import codec_for


def test_a_cut_leaves_the_encoded_request_and_later_cuts_unchanged() -> None:
    marked = Message("user", [TextPart("the file " * 50, cache_control=CacheControl())])
    req = Request(
        model="m", messages=[marked, Message("assistant", [TextPart("ok")])], style="anthropic-messages"
    )
    codec = codec_for("anthropic-messages")
    before = msgspec.json.encode(codec.encode_request(req, "claude-sonnet-4-0"))
    cutter = BlockCutter("anthropic", "claude-sonnet-4-0", TokenCounter(mode="estimate"))
    first = cutter.cut(req)
    assert any(b.breakpoint for b in first)
    assert msgspec.json.encode(codec.encode_request(req, "claude-sonnet-4-0")) == before
    assert cutter.cut(req) == first
