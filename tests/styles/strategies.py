"""Hypothesis strategies for canonical requests and responses (shared by the codec tests)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from app.canonical import (
    ImagePart,
    Message,
    ReasoningPart,
    Request,
    Response,
    TextPart,
    ToolCallPart,
    ToolDef,
    ToolResultPart,
    Usage,
)

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)
names = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
ids = st.from_regex(r"call_[A-Za-z0-9]{4,12}", fullmatch=True)
json_args = st.dictionaries(names, st.one_of(st.integers(-5, 5), text, st.booleans()), max_size=3).map(
    lambda d: json.dumps(d, separators=(",", ":"))
)
usage = st.builds(
    lambda i, o, cr, r: Usage(
        input_tokens=i + cr, output_tokens=o + r, cache_read_tokens=cr, reasoning_tokens=r
    ),
    st.integers(0, 5000),
    st.integers(0, 5000),
    st.integers(0, 500),
    st.integers(0, 100),
)
schema = st.just({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]})
tools = st.lists(
    st.builds(ToolDef, name=names, description=st.one_of(st.none(), text), parameters=schema),
    max_size=3,
    unique_by=lambda t: t.name,
)


@st.composite
def conversations(draw: Any) -> tuple[list[TextPart], list[Message]]:
    """A valid conversation: user turns, assistant turns with optional tool calls, then results."""
    system = [TextPart(draw(text))] if draw(st.booleans()) else []
    messages: list[Message] = []
    for _ in range(draw(st.integers(1, 3))):
        user_parts: list[Any] = [TextPart(draw(text))]
        if draw(st.integers(0, 4)) == 0:
            user_parts.append(ImagePart(data="iVBORw0KGgo=", media_type="image/png"))
        messages.append(Message("user", user_parts))
        calls = [
            ToolCallPart(draw(ids) + str(k), draw(names), draw(json_args))
            for k in range(draw(st.integers(0, 2)))
        ]
        reply: list[Any] = [TextPart(draw(text))] if draw(st.booleans()) or not calls else []
        messages.append(Message("assistant", [*reply, *calls]))
        if calls:
            messages.append(
                Message("tool", [ToolResultPart(c.id, [TextPart(draw(text))], name=c.name) for c in calls])
            )
    if messages[-1].role == "assistant":
        messages.append(Message("user", [TextPart(draw(text))]))
    return system, messages


@st.composite
def requests(draw: Any, style: str = "openai-chat") -> Request:
    system, messages = draw(conversations())
    return Request(
        model=draw(names),
        messages=messages,
        style=style,  # type: ignore[arg-type]
        system=system,
        tools=draw(tools),
        max_tokens=draw(st.one_of(st.none(), st.integers(1, 4096))),
        temperature=draw(st.one_of(st.none(), st.floats(0, 2, allow_nan=False).map(lambda f: round(f, 2)))),
        stop=draw(st.lists(text, max_size=2)),
        stream=draw(st.booleans()),
    )


@st.composite
def responses(draw: Any, reasoning_origin: str | None = None) -> Response:
    parts: list[Any] = []
    if reasoning_origin is not None and draw(st.booleans()):
        parts.append(
            ReasoningPart(
                text=draw(text), signature=draw(st.one_of(st.none(), text)), origin=reasoning_origin
            )
        )  # type: ignore[arg-type]
    if draw(st.booleans()):
        parts.append(TextPart(draw(text)))
    calls = [
        ToolCallPart(draw(ids) + str(k), draw(names), draw(json_args)) for k in range(draw(st.integers(0, 2)))
    ]
    parts.extend(calls)
    if not parts:
        parts.append(TextPart(draw(text)))
    stop = "tool_use" if calls else draw(st.sampled_from(["end_turn", "max_tokens", "content_filter"]))
    return Response(
        id="resp-" + draw(names),
        model=draw(names),
        content=parts,
        stop_reason=stop,
        usage=draw(usage),
        created=1700000000,
    )
