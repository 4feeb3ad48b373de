"""Carrying a provider's reasoning artifacts through a client of another style.

Providers insist on getting their own artifacts back: Anthropic verifies the signed thinking
block before a tool-use turn, Gemini 3 wants the ``thoughtSignature`` it issued on each function
call, OpenAI Responses with ``store: false`` wants the reasoning item's ``encrypted_content``.
When the client speaks another style, the gateway hands the artifact to the client inside that
style's own opaque field (an Anthropic thinking ``signature``, a Gemini ``thoughtSignature``, a
Responses ``encrypted_content``), which every client echoes back unchanged; the client codec
unwraps it on the next request and the provider codec restores the original.

The token is ``fgw1`` + hex(zlib(JSON)) padded to a multiple of four characters, so it is valid
text in every carrier, including Gemini's ``bytes`` field (valid in both base64 alphabets, and
base64 decode/encode gives it back exactly).
"""

from __future__ import annotations

import binascii
import zlib

import msgspec

from app.canonical import ReasoningPart, Style

_PREFIX = "fgw1"


class _Token(msgspec.Struct, omit_defaults=True):
    o: Style  # origin style
    s: str | None = None  # the provider's own signature / encrypted content
    t: str | None = None  # reasoning text, kept only where the provider verifies it
    r: bool = False  # Anthropic redacted_thinking
    i: str | None = None  # Responses reasoning item id


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_Token)

# Providers that need their reasoning text back verbatim: Anthropic checks it against its
# signature, DeepSeek-style Chat upstreams refuse a tool-call turn without `reasoning_content`.
# Their text travels inside the token, since some clients drop reasoning text from their history
# (Gemini CLI drops `thought` parts).
_TEXT_VERIFIED: frozenset[Style] = frozenset({"anthropic-messages", "openai-chat"})


def wrap(part: ReasoningPart) -> str:
    """An opaque token for ``part`` (whose ``origin`` is another style than the client's)."""
    assert part.origin is not None
    tok = _Token(
        o=part.origin,
        s=part.signature,
        t=part.text if part.origin in _TEXT_VERIFIED and part.text else None,
        r=part.redacted,
        i=part.item_id,
    )
    body = binascii.hexlify(zlib.compress(_encoder.encode(tok), 6)).decode()
    if len(body) % 4:
        body += "zz"  # 'z' is never a hex digit, so the padding strips unambiguously
    return _PREFIX + body


def is_wrapped(value: str | None) -> bool:
    return bool(value) and value.startswith(_PREFIX)  # type: ignore[union-attr]


def unwrap(value: str, text: str = "") -> ReasoningPart | None:
    """The artifact inside a token, or None if ``value`` is not a valid token.

    ``text`` is the reasoning text the client sent beside the token; the token's own copy wins
    where the provider verifies it.
    """
    if not value.startswith(_PREFIX):
        return None
    body = value[len(_PREFIX) :].rstrip("z")
    try:
        tok = _decoder.decode(zlib.decompress(binascii.unhexlify(body)))
    except (ValueError, zlib.error, msgspec.DecodeError):
        return None
    return ReasoningPart(
        text=tok.t if tok.t is not None else text,
        signature=tok.s,
        origin=tok.o,
        redacted=tok.r,
        item_id=tok.i,
    )


def for_client(part: ReasoningPart, client_style: Style) -> str | None:
    """The signature to show a client of ``client_style``: native if it issued it, else a token."""
    if part.origin is None or part.origin == client_style:
        return part.signature
    if not carried(part, client_style):
        return None
    return wrap(part)


def from_client(signature: str | None, text: str, client_style: Style) -> ReasoningPart:
    """The reasoning part a client sent back: unwrapped if it carries a token, else native."""
    if signature and signature.startswith(_PREFIX):
        part = unwrap(signature, text)
        if part is not None:
            return part
    return ReasoningPart(text=text, signature=signature, origin=client_style)


# A Chat Completions client has no field that carries a signature back (OpenCode echoes
# `reasoning_content` text and tool-call ids, nothing else), so for Chat clients the artifacts of
# a tool-use turn ride on the id of the tool call that follows them: `<id>~fgw1...`. Every
# provider rule that needs an artifact back concerns a tool-use turn, so this is enough.
_ID_MARK = "~" + _PREFIX


def id_with_artifacts(call_id: str, parts: list[ReasoningPart]) -> str:
    """``call_id`` carrying ``parts`` (reasoning from another style) for a Chat client."""
    return call_id + "".join("~" + wrap(p) for p in parts)


def split_id(value: str) -> tuple[str, list[ReasoningPart]]:
    """(the provider's own call id, the reasoning parts carried on it)."""
    if _ID_MARK not in value:
        return value, []
    base, *tokens = value.split(_ID_MARK)
    parts = [p for p in (unwrap(_PREFIX + t) for t in tokens) if p is not None]
    return base, parts


def carried(part: ReasoningPart, client_style: Style) -> bool:
    """Whether ``part`` holds an artifact that a client of ``client_style`` must carry back."""
    if part.origin in (None, client_style):
        return False
    return (
        part.signature is not None
        or part.item_id is not None
        or (part.origin in _TEXT_VERIFIED and bool(part.text))
    )
