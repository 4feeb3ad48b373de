"""One codec per API style; ``codec_for(style)`` is the only way the rest of the gateway finds one."""

from __future__ import annotations

from app.canonical import Style
from app.styles.base import Codec
from app.styles.openai_chat import OpenAIChatCodec

_CODECS: dict[str, Codec] = {
    "openai-chat": OpenAIChatCodec(),
}


def codec_for(style: Style) -> Codec:
    try:
        return _CODECS[style]
    except KeyError:
        raise LookupError(f"no codec for API style {style!r}") from None


def available_styles() -> list[str]:
    return list(_CODECS)


def register(codec: Codec) -> None:
    _CODECS[codec.style] = codec
