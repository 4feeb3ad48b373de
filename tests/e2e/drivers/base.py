"""What a client driver does: talk to the gateway through one official SDK, in one API style.

A driver opens a ``Session`` (one conversation kept in the SDK's own native form, exactly as a
real client would keep it — assistant turns appended as the SDK returned them, reasoning
artifacts included) and reduces each answer to an ``Outcome`` in neutral terms so the style
matrix can assert the same things for every client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Call:
    id: str
    name: str
    args: dict[str, Any]


@dataclass
class Outcome:
    text: str = ""
    calls: list[Call] = field(default_factory=list)
    stop: str = "end"  # end | tool | max_tokens | stop_sequence | other
    input_tokens: int = 0  # ALL prompt tokens, cache reads/writes included (convert the style's usage)
    output_tokens: int = 0  # all generated tokens, reasoning included
    cache_read: int = 0
    reasoning: str = ""  # visible reasoning text, "" when the answer shows none
    model: str = ""
    # how many separate pieces the answer text came in (Anthropic text blocks, Responses message
    # items): clients show only the last one as "the answer"; None where the style has no such split
    text_blocks: int | None = None


@dataclass
class ToolDecl:
    name: str
    description: str
    schema: dict[str, Any]


TOOLS = [
    ToolDecl(
        "get_weather",
        "Current weather for a city",
        {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    ),
    ToolDecl(
        "get_time",
        "Current time in a timezone",
        {
            "type": "object",
            "properties": {
                "timezone": {"type": "string"},
                "format": {"type": "string", "enum": ["12h", "24h"]},
            },
            "required": ["timezone"],
            "additionalProperties": False,
        },
    ),
]

# 1x1 red PNG
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


class Session(Protocol):
    def send_user(self, text: str, *, image_png_b64: str | None = None) -> Outcome:
        """Append a user turn, call the gateway, append the answer to the history."""
        ...

    def send_tool_results(self, results: dict[str, str]) -> Outcome:
        """Answer every call of the last Outcome (call id -> result text), call, append."""
        ...


class Driver(Protocol):
    style: str

    def session(
        self,
        model: str,
        *,
        stream: bool,
        system: str | None = None,
        tools: list[ToolDecl] | None = None,
        json_schema: dict[str, Any] | None = None,
        thinking: bool = False,
        stop: list[str] | None = None,
        max_tokens: int | None = None,
    ) -> Session: ...
