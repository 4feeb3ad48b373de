"""Which file a tool call was about, read from its JSON arguments (``path``, ``file_path``, ...).

Read-file tools name their file in an argument; the file body in the tool's result then belongs
to that path even when the result itself carries no header.
"""

from __future__ import annotations

import msgspec

from app.canonical import Message, ToolCallPart

_PATH_KEYS = ("file_path", "path", "filename", "file", "target_file", "absolute_path")
_decoder = msgspec.json.Decoder()


def call_paths(messages: list[Message], upto: int) -> dict[str, str]:
    """tool call id -> the path its arguments name, for the calls in ``messages[:upto]``."""
    out: dict[str, str] = {}
    for m in messages[:upto]:
        if m.role != "assistant":
            continue
        for p in m.content:
            if isinstance(p, ToolCallPart):
                path = path_argument(p.arguments)
                if path:
                    out[p.id] = path
    return out


def path_argument(arguments: str) -> str:
    if not arguments.lstrip().startswith("{"):
        return ""
    try:
        obj = _decoder.decode(arguments)
    except msgspec.DecodeError:
        return ""
    if not isinstance(obj, dict):
        return ""
    for key in _PATH_KEYS:
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return ""
