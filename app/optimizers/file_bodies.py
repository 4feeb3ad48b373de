"""Where file bodies sit inside message text, so dedup and the stale-output stage agree on them.

Three shapes are recognised, each with a body that can be replaced without touching the text
around it:

* ``<file path="...">body</file>`` (Cursor, Continue, aider-style context blocks);
* a fenced block whose info string names a path (```` ```python src/app.py ````);
* a line-numbered listing: at least ``min_lines`` consecutive lines numbered ``n, n+1, ...`` as
  ``cat -n`` (``   12\\ttext``), Claude Code's Read (``    12→text``) or SWE-agent's viewer
  (``12:text``) print them. Numbers must count up by one: a numbered list in prose rarely does
  for five lines, and then it is quoted verbatim anyway. The path comes from a
  ``[File: path ...]`` header just above, else from the caller's hint (the tool call's
  ``path``/``file_path`` argument).

Only listings are looked for in tool results; user text is searched for the explicit shapes
(tag, fenced with path) alone, so the user's own words are never taken for a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"<file\s+(?:path|name)=\"([^\"\n]{1,300})\"[^>\n]*>\n?(.*?)\n?</file>", re.DOTALL)
# ```lang path  or ```path — the info string must contain something path-like (a slash or a dot
# followed by an extension), so ```python alone is not taken for a file
_FENCE = re.compile(
    r"^(`{3,}|~{3,})[ \t]*(?:[\w+#.-]+[ \t]+)?((?:[\w.~-]*/)*[\w.-]+\.[\w]{1,10})"
    r"(?:[ \t][^\n]*)?\n(.*?)\n\1[ \t]*$",
    re.DOTALL | re.MULTILINE,
)
_NUMBERED = re.compile(r"^[ \t]*(\d{1,7})(?:\t|→|:)")
_HEADER = re.compile(r"\[File:\s*([^\s\]]{1,300})")


@dataclass(frozen=True, slots=True)
class FileBody:
    """``text[start:end]`` is the body of the file at ``path`` (``""`` when unknown)."""

    start: int
    end: int
    path: str
    first_line: int | None = None  # the first line number of a listing
    last_line: int | None = None

    def body_lines(self, text: str) -> int:
        return text.count("\n", self.start, self.end) + 1


def find_bodies(text: str, *, listings: bool, min_lines: int, hint_path: str = "") -> list[FileBody]:
    """The file bodies in ``text``, in order, never overlapping. A pure function of its
    arguments: dedup remembers its results (with their digests) per long text."""
    found: list[FileBody] = []
    for m in _TAG.finditer(text):
        found.append(FileBody(m.start(2), m.end(2), m.group(1)))
    for m in _FENCE.finditer(text):
        found.append(FileBody(m.start(3), m.end(3), m.group(2)))
    if listings:
        found.extend(_listings(text, min_lines, hint_path))
    found.sort(key=lambda b: (b.start, -b.end))
    out: list[FileBody] = []
    for b in found:
        if b.end - b.start == 0 or (out and b.start < out[-1].end):
            continue  # a listing inside a fenced block: the outer body is the unit
        if b.first_line is None and b.body_lines(text) < min_lines:
            continue
        out.append(b)
    return out


def _listings(text: str, min_lines: int, hint_path: str) -> list[FileBody]:
    out: list[FileBody] = []
    run_start = run_end = -1
    first = expected = 0
    pos = 0
    for line in text.splitlines(keepends=True):
        m = _NUMBERED.match(line)
        n = int(m.group(1)) if m else -1
        if m and run_start >= 0 and n == expected:
            run_end = pos + len(line.rstrip("\r\n"))
            expected += 1
        else:
            if run_start >= 0 and expected - first >= min_lines:
                out.append(_listing(text, run_start, run_end, first, expected - 1, hint_path))
            run_start = -1
            if m:
                run_start, run_end, first, expected = pos, pos + len(line.rstrip("\r\n")), n, n + 1
        pos += len(line)
    if run_start >= 0 and expected - first >= min_lines:
        out.append(_listing(text, run_start, run_end, first, expected - 1, hint_path))
    return out


def _listing(text: str, start: int, end: int, first: int, last: int, hint_path: str) -> FileBody:
    # SWE-agent prints "[File: path (N lines total)]" and maybe "(K more lines above)" first
    headers = list(_HEADER.finditer(text, max(0, start - 400), start))
    path = headers[-1].group(1) if headers else hint_path  # the nearest header above names it
    return FileBody(start, end, path, first, last)
