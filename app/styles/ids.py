"""Ids the gateway makes for clients: unique per answer, whatever the provider sends.

A provider may send no id (Gemini function calls, some OpenAI-compatible servers) or repeat one
(a proxy, a cache, a fake that answers every turn with the same ``responseId``). Ids derived from
the provider's alone then repeat across the turns of a conversation, and a client that keys its
history by id — Claude Code did — sees a new tool call as an old one and re-sends the
conversation in a loop (1,375 upstream calls in 180 s once). So every id the gateway invents for
an answer carries a nonce of that answer: 12 hex characters, random per process, then a counter.

Ids a provider issued in the client's own style (``msg_…`` from Anthropic, ``resp_…`` from the
Responses API, a Chat provider's ``call_…``) pass unchanged: they are the provider's to keep unique.
"""

from __future__ import annotations

import itertools
import secrets

_PROCESS = secrets.token_hex(3)  # 6 hex: workers and restarts never share a prefix
_counter = itertools.count(1)


def nonce() -> str:
    """A string no other answer of any gateway process gets (12 hex characters)."""
    return f"{_PROCESS}{next(_counter) % 0xFFFFFF:06x}"


def call_id(answer_nonce: str, k: int) -> str:
    """The id of the ``k``-th tool call of an answer whose provider gave it none."""
    return f"call_{answer_nonce}_{k}"


def derived(prefix: str, upstream: str, answer_nonce: str) -> str:
    """A client-style id (``msg_``, ``resp_``) for an answer whose provider id is of another style
    (or missing): the upstream id stays readable, the nonce makes it unique."""
    base = "".join(c if c.isalnum() or c in "-_" else "_" for c in upstream)[:48]
    return f"{prefix}{base}_{answer_nonce}" if base else f"{prefix}{answer_nonce}"
