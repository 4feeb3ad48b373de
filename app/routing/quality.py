"""Heuristic quality checks on a cheap model's answer: the cascade escalates when one fails.

Each check is a plain function ``(ask, response) -> bool`` (True = failed) with a short name that
goes into the cascade's outcome record. They are cheap (all together well under 5 ms for a 4 kB
answer; regexes compiled once) and explainable; none calls a model.

* ``empty`` — no text and no tool call.
* ``truncated`` — the answer stopped at the output limit.
* ``refusal`` — the model declined (stop reason, or a refusal opening).
* ``hedging`` — the answer is mostly "I'm not sure / I can't determine / need more information".
* ``too_short`` — a request to write, fix or explain code answered in a line without any code.
* ``repetition`` — a line or phrase repeated over and over (a generation loop).
* ``code_syntax`` — a fenced code block that does not parse (Python via ``ast``, JSON via a
  parser, other languages by bracket balance).
* ``arithmetic`` — a worked equation in the answer that does not compute (``3 x 60 = 160``).
* ``tool_args`` — a tool call whose arguments are not JSON, name no offered tool, or violate the
  tool's schema (required properties, basic types, enums).
* ``json_format`` — JSON was asked for (``response_format``) and the answer is not JSON, or
  misses the schema's required properties.

An agent turn that calls tools is judged on the calls (``tool_args``, ``truncated``), never on
its prose, which is often empty by design.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.canonical import Request, Response, TextPart, ToolCallPart, ToolDef

_REFUSAL_OPENINGS = re.compile(
    r"^\s*(?:i(?:'m| am) sorry,? but |sorry,? (?:but )?)?i (?:can(?:no|')t|cannot|am unable to|won't|"
    r"will not|am not able to) (?:help|assist|provide|do|comply|fulfil|complete|answer|write)"
    r"|^\s*as an ai(?: language model)?,? i (?:can(?:no|')t|cannot|don't)",
    re.IGNORECASE,
)
_HEDGES = re.compile(
    r"\b(?:i(?:'m| am) not (?:sure|certain)|i don't know|it(?:'s| is) (?:unclear|not clear)|"
    r"i can(?:no|')t (?:determine|tell|be sure)|without more (?:information|context|details)|"
    r"(?:need|require) more (?:information|context|details)|hard to say|difficult to determine|"
    r"i(?:'m| am) unable to determine)\b",
    re.IGNORECASE,
)
_CODE_VERB = re.compile(
    r"\b(?:write|implement|fix|refactor|rewrite|add|create|generate|debug|patch|explain|optimi[sz]e)\b",
    re.IGNORECASE,
)
_CODE_NOUN = re.compile(
    r"\b(?:code|function|class|method|script|program|bug|test|module|file|endpoint|api|query|regex|"
    r"snippet|algorithm)s?\b|\w+\.(?:py|js|ts|go|rs|java|rb|c|cpp|h|cs|kt|swift|php|sql)\b",
    re.IGNORECASE,
)
_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)```", re.DOTALL)
_NUMBER = r"\$?\d[\d,]*(?:\.\d+)?"
# a worked equation whose right side is a single number (not the start of another expression)
_EQUATION = re.compile(
    rf"(?<![\w.,/])({_NUMBER}(?:\s*[-+*/x×÷]\s*{_NUMBER})+)\s*=\s*({_NUMBER})"
    r"(?![\d,.]*\s*[-+*/x×÷%]\s*\$?\d)(?![\d,.%])"
)
_TOKEN = re.compile(rf"{_NUMBER}|[-+*/x×÷]")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Ask:
    """What the client asked, as the checks need it."""

    text: str  # the latest user text
    tools: dict[str, ToolDef]
    wants_json: bool
    json_schema: dict[str, Any] | None

    @classmethod
    def of(cls, req: Request) -> Ask:
        text = ""
        for m in reversed(req.messages):
            if m.role == "user":
                text = "\n".join(p.text for p in m.content if isinstance(p, TextPart))
                if text:
                    break
        fmt = req.response_format
        wants = fmt is not None and fmt.type in ("json_object", "json_schema")
        return cls(text, {t.name: t for t in req.tools}, wants, fmt.schema if fmt is not None else None)


Check = Callable[[Ask, Response], bool]


def _text(resp: Response) -> str:
    return resp.text()


def empty(ask: Ask, resp: Response) -> bool:
    return not resp.text().strip() and not resp.tool_calls()


def truncated(ask: Ask, resp: Response) -> bool:
    return resp.stop_reason == "max_tokens"


def refusal(ask: Ask, resp: Response) -> bool:
    if resp.stop_reason in ("refusal", "content_filter"):
        return True
    return bool(_REFUSAL_OPENINGS.search(resp.text()[:300]))


def hedging(ask: Ask, resp: Response) -> bool:
    text = resp.text()
    words = len(_WORD.findall(text))
    hedges = len(_HEDGES.findall(text))
    # a hedge in a long, substantive answer is normal; a short answer built on them is not
    return hedges >= 1 and (words < 60 or hedges * 40 > words)


def too_short(ask: Ask, resp: Response) -> bool:
    text = resp.text().strip()
    if "```" in text or ask.wants_json:
        return False
    code_ask = "```" in ask.text or (bool(_CODE_VERB.search(ask.text)) and bool(_CODE_NOUN.search(ask.text)))
    return code_ask and len(text) < 80


def repetition(ask: Ask, resp: Response) -> bool:
    text = resp.text()
    lines = [ln.strip() for ln in text.splitlines() if len(ln.strip()) > 8]
    if lines:
        top, n = Counter(lines).most_common(1)[0]
        if n >= 5 and n * 3 >= len(lines) and not top.startswith(("|", "-", "*", "#")):
            return True
    words = _WORD.findall(text.lower())
    if len(words) >= 60:
        grams = Counter(tuple(words[i : i + 6]) for i in range(len(words) - 5))
        _gram, count = grams.most_common(1)[0]
        if count >= 6 and count * 6 * 2 >= len(words):
            return True
    return False


def code_syntax(ask: Ask, resp: Response) -> bool:
    for tag, body in _FENCE.findall(resp.text()):
        lang = tag.lower()
        if lang in ("python", "py", "python3"):
            try:
                ast.parse(body)
            except SyntaxError:
                return True
        elif lang == "json":
            try:
                json.loads(body)
            except ValueError:
                return True
        elif lang in ("", "text", "txt", "console", "shell", "sh", "bash", "diff", "patch", "markdown", "md"):
            continue  # prose-like or partial by nature
        elif not _balanced(body):
            return True
    return False


def arithmetic(ask: Ask, resp: Response) -> bool:
    text = resp.text()
    for m in _EQUATION.finditer(text):
        expr, result = m.group(1), m.group(2)
        if text[max(0, m.start() - 3) : m.start()].rstrip()[-1:] in ("*", "/", "+", "-", "x", "^", "("):
            continue  # part of a longer expression with a variable (x * 4 + 8 = 40)
        value = _evaluate(expr)
        claimed = _number(result)
        if value is None or claimed is None:
            continue
        if abs(value - claimed) > max(0.011, 0.005 * abs(claimed)):
            return True
    return False


def tool_args(ask: Ask, resp: Response) -> bool:
    return any(not _call_ok(call, ask.tools) for call in resp.tool_calls())


def json_format(ask: Ask, resp: Response) -> bool:
    if not ask.wants_json or resp.tool_calls():
        return False
    text = _strip_fence(resp.text().strip())
    try:
        value = json.loads(text)
    except ValueError:
        return True
    return ask.json_schema is not None and not _matches(value, ask.json_schema)


PROSE_CHECKS: dict[str, Check] = {
    "empty": empty,
    "truncated": truncated,
    "refusal": refusal,
    "hedging": hedging,
    "too_short": too_short,
    "repetition": repetition,
    "code_syntax": code_syntax,
    "arithmetic": arithmetic,
    "json_format": json_format,
}
TOOL_CHECKS: dict[str, Check] = {"truncated": truncated, "tool_args": tool_args}


def failed_checks(req: Request, resp: Response, enabled: frozenset[str] | None = None) -> list[str]:
    """Names of the checks ``resp`` fails as an answer to ``req`` (empty: accept it)."""
    ask = Ask.of(req)
    checks = TOOL_CHECKS if resp.tool_calls() else PROSE_CHECKS
    active = checks if enabled is None else {n: c for n, c in checks.items() if n in enabled}
    return [name for name, check in active.items() if check(ask, resp)]


# ---------------------------------------------------------------------------- helpers


def _balanced(code: str) -> bool:
    """Brackets balance, ignoring string literals and line comments (C-like and shell-like)."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    i, n = 0, len(code)
    quote: str | None = None
    while i < n:
        c = code[i]
        if quote is not None:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif (c == "/" and code.startswith("//", i)) or (c == "#" and (i == 0 or code[i - 1] in " \t\n")):
            nl = code.find("\n", i)
            i = n if nl < 0 else nl
            continue
        elif c in "([{":
            stack.append(c)
        elif c in ")]}":
            if not stack or stack.pop() != pairs[c]:
                return False
        elif c == "\n":
            quote = None
        i += 1
    return not stack


def _number(text: str) -> float | None:
    try:
        return float(text.replace("$", "").replace(",", ""))
    except ValueError:
        return None


def _evaluate(expr: str) -> float | None:
    """``a op b op c`` with + - * / x × ÷ and the usual precedence; None if unreadable."""
    tokens = _TOKEN.findall(expr.replace(" ", ""))
    if not tokens:
        return None
    values: list[float] = []
    ops: list[str] = []
    expect_number = True
    for tok in tokens:
        if expect_number:
            v = _number(tok)
            if v is None:
                return None
            values.append(v)
        else:
            ops.append({"x": "*", "×": "*", "÷": "/"}.get(tok, tok))
        expect_number = not expect_number
    if len(values) != len(ops) + 1:
        return None
    # multiplication and division first
    terms = [values[0]]
    signs: list[str] = []
    for op, v in zip(ops, values[1:], strict=True):
        if op == "*":
            terms[-1] *= v
        elif op == "/":
            if v == 0:
                return None
            terms[-1] /= v
        else:
            signs.append(op)
            terms.append(v)
    total = terms[0]
    for op, v in zip(signs, terms[1:], strict=True):
        total = total + v if op == "+" else total - v
    return total


def _strip_fence(text: str) -> str:
    m = _FENCE.fullmatch(text)
    return m.group(2).strip() if m else text


def _call_ok(call: ToolCallPart, tools: dict[str, ToolDef]) -> bool:
    tool = tools.get(call.name)
    if tools and tool is None:
        return False
    if call.kind == "custom" or (tool is not None and tool.kind == "custom"):
        return True  # free-form input: nothing to validate
    if not call.arguments.strip():
        args: Any = {}
    else:
        try:
            args = json.loads(call.arguments)
        except ValueError:
            return False
    if not isinstance(args, dict):
        return False
    return tool is None or tool.parameters is None or _matches(args, tool.parameters)


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _matches(value: Any, schema: dict[str, Any], depth: int = 0) -> bool:
    """A small JSON Schema subset: type, required, properties, items, enum (nested 8 deep)."""
    if depth > 8 or not isinstance(schema, dict):
        return True
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else []
    if kinds:
        ok = False
        for k in kinds:
            types = _TYPES.get(k)
            is_bool_as_number = k in ("integer", "number") and isinstance(value, bool)
            if types is None or (isinstance(value, types) and not is_bool_as_number):
                ok = True
                break
        if not ok:
            return False
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        return False
    if isinstance(value, dict):
        required = schema.get("required")
        if isinstance(required, list) and any(r not in value for r in required):
            return False
        props = schema.get("properties")
        if isinstance(props, dict):
            for name, sub in props.items():
                if name in value and isinstance(sub, dict) and not _matches(value[name], sub, depth + 1):
                    return False
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return all(_matches(v, schema["items"], depth + 1) for v in value[:200])
    return True
