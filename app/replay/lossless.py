"""The lossless check: every distinct line the client sent still reaches the provider.

Dedup and boilerplate strip remove only *repeats*: the first copy of each line stays in the
request. So the set of non-blank lines of the request the stages produced must contain every
non-blank line of the request the client sent.
"""

from __future__ import annotations

from app.canonical import ReasoningPart, Request, TextPart, ToolCallPart, ToolResultPart


def lines_of(req: Request) -> set[str]:
    texts = [p.text for p in req.system]
    for m in req.messages:
        for p in m.content:
            if isinstance(p, TextPart | ReasoningPart):
                texts.append(p.text)
            elif isinstance(p, ToolCallPart):
                texts.append(p.arguments)
            elif isinstance(p, ToolResultPart):
                texts.extend(c.text for c in p.content if isinstance(c, TextPart))
    out: set[str] = set()
    for t in texts:
        out.update(line.rstrip() for line in t.splitlines() if line.strip())
    return out


def lost_lines(sent: Request, forwarded: Request) -> set[str]:
    """Lines of ``sent`` that ``forwarded`` no longer holds anywhere."""
    return lines_of(sent) - lines_of(forwarded)
