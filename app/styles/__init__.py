"""One codec per API style; ``codec_for(style)`` is the only way the rest of the gateway finds one.

Each style module exposes its codec as ``CODEC``; modules are imported on first use.
"""

from __future__ import annotations

import importlib
from functools import cache

from app.canonical import Style
from app.styles.base import Codec

_MODULES: dict[str, str] = {
    "openai-chat": "app.styles.openai_chat.codec",
    "openai-responses": "app.styles.openai_responses.codec",
    "anthropic-messages": "app.styles.anthropic.codec",
    "google-genai": "app.styles.google.codec",
}


@cache
def codec_for(style: Style) -> Codec:
    module = _MODULES.get(style)
    if module is None:
        raise LookupError(f"no codec for API style {style!r}")
    codec: Codec = importlib.import_module(module).CODEC
    return codec


@cache
def available_styles() -> tuple[str, ...]:
    """The styles whose codec module is present."""
    out = []
    for style, module in _MODULES.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        out.append(style)
    return tuple(out)
