"""Reasoning artifacts wrapped for clients of another style, and unwrapped on the way back."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from app.canonical import ReasoningPart
from app.styles import artifacts


@given(
    st.text(max_size=300),
    st.one_of(st.none(), st.text(min_size=1, max_size=300)),
    st.sampled_from(["anthropic-messages", "google-genai", "openai-responses", "openai-chat"]),
    st.booleans(),
    st.one_of(st.none(), st.text(min_size=1, max_size=20)),
)
def test_wrap_unwrap_round_trip(
    text: str, sig: str | None, origin: str, redacted: bool, item: str | None
) -> None:
    part = ReasoningPart(text=text, signature=sig, origin=origin, redacted=redacted, item_id=item)  # type: ignore[arg-type]
    token = artifacts.wrap(part)
    # valid in every carrier: base64 in both alphabets, and byte-exact through decode/encode
    assert len(token) % 4 == 0
    assert base64.b64encode(base64.b64decode(token)).decode() == token
    assert base64.urlsafe_b64encode(base64.urlsafe_b64decode(token)).decode() == token
    back = artifacts.unwrap(token, text="client text")
    # Anthropic and DeepSeek-style Chat providers need their text back: it travels in the token
    expected_text = text if origin in ("anthropic-messages", "openai-chat") and text else "client text"
    assert back == ReasoningPart(
        text=expected_text, signature=sig, origin=origin, redacted=redacted, item_id=item
    )  # type: ignore[arg-type]


def test_native_signatures_pass_untouched() -> None:
    part = ReasoningPart("t", signature="native", origin="anthropic-messages")
    assert artifacts.for_client(part, "anthropic-messages") == "native"
    assert artifacts.from_client("native", "t", "anthropic-messages") == part
    assert artifacts.unwrap("not-a-token") is None
    assert artifacts.unwrap("fgw1zzzz") is None  # garbage after the prefix is not trusted


def test_ids_carry_several_parts() -> None:
    parts = [
        ReasoningPart(signature="a", origin="google-genai"),
        ReasoningPart("x", signature="b", origin="anthropic-messages"),
    ]
    carried = artifacts.id_with_artifacts("call_1", parts)
    assert artifacts.split_id(carried) == ("call_1", parts)
    assert artifacts.split_id("call_plain") == ("call_plain", [])
