"""OpenAI Responses requests: canonical ``Request`` -> wire JSON (provider side)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.canonical import (
    CacheControl,
    FilePart,
    ImagePart,
    OpaquePart,
    Part,
    ReasoningPart,
    Request,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from app.errors import BadRequest
from app.styles import conversions
from app.styles.json_fields import (
    data_url,
)
from app.styles.openai_responses import tool_search
from app.styles.openai_responses.fields import (
    STYLE,
    namespaced_names,
    text_format_to_wire,
    tool_choice_to_wire,
    tools_to_wire,
)


def request_to_wire(req: Request, model: str) -> dict[str, Any]:
    same = req.style == STYLE
    out: dict[str, Any] = {"model": model}
    if same:
        out.update(req.extra)
    if req.system:
        out["instructions"] = "\n\n".join(p.text for p in req.system)
    out["input"] = _InputWriter(req, same).write()
    tools = tools_to_wire(req)
    if tools:
        out["tools"] = tools
        if req.tool_choice is not None and "tool_choice" not in out:
            out["tool_choice"] = tool_choice_to_wire(req.tool_choice, req)
        if req.parallel_tool_calls is not None:
            out["parallel_tool_calls"] = req.parallel_tool_calls
    else:
        out.pop("tool_choice", None)
    if req.stream:
        out["stream"] = True
    for key, value in (
        ("max_output_tokens", req.max_tokens),
        ("temperature", req.temperature),
        ("top_p", req.top_p),
        ("prompt_cache_key", req.prompt_cache_key),
        ("user", req.user),
    ):
        if value is not None:
            out[key] = value
    text = dict(out.pop("text", None) or {}) if same else {}
    if req.response_format is not None and (req.response_format.type != "text" or same):
        text["format"] = text_format_to_wire(req.response_format)
    if text:
        out["text"] = text
    reasoning = _reasoning_to_wire(req, same, out.pop("reasoning", None))
    if reasoning:
        out["reasoning"] = reasoning
    if not same:
        # the gateway replays history itself: nothing needs storing at OpenAI, and reasoning
        # comes back as encrypted_content to be sent with the next turn
        out["store"] = False
        if "effort" in reasoning or "summary" in reasoning:
            out["include"] = ["reasoning.encrypted_content"]
    return out


def _reasoning_to_wire(req: Request, same: bool, rest: Any) -> dict[str, Any]:
    cfg = req.reasoning
    out: dict[str, Any] = dict(rest) if same and isinstance(rest, dict) else {}
    if cfg is None:
        return out
    if same:
        if cfg.effort is not None:
            out["effort"] = cfg.effort
        if cfg.summary is not None:
            out["summary"] = cfg.summary
        return out
    effort = conversions.effort_for(cfg)
    # "none" is refused by older reasoning models: leave the model's default instead
    if effort is not None and effort != "none":
        out["effort"] = effort
    if (cfg.include_thoughts or cfg.summary) and cfg.mode != "disabled":
        out["summary"] = "auto"
    return out


class _InputWriter:
    """Canonical messages -> input items.

    Item ids: a ``reasoning`` item of OpenAI's own goes back with its id and encrypted content;
    the ``function_call``/``custom_tool_call`` items after it in the same turn keep their ids
    too (OpenAI checks that they belong together). Without such a reasoning item the ids are
    left out: OpenAI refuses a call id whose reasoning item is missing, and item ids minted by
    the gateway or the client mean nothing to it.
    """

    def __init__(self, req: Request, same: bool) -> None:
        self._req = req
        self._same = same
        self._custom = conversions.custom_tool_names(req.tools)
        self._namespaces = namespaced_names(req.opaque_tools) if same else {}
        # with store:false OpenAI cannot look an item up by id alone
        self._stored = same and req.extra.get("store") is not False
        self._call_kinds: dict[str, bool] = {}  # call id -> sent as custom_tool_call
        self._out: list[dict[str, Any]] = []
        self._search = same and tool_search.declared(req.opaque_tools)  # Codex's own tool search

    def write(self) -> list[dict[str, Any]]:
        for m in self._req.messages:
            if m.role == "user":
                self._out.append({"type": "message", "role": "user", "content": self._content(m.content)})
            elif m.role == "system":
                texts = [p for p in m.content if isinstance(p, TextPart)]
                self._out.append({"type": "message", "role": "developer", "content": self._content(texts)})
            elif m.role == "assistant":
                self._assistant(m.content)
            else:
                self._tool_results(m.content)
        return self._out

    # ---------------------------------------------------------------- content parts

    def _content(self, parts: Sequence[Part]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for p in parts:
            if isinstance(p, TextPart):
                out.append(self._breakpoint({"type": "input_text", "text": p.text}, p.cache_control))
            elif isinstance(p, ImagePart):
                out.append(self._breakpoint(_image_to_wire(p), p.cache_control))
            elif isinstance(p, FilePart):
                out.append(self._breakpoint(_file_to_wire(p), p.cache_control))
            elif isinstance(p, OpaquePart):
                if p.style != STYLE:
                    kind = p.data.get("type")
                    raise BadRequest(
                        f"a '{kind}' content block cannot be sent to an OpenAI Responses provider"
                    )
                out.append(p.data)
            else:
                raise BadRequest(f"a {type(p).__name__} cannot appear in a user message")
        return out

    def _breakpoint(self, item: dict[str, Any], cc: CacheControl | None) -> dict[str, Any]:
        # only a Responses client's own breakpoints: models before gpt-5.6 refuse the field
        if cc is not None and self._same:
            item["prompt_cache_breakpoint"] = {"mode": "explicit"}
        return item

    # ---------------------------------------------------------------- assistant turns

    def _assistant(self, parts: list[Part]) -> None:
        keep_ids = False  # the last reasoning item of this turn went out with its id
        for i, p in enumerate(parts):
            if isinstance(p, ReasoningPart):
                item = self._reasoning(p, parts[i + 1 :])
                keep_ids = item is not None and "id" in item
                if item is not None:
                    self._out.append(item)
            elif isinstance(p, TextPart):
                if p.text:
                    self._out.append(
                        {
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": p.text}],
                        }
                    )
            elif isinstance(p, ToolCallPart):
                self._out.append(self._call(p, keep_ids))
            elif isinstance(p, OpaquePart) and p.style == STYLE:
                self._out.append(p.data)
            # images an assistant produced (Gemini) and other styles' blocks have no input form

    def _reasoning(self, p: ReasoningPart, rest: list[Part]) -> dict[str, Any] | None:
        if p.origin != STYLE or not p.item_id:
            return None  # another provider's reasoning means nothing to OpenAI
        if not any(not isinstance(q, ReasoningPart) for q in rest):
            return None  # OpenAI refuses a reasoning item without the item it led to
        item: dict[str, Any] = {
            "type": "reasoning",
            "id": p.item_id,
            "summary": [{"type": "summary_text", "text": p.text}] if p.text else [],
        }
        if p.signature:
            item["encrypted_content"] = p.signature
        elif not self._stored:
            return None  # neither the content nor a stored copy: "Item with id 'rs_...' not found"
        return item

    def _call(self, c: ToolCallPart, keep_ids: bool) -> dict[str, Any]:
        if self._search and c.name == tool_search.NAME:
            native = tool_search.call_item(c.item_id or "", c)
            if not (keep_ids and c.item_id):
                del native["id"]
            return native
        ns, name = self._namespaces.get(c.name, (None, c.name))
        custom = c.name in self._custom
        self._call_kinds[c.id] = custom
        if custom:
            text = c.arguments if c.kind == "custom" else conversions.custom_input_from_arguments(c.arguments)
            item: dict[str, Any] = {"type": "custom_tool_call", "call_id": c.id, "name": name, "input": text}
        else:
            args = c.arguments
            if c.kind == "custom":
                args = conversions.arguments_from_custom_input(args)
            item = {"type": "function_call", "call_id": c.id, "name": name, "arguments": args or "{}"}
        if ns is not None:
            item["namespace"] = ns
        if keep_ids and c.item_id:
            item["id"] = c.item_id
        return item

    # ---------------------------------------------------------------- tool turns

    def _tool_results(self, parts: list[Part]) -> None:
        trailing: list[Part] = []
        for p in parts:
            own = p.extra.get(tool_search.ITEM) if isinstance(p, ToolResultPart) and self._same else None
            if isinstance(own, dict):
                self._out.append(own)  # the client's own tool_search_output
            elif isinstance(p, ToolResultPart):
                custom = self._call_kinds.get(p.tool_call_id, p.kind == "custom" and p.name in self._custom)
                self._out.append(
                    {
                        "type": "custom_tool_call_output" if custom else "function_call_output",
                        "call_id": p.tool_call_id,
                        "output": _tool_output(p),
                    }
                )
            elif isinstance(p, OpaquePart) and p.style == STYLE:
                self._out.append(p.data)
            elif isinstance(p, TextPart | ImagePart | FilePart):
                trailing.append(p)
        if trailing:
            self._out.append({"type": "message", "role": "user", "content": self._content(trailing)})


def _tool_output(p: ToolResultPart) -> str | list[dict[str, Any]]:
    # Responses has no error flag on outputs: the text says it, as in the Chat codec
    if all(isinstance(c, TextPart) for c in p.content):
        text = "\n".join(c.text for c in p.content if isinstance(c, TextPart))
        if p.is_error and not text.startswith("Error"):
            text = f"Error: {text}" if text else "Error"
        return text
    out: list[dict[str, Any]] = []
    if p.is_error:
        out.append({"type": "input_text", "text": "Error:"})
    for c in p.content:
        if isinstance(c, TextPart):
            out.append({"type": "input_text", "text": c.text})
        elif isinstance(c, ImagePart):
            out.append(_image_to_wire(c))
        else:
            out.append(_file_to_wire(c))
    return out


def _image_to_wire(p: ImagePart) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "input_image", "detail": p.detail or "auto"}
    if p.data is not None:
        out["image_url"] = data_url(p.media_type or "image/png", p.data)
    elif p.url is not None:
        out["image_url"] = p.url
    elif p.file_id is not None:
        out["file_id"] = p.file_id
    else:
        raise BadRequest("an image without data, URL or file id cannot be sent")
    return out


def _file_to_wire(p: FilePart) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "input_file"}
    if p.data is not None:
        out["file_data"] = data_url(p.media_type or "application/pdf", p.data)
        # OpenAI needs a filename beside inline file data
        out["filename"] = p.filename or (
            "document.pdf" if (p.media_type or "application/pdf").endswith("pdf") else "document"
        )
        return out
    if p.url is not None:
        out["file_url"] = p.url
    elif p.file_id is not None:
        out["file_id"] = p.file_id
    else:
        raise BadRequest("a document without data, URL or file id cannot be sent")
    if p.filename:
        out["filename"] = p.filename
    return out
