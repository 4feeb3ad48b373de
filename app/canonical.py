"""The canonical request/response model: the one shape every stage reads and writes.

Each API style (OpenAI Chat, OpenAI Responses, Anthropic Messages, Google GenAI) is a codec that
maps its wire JSON to and from these structs. Nothing outside ``app/styles`` sees a style's dict.

Conventions that every codec relies on:

* ``Usage.input_tokens`` counts *all* prompt tokens, cache reads and writes included (OpenAI and
  Gemini count this way; the Anthropic codec subtracts the cache figures when it encodes).
  ``Usage.output_tokens`` counts all generated tokens, reasoning included (the Gemini codec splits
  ``thoughtsTokenCount`` back out).
* Tool results live in messages of role ``tool`` (one message may carry several results); the
  codecs merge or split them as their provider requires.
* The leading system prompt is ``Request.system``; a system message later in the conversation stays
  in ``messages`` with role ``system`` and each codec places it as its style allows.
* Reasoning artifacts (Anthropic thinking signatures, Gemini thought signatures, OpenAI Responses
  ``encrypted_content``) are ``ReasoningPart.signature`` with ``origin`` naming the style that
  issued them. A signature is only ever sent back to a provider of its ``origin`` style; crossing
  into a client of another style it is wrapped by ``app.styles.artifacts`` so the client echoes it
  back untouched.
* A stream is a sequence of ``StreamEvent``: ``StreamStart``, then for each content part
  ``PartStart`` / deltas / ``PartStop`` (at most one part open at a time, indices counting up from
  0 in ``Response.content`` order), then ``Finish`` — or ``StreamError`` at any point.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import msgspec

Style: TypeAlias = Literal["openai-chat", "openai-responses", "anthropic-messages", "google-genai", "mock"]
STYLES: tuple[Style, ...] = (
    "openai-chat",
    "openai-responses",
    "anthropic-messages",
    "google-genai",
    "mock",
)

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]

StopReason: TypeAlias = Literal[
    "end_turn",  # natural end (OpenAI "stop", Gemini STOP)
    "max_tokens",  # output limit or context window reached
    "stop_sequence",  # a requested stop sequence matched
    "tool_use",  # the model asked for one or more tool calls
    "content_filter",  # blocked by the provider's safety system
    "refusal",  # the model declined (Anthropic "refusal", OpenAI message.refusal)
    "pause",  # Anthropic pause_turn: a long server-side turn to be continued
    "error",  # the provider reported a malformed generation (e.g. MALFORMED_FUNCTION_CALL)
]

Effort: TypeAlias = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]


class CacheControl(msgspec.Struct, omit_defaults=True):
    """A prompt-cache breakpoint (Anthropic ``cache_control``) placed on a part or tool."""

    type: str = "ephemeral"
    ttl: str | None = None
    # placed by the gateway's prompt-cache stage, not sent by the client: written only for
    # providers that take breakpoints (Anthropic), never passed on to an OpenAI-style server
    added: bool = False


# --------------------------------------------------------------------------- content parts


class TextPart(msgspec.Struct, tag="text", omit_defaults=True):
    text: str
    cache_control: CacheControl | None = None


class ImagePart(msgspec.Struct, tag="image", omit_defaults=True):
    """An image given inline (base64 ``data`` + ``media_type``), by ``url`` or by provider file id."""

    data: str | None = None
    url: str | None = None
    media_type: str | None = None
    file_id: str | None = None
    detail: str | None = None  # OpenAI's low/high/auto hint; other styles ignore it
    cache_control: CacheControl | None = None


class FilePart(msgspec.Struct, tag="file", omit_defaults=True):
    """A document (PDF, plain text, ...) given inline, by URL or by provider file id."""

    data: str | None = None
    url: str | None = None
    media_type: str | None = None
    file_id: str | None = None
    filename: str | None = None
    cache_control: CacheControl | None = None


class ToolCallPart(msgspec.Struct, tag="tool_call", omit_defaults=True):
    """A call the model asks the client to run.

    ``arguments`` is the JSON text exactly as the model produced it (``""`` means no arguments);
    for a ``custom`` (free-form, OpenAI Responses) tool it is the raw input text instead.
    ``item_id`` is the OpenAI Responses output item id (``fc_...``) when that style issued it.
    """

    id: str
    name: str
    arguments: str = ""
    kind: Literal["function", "custom"] = "function"
    item_id: str | None = None
    cache_control: CacheControl | None = None


class ToolResultPart(msgspec.Struct, tag="tool_result", omit_defaults=True):
    """The client's answer to a tool call, paired by ``tool_call_id``.

    ``name`` is the called tool's name where known (Gemini's functionResponse needs it; decoders
    of the other styles fill it by pairing with the earlier call).
    """

    tool_call_id: str
    content: list[TextPart | ImagePart | FilePart] = []
    name: str | None = None
    is_error: bool = False
    kind: Literal["function", "custom"] = "function"
    cache_control: CacheControl | None = None
    # the inbound style's own fields of this result (Anthropic ``toolset_name``; its original
    # ``content`` blocks when some have no canonical form, e.g. ``tool_reference``): written back
    # only for a provider of ``Request.style``, which then sends them instead of ``content``
    extra: dict[str, Any] = {}


class ReasoningPart(msgspec.Struct, tag="reasoning", omit_defaults=True):
    """The model's reasoning: visible text and/or an opaque signature that proves it.

    * Anthropic ``thinking`` -> text + signature; ``redacted_thinking`` -> ``redacted=True`` and
      the encrypted ``data`` in ``signature``.
    * Gemini ``thought: true`` parts -> text (+ ``thoughtSignature``); a ``thoughtSignature`` on a
      function-call or text part becomes a text-less ReasoningPart placed just before that part.
    * OpenAI Responses ``reasoning`` items -> summary text, ``encrypted_content`` as signature,
      the item id as ``item_id``.
    * OpenAI Chat ``reasoning_content`` (DeepSeek-style upstreams) -> text only.
    """

    text: str = ""
    signature: str | None = None
    origin: Style | None = None
    redacted: bool = False
    item_id: str | None = None


class OpaquePart(msgspec.Struct, tag="opaque", omit_defaults=True):
    """A block of a style's own that the canonical model does not represent (server tool use,
    web search results, MCP blocks, ...): kept for a provider of the same ``style``, dropped for
    every other style (documented per codec)."""

    style: Style
    data: dict[str, Any]


Part: TypeAlias = TextPart | ImagePart | FilePart | ToolCallPart | ToolResultPart | ReasoningPart | OpaquePart
ContentPart: TypeAlias = TextPart | ImagePart | FilePart


class Message(msgspec.Struct, omit_defaults=True, weakref=True):
    # weakref: codecs remember what they made of a message for as long as it lives (app.memo)
    role: Role
    content: list[Part]
    name: str | None = None
    # the inbound style's own fields of this message (Anthropic system-message ``output_config``,
    # ``clear_at``): written back only for a provider of ``Request.style``
    extra: dict[str, Any] = {}


# --------------------------------------------------------------------------- request


class ToolDef(msgspec.Struct, omit_defaults=True):
    """A tool the model may call. ``parameters`` is a JSON Schema object (``None``: no input).

    A ``custom`` tool (OpenAI Responses free-form tool) takes raw text; ``format`` keeps its
    grammar/format description. Provider built-in tools (web search, code execution, ...) are
    ``OpaqueTool`` instead.
    """

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    kind: Literal["function", "custom"] = "function"
    strict: bool | None = None
    format: dict[str, Any] | None = None
    cache_control: CacheControl | None = None
    # the inbound style's own fields of this tool (Anthropic ``defer_loading``, ``input_examples``,
    # ``allowed_callers``, ``eager_input_streaming``): written back only for a provider of
    # ``Request.style``
    extra: dict[str, Any] = {}


class OpaqueTool(msgspec.Struct, omit_defaults=True):
    """A provider's built-in tool definition, passed only to a provider of the same style.
    ``index``: its place in the client's tool list, where that provider gets it back."""

    style: Style
    data: dict[str, Any]
    index: int | None = None


def place_opaque_tools(
    out: list[dict[str, Any]], opaque: list[OpaqueTool], style: Style
) -> list[dict[str, Any]]:
    """``out`` (the encoded function tools, in order) with ``style``'s opaque tools put back
    where the client listed them: a server tool sent first stays first."""
    for t in opaque:  # decoded in the client's order, so every earlier entry is already placed
        if t.style == style:
            out.insert(len(out) if t.index is None else min(t.index, len(out)), t.data)
    return out


class ToolChoice(msgspec.Struct, omit_defaults=True):
    """``auto``: the model decides; ``none``: no calls; ``required``: at least one call;
    ``tool``: must call ``name``. ``allowed`` restricts the callable tools (OpenAI allowed_tools,
    Gemini allowedFunctionNames)."""

    mode: Literal["auto", "none", "required", "tool"] = "auto"
    name: str | None = None
    allowed: list[str] | None = None


class ResponseFormat(msgspec.Struct, omit_defaults=True):
    type: Literal["text", "json_object", "json_schema"] = "text"
    schema: dict[str, Any] | None = None
    name: str | None = None
    strict: bool | None = None
    description: str | None = None


class ReasoningConfig(msgspec.Struct, omit_defaults=True):
    """What the client asked of the model's thinking.

    ``mode``: ``enabled`` (a budget), ``adaptive`` (the model decides), ``disabled``.
    ``effort`` and ``budget_tokens`` are kept as given; each codec converts to what its style
    takes (Anthropic budget_tokens / output_config.effort, Gemini thinkingBudget / thinkingLevel,
    OpenAI reasoning_effort). ``summary`` / ``include_thoughts``: whether thinking text should be
    returned (Responses reasoning.summary, Gemini includeThoughts, Anthropic display).
    """

    mode: Literal["enabled", "adaptive", "disabled"] | None = None
    effort: Effort | None = None
    budget_tokens: int | None = None
    summary: str | None = None
    include_thoughts: bool | None = None


class Request(msgspec.Struct, omit_defaults=True):
    """A model call in canonical form.

    ``extra`` holds the inbound style's top-level fields that have no canonical meaning
    (``context_management``, ``client_metadata``, ``store``, ``safetySettings``...); they are
    written back only when the request is encoded for a provider of the same ``style``.
    """

    model: str
    messages: list[Message]
    style: Style
    system: list[TextPart] = []
    tools: list[ToolDef] = []
    opaque_tools: list[OpaqueTool] = []
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    stream: bool = False
    stream_usage: bool = False  # OpenAI stream_options.include_usage
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] = []
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_format: ResponseFormat | None = None
    reasoning: ReasoningConfig | None = None
    user: str | None = None  # end-user id (OpenAI user/safety_identifier, Anthropic metadata.user_id)
    prompt_cache_key: str | None = None  # OpenAI prompt-cache routing hint
    extra: dict[str, Any] = {}


# --------------------------------------------------------------------------- response


class Usage(msgspec.Struct, omit_defaults=True):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def plus(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
        )


class Response(msgspec.Struct, omit_defaults=True):
    id: str
    model: str
    content: list[Part]
    stop_reason: StopReason = "end_turn"
    stop_sequence: str | None = None
    usage: Usage = msgspec.field(default_factory=Usage)
    created: int = 0  # unix seconds

    def text(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    def tool_calls(self) -> list[ToolCallPart]:
        return [p for p in self.content if isinstance(p, ToolCallPart)]


# --------------------------------------------------------------------------- stream events


class StreamStart(msgspec.Struct, tag="start", omit_defaults=True):
    id: str
    model: str
    created: int = 0
    usage: Usage | None = None  # prompt usage when the provider reports it up front


class PartStart(msgspec.Struct, tag="part_start", omit_defaults=True):
    """A new content part at ``index``; text/arguments arrive in deltas (``part`` carries the
    identity: tool call id and name, reasoning origin and item id)."""

    index: int
    part: Part


class TextDelta(msgspec.Struct, tag="text_delta"):
    index: int
    text: str


class ReasoningDelta(msgspec.Struct, tag="reasoning_delta"):
    index: int
    text: str


class SignatureDelta(msgspec.Struct, tag="signature_delta"):
    """The signature of the open reasoning part (it arrives whole, usually just before stop)."""

    index: int
    signature: str


class ToolArgsDelta(msgspec.Struct, tag="args_delta"):
    index: int
    arguments: str


class PartStop(msgspec.Struct, tag="part_stop"):
    index: int


class Finish(msgspec.Struct, tag="finish", omit_defaults=True):
    stop_reason: StopReason = "end_turn"
    stop_sequence: str | None = None
    usage: Usage = msgspec.field(default_factory=Usage)


class StreamError(msgspec.Struct, tag="error", omit_defaults=True):
    """The stream broke after it started (no fallback is possible any more)."""

    status: int
    message: str
    kind: str = "api_error"


StreamEvent: TypeAlias = (
    StreamStart
    | PartStart
    | TextDelta
    | ReasoningDelta
    | SignatureDelta
    | ToolArgsDelta
    | PartStop
    | Finish
    | StreamError
)


def part_chars(p: Part) -> int:
    """Characters of what a part says (text, tool arguments, tool-result text): a cheap size for
    decisions that must not run a tokenizer."""
    if isinstance(p, TextPart):
        return len(p.text)
    if isinstance(p, ToolCallPart):
        return len(p.arguments)
    if isinstance(p, ToolResultPart):
        return sum(len(c.text) for c in p.content if isinstance(c, TextPart))
    return 0
