"""Stage 3, file dedup: a file body the request already holds earlier becomes a short reference.

Agents re-read the same file again and again (a 100-line window opened twice, a file read
before and after an unrelated step); each request resends the whole history, so each copy is
paid for on every later turn. A body identical (same path, same bytes) to one earlier in the
same request is replaced by ``[unchanged: path lines a-b, identical to the copy in message N
(sha256:...)]``; the first copy is never touched, so nothing is lost.

Prefix stability: what happens to message k depends on the system prompt and messages 0..k
alone (the bodies seen so far, walking forward), so turn N's optimized history comes out byte
for byte the same inside turn N+1. The stage keeps no state between requests: nothing crosses
projects or conversations.

Overlapping views: agents page through a file in windows (lines 1-100, then 50-150). A run of
at least ``min_lines`` numbered lines of a listing whose every line is exactly what the latest
earlier view of that path showed at that line number becomes ``[lines 50-100 of path unchanged,
as shown in message N]``. After an edit the changed lines differ from the latest view and stay;
so do shifted lines (their numbers moved), so a modified part is never replaced.

Where it looks (``file_bodies``): listings in tool results and user messages, tagged and fenced
file blocks anywhere but assistant turns. Assistant text, tool calls and reasoning are read as
earlier copies but never changed: they are the model's own words (and signed, for reasoning).
"""

from __future__ import annotations

import hashlib

import msgspec

from app.canonical import Message, Part, Request, Response, TextPart, ToolCallPart, ToolResultPart
from app.memo import TextMemo
from app.optimizers.file_bodies import FileBody, find_bodies
from app.optimizers.tool_paths import path_argument
from app.optimizers.walk_memo import Saved, WalkMemo
from app.pipeline import RequestContext

NAME = "dedup"


class FileDedup:
    """Replaces repeated file bodies by references to their first copy in the same request."""

    name = NAME

    def __init__(self, min_lines: int = 5) -> None:
        # a reference costs ~30 tokens: bodies shorter than a few lines are not worth one
        self._min_lines = min_lines
        self._memo: WalkMemo[_State] = WalkMemo()

    async def apply(self, req: Request, ctx: RequestContext) -> Request | Response:
        system = tuple(p.text for p in req.system)
        result = self._memo.walk(
            system,
            req.messages,
            lambda: _Walk.start(self._min_lines, system),
            lambda state: _Walk(self._min_lines, _copy(state)),
            ctx,
            NAME,
        )
        if result.messages is None:
            return req
        ctx.decide(NAME, f"{result.replaced} file bodies replaced")
        return msgspec.structs.replace(req, messages=result.messages)


# seen, views, paths after a message: what a resumed walk starts from
_State = tuple[dict[str, str], dict[str, dict[int, tuple[str, str]]], dict[str, str]]


def _copy(state: _State) -> _State:
    """A state a walk may change without changing the checkpoint's (line dicts are copied on
    first write, see ``_Walk._view``)."""
    return dict(state[0]), dict(state[1]), dict(state[2])


class _Walk:
    """The forward walk over one request: bodies seen so far and the paths tool calls named."""

    def __init__(self, min_lines: int, state: _State) -> None:
        self.min_lines = min_lines
        self.seen: dict[str, str] = state[0]  # digest -> where the first copy is
        # path -> line number -> (the numbered line as shown, where): the latest view of each line
        self.views: dict[str, dict[int, tuple[str, str]]] = state[1]
        self.paths: dict[str, str] = state[2]  # tool call id -> path argument
        # views whose line dict this walk made itself; the others may be in a snapshot too
        self._owned: set[str] = set()

    @classmethod
    def start(cls, min_lines: int, system: tuple[str, ...]) -> _Walk:
        walk = cls(min_lines, ({}, {}, {}))
        for text in system:
            walk.register(text, "the system prompt", listings=True)
        return walk

    def snapshot(self) -> _State:
        self._owned.clear()  # the line dicts are shared with the snapshot from now on
        return _copy((self.seen, self.views, self.paths))

    def register(self, text: str, where: str, *, listings: bool, hint: str = "") -> None:
        for b, key in _scan(text, listings, self.min_lines, hint):
            self.seen.setdefault(key, where)
            self._view(b, text, where)

    def _view(self, b: FileBody, text: str, where: str) -> None:
        if b.first_line is None or not b.path:
            return
        view = self.views.get(b.path)
        if view is None or b.path not in self._owned:
            view = self.views[b.path] = dict(view or {})
            self._owned.add(b.path)
        for n, line in enumerate(text[b.start : b.end].split("\n"), b.first_line):
            view[n] = (line, where)

    def _runs(self, b: FileBody, text: str) -> list[tuple[int, int, str]]:
        """(start, end, reference) for each run of lines the latest earlier views already show."""
        view = self.views.get(b.path)
        if b.first_line is None or not view:
            return []
        out: list[tuple[int, int, str]] = []
        run: list[tuple[int, int, str]] = []  # (line number, start offset, where) of the open run
        pos = b.start
        for n, line in enumerate(text[b.start : b.end].split("\n"), b.first_line):
            shown = view.get(n)
            if shown is not None and shown[0] == line:
                run.append((n, pos, shown[1]))
            else:
                out.extend(self._close(run, b.path, text, pos - 1))
                run = []
            pos += len(line) + 1
        out.extend(self._close(run, b.path, text, b.end))
        return out

    def _close(
        self, run: list[tuple[int, int, str]], path: str, text: str, end: int
    ) -> list[tuple[int, int, str]]:
        if len(run) < self.min_lines:
            return []
        first, start, where = run[0]
        ref = f"[lines {first}-{run[-1][0]} of {path} unchanged, as shown in {where}]"
        return [(start, end, ref)] if len(ref) < end - start else []

    def message(self, m: Message, i: int, saved: list[Saved]) -> Message:
        where = f"message {i}"
        if m.role in ("assistant", "system"):
            for p in m.content:
                if isinstance(p, TextPart):
                    self.register(p.text, where, listings=False)
                elif isinstance(p, ToolCallPart):
                    path = path_argument(p.arguments)
                    if path:
                        self.paths[p.id] = path
            return m
        parts: list[Part] | None = None
        for j, p in enumerate(m.content):
            new = self._part(p, where, saved)
            if new is not p and parts is None:
                parts = list(m.content[:j])
            if parts is not None:
                parts.append(new)
        return m if parts is None else msgspec.structs.replace(m, content=parts)

    def _part(self, p: Part, where: str, saved: list[Saved]) -> Part:
        if isinstance(p, TextPart):
            # user text: listings count too (text-mode agents put tool output in user turns),
            # but only a run of consecutively numbered lines, never prose
            return self._text(p, where, saved, listings=True)
        if isinstance(p, ToolResultPart) and "content" not in p.extra:
            # (native Anthropic blocks in ``extra`` replace ``content`` on the wire: leave those)
            hint = self.paths.get(p.tool_call_id, "")
            content = [
                self._text(c, where, saved, listings=True, hint=hint) if isinstance(c, TextPart) else c
                for c in p.content
            ]
            if any(a is not b for a, b in zip(content, p.content, strict=True)):
                return msgspec.structs.replace(p, content=content)
        return p

    def _text(
        self, p: TextPart, where: str, saved: list[Saved], *, listings: bool, hint: str = ""
    ) -> TextPart:
        text = p.text
        bodies = _scan(text, listings, self.min_lines, hint)
        if not bodies:
            return p
        cuts: list[tuple[int, int, str]] = []
        for b, key in bodies:
            earlier = self.seen.get(key)
            ref = _reference(b, earlier, key) if earlier is not None else ""
            if earlier is not None and len(ref) < b.end - b.start:
                cuts.append((b.start, b.end, ref))
            else:
                self.seen.setdefault(key, where)  # the first copy: kept, and what later copies point to
                cuts.extend(self._runs(b, text))
            self._view(b, text, where)  # registered after: a listing never refers to itself
        if not cuts:
            return p
        pieces: list[str] = []
        pos = 0
        for start, end, ref in cuts:
            pieces.append(text[pos:start])
            pieces.append(ref)
            pos = end
            saved.append((text[start:end], ref))
        pieces.append(text[pos:])
        return msgspec.structs.replace(p, text="".join(pieces))


# (file body, digest) per text: a pure function of the text and the settings, so a history resent
# turn after turn is hashed once (hashing was ~1 ms of a 50k-token request)
_SCANS: TextMemo[tuple[tuple[FileBody, str], ...]] = TextMemo()


def _scan(text: str, listings: bool, min_lines: int, hint: str) -> tuple[tuple[FileBody, str], ...]:
    if text.count("\n") < min_lines - 1 and len(text.splitlines()) < min_lines:
        return ()  # too few lines for any body: a tag or fence needs min_lines, so does a listing
    key = (listings, min_lines, hint)
    worth = _SCANS.worth(text)
    if worth:
        found = _SCANS.get(key, text)
        if found is not None:
            return found
    bodies = find_bodies(text, listings=listings, min_lines=min_lines, hint_path=hint)
    found = tuple((b, _digest(b, text)) for b in bodies)
    if worth:
        _SCANS.put(key, text, found)
    return found


def _digest(b: FileBody, text: str) -> str:
    h = hashlib.sha256(b.path.encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update(text[b.start : b.end].encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:12]


def _reference(b: FileBody, earlier: str, digest: str) -> str:
    lines = f" lines {b.first_line}-{b.last_line}" if b.first_line is not None else ""
    name = b.path or "file body"
    return f"[unchanged: {name}{lines}, identical to the copy in {earlier} (sha256:{digest})]"
