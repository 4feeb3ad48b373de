"""What makes a request hard: fast, explainable features of a canonical Request.

Both routers read the same vector: the heuristic weighs it by hand, the learned router by a
model fitted on labelled prompts. The features describe *how hard* an ask looks (length, code,
files, numbers, multi-part or negated questions, the kind of ask, where an agent loop stands),
never *where it comes from*: the routing dev set showed bag-of-words models learning "domain X is
hard" and then ranking new domains below random (the routing data README).

Speed (the router runs on every ``auto`` request): whole-text work is ``len`` and ``str.count``
(C loops, ~20 µs for 200 kB); regexes run only over a bounded window of the latest user text (its
head and tail), so a 50k-token conversation costs about what a 4k-token one does.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

from app.canonical import Message, Request, TextPart, ToolCallPart, ToolResultPart, part_chars

# regexes see at most this many characters of the latest user text: its head (where the ask
# usually is) and its tail (where an agent's latest instruction usually is)
WINDOW_HEAD = 3000
WINDOW_TAIL = 1000

FEATURES: tuple[str, ...] = (
    "prompt_chars",  # log1p(characters of the latest user text)
    "history_chars",  # log1p(characters before it: earlier turns, tool output, system prompt)
    "turns",  # log1p(earlier user turns)
    "tools_offered",  # log1p(tools the client offers)
    "agent_loop",  # 1 when the request continues an agent loop (it ends on a tool result)
    "loop_steps",  # log1p(tool calls already made in this conversation)
    "code_blocks",  # log1p(fenced code blocks in the latest text)
    "code_lines",  # share of the window's lines that look like code
    "files",  # log1p(distinct file paths named in the window)
    "ask_explain",  # kinds of ask, 0/1 each (first match in the window)
    "ask_quick_fix",
    "ask_refactor",
    "ask_design",
    "ask_debug",
    "numbers",  # log1p(numbers in the window): quantities to keep track of
    "distinct_numbers",  # log1p(distinct numbers)
    "math_ops",  # log1p(arithmetic/formula symbols between operands)
    "questions",  # log1p(question marks)
    "sentences",  # log1p(sentences)
    "word_len",  # mean word length (letters)
    "long_words",  # share of words of 10+ letters: technical vocabulary
    "negation",  # the ask is negated/exceptional ("which is NOT", "EXCEPT", "least likely")
    "multi_part",  # log1p(enumerated claims to judge: "I.", "II.", "Statement 1", ...)
    "reasoning",  # log1p(asks to compute, prove, derive, estimate, compare ...)
    "constraints",  # log1p(constraint words: at least, at most, only, exactly, each, remaining)
    "choice_chars",  # log1p(mean length of offered answer options), 0 when none
)

_CODE_FENCE = "```"
# every pattern that looks at lines starts with a literal newline (the text gets one prepended):
# CPython's ``re`` then jumps from newline to newline instead of trying each position (2x faster
# than ``^`` with MULTILINE)
_CODE_LINE = re.compile(
    r"\n(?:[ \t]{2,}\S|[ \t]*(?:def|class|import|from|return|if|for|while|function|const|let|var|"
    r"public|private|func|fn|#include|SELECT|INSERT)\b|[^\n]*[;{}][ \t]*(?=\n)|[ \t]*[})\]][ \t]*(?=\n))"
)
# starts with a literal ".", so the engine skips to each dot instead of trying every position;
# the path before the dot is read by hand (``_files``)
_FILE_EXT = re.compile(
    r"\.(?:py|pyi|js|jsx|ts|tsx|go|rs|java|kt|rb|c|cc|cpp|h|hpp|cs|swift|php|sql|sh|yaml|yml|"
    r"toml|json|md|html|css|scss|vue|svelte|ipynb|cfg|ini|gradle|tf)\b"
)
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_CHOICE = re.compile(r"\n[ \t]*\(?[A-H][.)][ \t]+([^\n]*)")
# words and numbers come from str.translate + split (C loops): 5x faster than a findall
_ASCII = [chr(i) for i in range(128)]
_ONLY_LETTERS = str.maketrans({c: " " for c in _ASCII if not c.isalpha()})
_ONLY_NUMBERS = str.maketrans({c: " " for c in _ASCII if not (c.isdigit() or c in ".,")})
_PATH_EDGE = "\"'`([<{:="


class _Lexicon:
    """Words (counted once per request with a C ``Counter``) and phrases (``str.count``) that
    mark one kind of ask. Word lists beat a regex alternation here: case-insensitive ``\\b``
    alternations cost ~20 µs per 500 characters each in CPython's ``re``."""

    __slots__ = ("phrases", "words")

    def __init__(self, words: str, phrases: tuple[str, ...] = ()) -> None:
        self.words = frozenset(words.split())
        self.phrases = phrases

    def hits(self, counts: dict[str, int], low: str) -> int:
        get = counts.get
        return sum(get(w, 0) for w in self.words) + sum(low.count(p) for p in self.phrases)


_EXPLAIN = _Lexicon(
    "explain explanation describe", ("what is ", "what are ", "what does ", "how does ", "why does ")
)
_QUICK_FIX = _Lexicon(
    "rename typo typos docstring docstrings lint",
    (
        "one-liner",
        "quick fix",
        "small change",
        "add a comment",
        "type hint",
        "fix the import",
        "fix the indentation",
        "format this",
    ),
)
_REFACTOR = _Lexicon(
    "refactor refactoring restructure restructuring reorganize reorganise cleanup migrate migration decouple",
    ("clean up",),
)
_DESIGN = _Lexicon(
    "architecture architect architectural design designing tradeoff tradeoffs scalability scalable "
    "strategy microservices",
    ("trade-off", "system for", "approach to", "best way to structure"),
)
_DEBUG = _Lexicon(
    "debug debugging traceback stacktrace exception segfault crash crashes crashing deadlock leak "
    "error errors fails failing bug",
    ("doesn't work", "does not work", "stack trace", "race condition"),
)
_REASONING = _Lexicon(
    "calculate calculated calculating compute computed prove derive estimate solve determine compare "
    "implement",
    ("how many", "how much", "how long", "how far", "probability"),
)
_CONSTRAINT = _Lexicon(
    "least most only exactly each every remaining respectively without unless must per twice half percent",
    ("%",),
)
_ASKS = (_EXPLAIN, _QUICK_FIX, _REFACTOR, _DESIGN, _DEBUG)
# case matters: exam-style negation is written in capitals ("Which is NOT ...")
_NEGATION_UPPER = (" NOT ", "EXCEPT", "LEAST", " FALSE", "INCORRECT")
_NEGATION_LOWER = ("least likely", "not true", "is false", "incorrect", "cannot be")
_MULTI_PART = ("\nI. ", "\nII. ", "\nIII. ", "\nIV. ", "statement 1", "statement 2", "\n(i)", "\n(ii)")
_MATH = ("=", "+", "^", "×", "÷", "√", "∑", "∫", "\\frac", "\\sqrt")


@dataclass(frozen=True, slots=True)
class Conversation:
    """The parts of a request the features read: the latest user text and the history's size."""

    latest: str
    history_chars: int
    turns: int
    tools_offered: int
    agent_loop: bool
    loop_steps: int

    @classmethod
    def of(cls, req: Request) -> Conversation:
        latest_at = _latest_user(req.messages)
        latest = _text(req.messages[latest_at]) if latest_at >= 0 else ""
        history = sum(len(p.text) for p in req.system)
        turns = steps = 0
        for i, m in enumerate(req.messages):
            if m.role == "user" and i != latest_at:
                turns += 1
            for p in m.content:
                if isinstance(p, ToolCallPart):
                    steps += 1
            if i != latest_at:
                history += _chars(m)
        last = req.messages[-1] if req.messages else None
        loop = last is not None and any(isinstance(p, ToolResultPart) for p in last.content)
        return cls(latest, history, turns, len(req.tools) + len(req.opaque_tools), loop, steps)

    @classmethod
    def of_prompt(cls, prompt: str) -> Conversation:
        """A single-turn ask (a labelled dataset's prompt)."""
        return cls(prompt, 0, 0, 0, False, 0)


def _latest_user(messages: Sequence[Message]) -> int:
    """Index of the last user message with text (-1: none). Tool results count as history."""
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if m.role == "user" and any(isinstance(p, TextPart) for p in m.content):
            return i
    return -1


def _text(m: Message) -> str:
    return "\n".join(p.text for p in m.content if isinstance(p, TextPart))


def _chars(m: Message) -> int:
    return sum(part_chars(p) for p in m.content)


def window(text: str) -> str:
    """The part of ``text`` the regexes read: all of it when short, else its head and tail."""
    if len(text) <= WINDOW_HEAD + WINDOW_TAIL:
        return text
    return text[:WINDOW_HEAD] + "\n" + text[-WINDOW_TAIL:]


def _files(win: str) -> int:
    """Distinct file paths named in ``win`` (``src/app/main.py``, ``README.md``)."""
    names = set()
    # the first 32 mentions are enough to tell one file from many, and bound the Python loop
    for m in islice(_FILE_EXT.finditer(win), 32):
        before = win[max(0, m.start() - 80) : m.start()].rsplit(None, 1)
        stem = before[-1].lstrip(_PATH_EDGE).rsplit(_PATH_EDGE[0], 1)[-1] if before else ""
        if stem and not stem.endswith((".", "/")) and not win[m.start() - 1].isspace():
            names.add(stem + m.group())
    return len(names)


def _numbers(win: str) -> list[str]:
    out = []
    for raw in win.translate(_ONLY_NUMBERS).split():
        token = raw.strip(".,")
        if token[:1].isdigit():
            out.append(token)
    return out


def extract(conv: Conversation) -> list[float]:
    """The feature vector, in ``FEATURES`` order."""
    text = conv.latest
    win = window(text)
    low = win.lower()
    lines = win.count("\n") + 1
    words = low.translate(_ONLY_LETTERS).split()
    counts: dict[str, int] = Counter(words)
    n_words = len(words) or 1
    # over distinct words: code repeats its identifiers, so this loop is short
    letters = long_words = 0
    for w, c in counts.items():
        letters += len(w) * c
        if len(w) >= 10:
            long_words += c
    numbers = _numbers(win)
    lined = "\n" + win + "\n"
    choices = _CHOICE.findall(lined)
    negated = any(p in win for p in _NEGATION_UPPER) or any(p in low for p in _NEGATION_LOWER)
    log = math.log1p
    return [
        log(len(text)),
        log(conv.history_chars),
        log(conv.turns),
        log(conv.tools_offered),
        1.0 if conv.agent_loop else 0.0,
        log(conv.loop_steps),
        log(text.count(_CODE_FENCE) // 2),
        len(_CODE_LINE.findall(lined)) / lines,
        log(_files(win)),
        *(1.0 if ask.hits(counts, low) else 0.0 for ask in _ASKS),
        log(len(numbers)),
        log(len(set(numbers))),
        log(sum(win.count(op) for op in _MATH)),
        log(win.count("?")),
        log(len(_SENTENCE_END.findall(win))),
        letters / n_words,
        long_words / n_words,
        1.0 if negated else 0.0,
        log(sum(low.count(p.lower()) for p in _MULTI_PART)),
        log(_REASONING.hits(counts, low)),
        log(_CONSTRAINT.hits(counts, low)),
        log(sum(map(len, choices)) / len(choices)) if choices else 0.0,
    ]


def of_request(req: Request) -> list[float]:
    return extract(Conversation.of(req))


def of_prompt(prompt: str) -> list[float]:
    return extract(Conversation.of_prompt(prompt))


def describe(name: str, value: float) -> str:
    """A few words a person reads in a log or the admin page for one feature's value."""
    count = round(math.expm1(value))
    match name:
        case "prompt_chars":
            return f"prompt ~{round(math.expm1(value) / 4)} tokens"
        case "history_chars":
            return f"history ~{round(math.expm1(value) / 4)} tokens"
        case "turns":
            return f"{count} earlier turns"
        case "tools_offered":
            return f"{count} tools offered"
        case "agent_loop":
            return "continues an agent loop" if value else "fresh ask (no pending tool result)"
        case "loop_steps":
            return f"{count} tool calls so far"
        case "code_blocks":
            return f"{count} code blocks"
        case "code_lines":
            return f"{value:.0%} code lines"
        case "files":
            return f"{count} files named"
        case "word_len" | "long_words":
            return f"{name.replace('_', ' ')} {value:.2f}"
        case "choice_chars":
            return f"answer options ~{count} chars"
        case _ if name.startswith("ask_"):
            kind = name[4:].replace("_", " ")
            return f"{kind} ask" if value else f"not a {kind} ask"
        case "negation":
            return "negated question" if value else "plain question"
        case _:
            return f"{count} {name.replace('_', ' ')}"
