"""Agent-aware scenarios: the kinds of request coding agents send that users route on their own
(what Claude Code Router users configure), recognised for every client style.

* ``long_context`` — the conversation is longer than ``long_context_tokens`` (estimated at four
  characters a token: a decision that must cost microseconds, not a tokenizer run).
* ``background`` — the client's small background calls: Claude Code's haiku-class requests
  (titles, summaries, "is this a new topic?"), Codex's and OpenCode's title and summary calls,
  Gemini CLI's flash-lite checks. Recognised by the model the client named (a small-model
  family) or by a short, tool-less request whose instructions ask for a title, a summary or a
  topic check.
* ``thinking`` — extended thinking or reasoning effort asked for, or a plan mode active.
* ``web_search`` — a web search tool offered (Anthropic ``web_search_*``, OpenAI ``web_search``,
  Gemini ``googleSearch``).

Checked in that order; the first that fires and has a target in config wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.canonical import Request, TextPart, part_chars

SCENARIOS = ("long_context", "background", "thinking", "web_search")

_SMALL_MODEL = re.compile(r"haiku|flash-lite|-nano\b|(?:^|[-/])mini(?:$|-)|gpt-\d(?:\.\d)?-mini|small", re.I)
_BACKGROUND_ASK = re.compile(
    r"\b(?:generate|write|create|suggest)\s+(?:a\s+)?(?:short\s+|concise\s+|brief\s+)?(?:\d+-\d+\s+word\s+)?"
    r"title\b|\btitle for (?:this|the) conversation\b|\bnew conversation topic\b|\bisNewTopic\b|"
    r"\bsummari[sz]e (?:this|the) (?:conversation|session)\b|\bconversation summary\b",
    re.I,
)
_PLAN_MODE = re.compile(r"\bplan mode is (?:active|on|enabled)\b", re.I)
_WEB_SEARCH = ("web_search", "websearch", "googlesearch", "google_search")
_BACKGROUND_MAX_CHARS = 20_000  # a title or topic call is short; a long one is real work


@dataclass(frozen=True, slots=True)
class ScenarioRules:
    long_context_tokens: int = 60_000


def _system_text(req: Request) -> str:
    parts = [p.text for p in req.system]
    for m in req.messages:
        if m.role == "system":
            parts.extend(p.text for p in m.content if isinstance(p, TextPart))
    return "\n".join(parts)


def _chars(req: Request) -> int:
    return sum(len(p.text) for p in req.system) + sum(part_chars(p) for m in req.messages for p in m.content)


def _last_user_text(req: Request) -> str:
    for m in reversed(req.messages):
        if m.role == "user":
            return " ".join(p.text for p in m.content if isinstance(p, TextPart))
    return ""


def detect(req: Request, requested_model: str, rules: ScenarioRules) -> list[str]:
    """Every scenario the request matches, in priority order."""
    found: list[str] = []
    chars = _chars(req)
    if chars // 4 > rules.long_context_tokens:
        found.append("long_context")
    if _is_background(req, requested_model, chars):
        found.append("background")
    if _is_thinking(req):
        found.append("thinking")
    if _offers_web_search(req):
        found.append("web_search")
    return found


def _is_background(req: Request, model: str, chars: int) -> bool:
    if chars > _BACKGROUND_MAX_CHARS:
        return False
    if _SMALL_MODEL.search(model):
        return True
    if req.tools or req.opaque_tools:
        return False
    head = _system_text(req)[:4000] + "\n" + _last_user_text(req)[-2000:]
    return bool(_BACKGROUND_ASK.search(head))


def _is_thinking(req: Request) -> bool:
    r = req.reasoning
    if r is not None and (r.mode in ("enabled", "adaptive") or r.effort in ("high", "xhigh", "max")):
        return True
    return bool(_PLAN_MODE.search(_system_text(req)[-20_000:] + _last_user_text(req)[-4000:]))


def _offers_web_search(req: Request) -> bool:
    names = [t.name.lower() for t in req.tools]
    for t in req.opaque_tools:
        kind = t.data.get("type") or t.data.get("name") or next(iter(t.data), "")
        names.append(str(kind).lower())
    return any(any(w in n.replace("-", "_") for w in _WEB_SEARCH) for n in names)
