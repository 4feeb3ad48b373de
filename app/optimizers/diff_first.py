"""Diff-first (``ENFORCE_DIFF_FIRST``, off by default): ask the model to answer code changes as
unified diffs of the changed lines instead of whole files.

Output tokens cost 4-5x input tokens, and an agent that rewrites a 400-line file to change two
lines pays for 400. The instruction is one constant text appended after the client's own system
prompt, so it is byte for byte the same on every turn (the provider's prompt cache keeps
hitting). A request whose client already asks for diffs or edits through tools (agents that
call an edit tool never print whole files) is left alone.
"""

from __future__ import annotations

import msgspec

from app.canonical import Request, Response, TextPart
from app.pipeline import RequestContext

NAME = "diff_first"
INSTRUCTION = (
    "When you change existing code, reply with a unified diff (---/+++ headers, @@ hunks, a few "
    "lines of context) of only the lines that change, not the whole file. Print a whole file only "
    "when it is new or when asked to."
)


class DiffFirst:
    name = NAME

    async def apply(self, req: Request, ctx: RequestContext) -> Request | Response:
        if req.tools:
            return req  # an agent with edit tools already sends edits, not files
        if any("unified diff" in p.text for p in req.system):
            return req
        ctx.decide(NAME, "diff instruction added")
        return msgspec.structs.replace(req, system=[*req.system, TextPart(INSTRUCTION)])
