"""Reading fields out of decoded wire JSON, with errors that name the exact path.

Request bodies arrive as plain ``dict``/``list`` (decoded by msgspec at the edge); codecs walk
them with these helpers so a malformed request is answered with e.g.
``messages[2].content: expected a string or a list, got number`` instead of a traceback.
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.errors import BadRequest, UpstreamProtocol

_JSON_TYPE = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def type_name(value: Any) -> str:
    return _JSON_TYPE.get(type(value), type(value).__name__)


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def fail(path: str, expected: str, value: Any) -> BadRequest:
    return BadRequest(f"{path}: expected {expected}, got {type_name(value)}")


def loose_object(value: Any) -> dict[str, Any]:
    """``value`` if it is an object, else an empty one (lenient reading of provider answers)."""
    return value if isinstance(value, dict) else {}


def as_object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail(path, "an object", value)
    return value


def as_list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise fail(path, "an array", value)
    return value


def req_str(obj: dict[str, Any], key: str, path: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        if value is None:
            raise BadRequest(f"{join(path, key)}: required string is missing")
        raise fail(join(path, key), "a string", value)
    return value


def opt_str(obj: dict[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise fail(join(path, key), "a string", value)


def opt_int(obj: dict[str, Any], key: str, path: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise fail(join(path, key), "an integer", value)
    return int(value)


def opt_float(obj: dict[str, Any], key: str, path: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(join(path, key), "a number", value)
    return float(value)


def opt_bool(obj: dict[str, Any], key: str, path: str) -> bool | None:
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise fail(join(path, key), "a boolean", value)


def opt_object(obj: dict[str, Any], key: str, path: str) -> dict[str, Any] | None:
    value = obj.get(key)
    if value is None:
        return None
    return as_object(value, join(path, key))


def opt_list(obj: dict[str, Any], key: str, path: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    return as_list(value, join(path, key))


def str_list(obj: dict[str, Any], key: str, path: str) -> list[str]:
    """A string or a list of strings (OpenAI ``stop`` accepts both)."""
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    items = as_list(value, join(path, key))
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise fail(f"{join(path, key)}[{i}]", "a string", item)
    return items


def split_data_url(url: str) -> tuple[str, str] | None:
    """``data:image/png;base64,AAAA`` -> (``image/png``, ``AAAA``); None for other URLs."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    return header[: -len(";base64")] or "application/octet-stream", data


def data_url(media_type: str | None, data: str) -> str:
    return f"data:{media_type or 'application/octet-stream'};base64,{data}"


def provider_object(body: bytes) -> dict[str, Any]:
    """A provider's answer body as a JSON object; anything else is an ``UpstreamProtocol`` error
    (the caller names the provider)."""
    try:
        obj = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise UpstreamProtocol(f"invalid JSON from upstream: {exc}", provider="") from None
    if not isinstance(obj, dict):
        raise UpstreamProtocol("upstream answer is not a JSON object", provider="")
    return obj
