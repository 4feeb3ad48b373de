"""Canonical request -> Gemini API ``generateContent`` body (the provider side of the Google codec).

Mappings and degradations (README, "Style conversion"):

* ``system`` -> ``systemInstruction``; a system message later in the conversation -> user text
  in place (Gemini has one system instruction);
* roles user/assistant/tool -> ``user``/``model``/``user``; consecutive same-role turns are
  merged; a conversation that does not start with a user turn gets a placeholder user turn
  first (the API rejects a function-call turn that does not follow a user turn);
* tool results -> ``functionResponse`` parts (id, name from the part or its call) whose
  ``response`` object is ``{"error": text}`` for errors, the object itself when the text is a
  JSON object, else ``{"output": text}`` (Google's documented keys); images and files in
  results -> ``functionResponse.parts`` on Gemini 3+, else parts following the results;
* images and files -> ``inlineData`` (base64) or ``fileData`` (URL, MIME type guessed from the
  extension when unknown); another provider's file id cannot be sent (BadRequest);
* reasoning of origin google-genai: text -> ``thought: true`` parts with their signature,
  text-less -> ``thoughtSignature`` on the following part; other styles' reasoning is not sent
  (Gemini cannot verify it); the first function call of each model turn without a signature
  carries ``skip_thought_signature_validator``, the dummy Google documents for history from
  another model (Gemini 3 rejects unsigned calls of the current turn);
* tools -> ``functionDeclarations`` with ``parametersJsonSchema`` (see ``schema`` for
  why and how the schema is reduced); custom tools -> one-string-parameter functions; Gemini
  built-in tools (OpaqueTool) pass through for Gemini providers only;
* tool choice auto/none/required/tool -> AUTO/NONE/ANY/ANY + ``allowedFunctionNames``; auto
  restricted to ``allowed`` -> VALIDATED + ``allowedFunctionNames``;
* json_object -> ``responseMimeType: application/json``; json_schema -> + ``responseJsonSchema``;
* reasoning -> ``thinkingConfig`` (``thinking_config``);
* ``stop`` keeps the first 5 sequences (the API's limit); ``user``, ``prompt_cache_key`` and
  ``parallel_tool_calls`` have no Gemini equivalent and are not sent;
* a request that came from a Gemini client gets its ``extra`` back (``safetySettings``,
  ``cachedContent``, ``candidateCount``...), merged into ``generationConfig``/``toolConfig``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.canonical import (
    FilePart,
    ImagePart,
    OpaquePart,
    Part,
    ReasoningConfig,
    ReasoningPart,
    Request,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from app.errors import BadRequest
from app.styles import conversions
from app.styles.google.fields import (
    SKIP_SIGNATURE,
    STYLE,
    gemini_major,
    media_to_wire,
    model_part_to_wire,
)
from app.styles.google.schema import to_gemini

_LEVELS = frozenset({"minimal", "low", "medium", "high", "xhigh"})
_MAX_STOP_SEQUENCES = 5
# a user turn placed first when a conversation does not start with one (see module doc)
CONTINUE_PLACEHOLDER = "(conversation continues)"


def request_to_wire(req: Request, model: str) -> dict[str, Any]:
    out: dict[str, Any] = {"contents": _ContentWriter(req, model).build()}
    if req.system:
        out["systemInstruction"] = {"parts": [{"text": p.text} for p in req.system]}
    tools = _encode_tools(req)
    if tools:
        out["tools"] = tools
    if req.tool_choice is not None and req.tools:
        out["toolConfig"] = {"functionCallingConfig": _encode_tool_choice(req.tool_choice)}
    gen = _generation_config(req, model)
    if gen:
        out["generationConfig"] = gen
    if req.style == STYLE:
        for key, value in req.extra.items():
            if key in ("generationConfig", "toolConfig") and isinstance(value, dict):
                out[key] = {**out.get(key, {}), **value}
            else:
                out[key] = value
    return out


class _ContentWriter:
    """Messages -> ``contents``: roles user/model, same-role turns merged, signatures placed."""

    def __init__(self, req: Request, model: str) -> None:
        self.req = req
        # multimodal function responses (images inside functionResponse.parts) are Gemini 3+
        self.nested_media = gemini_major(model) >= 3
        self.names = conversions.call_names(req.messages)
        self.contents: list[dict[str, Any]] = []

    def build(self) -> list[dict[str, Any]]:
        for m in self.req.messages:
            if m.role == "assistant":
                self._add("model", self._model(m.content))
            elif m.role == "tool":
                self._add("user", self._results(m.content))
            elif m.role == "system":
                self._add("user", [{"text": p.text} for p in m.content if isinstance(p, TextPart) and p.text])
            else:
                self._add("user", self._user(m.content))
        if not self.contents or self.contents[0]["role"] != "user":
            self.contents.insert(0, {"role": "user", "parts": [{"text": CONTINUE_PLACEHOLDER}]})
        _sign_unsigned_calls(self.contents)
        return self.contents

    def _add(self, role: str, parts: list[dict[str, Any]]) -> None:
        if not parts:
            return
        if self.contents and self.contents[-1]["role"] == role:
            self.contents[-1]["parts"].extend(parts)
        else:
            self.contents.append({"role": role, "parts": parts})

    def _model(self, content: list[Part]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        pending: str | None = None  # a text-less signature waiting for the part it belongs to
        for p in content:
            if isinstance(p, ReasoningPart):
                if p.origin != STYLE or not (p.text or p.signature):
                    continue  # another provider's reasoning: Gemini cannot use it
                if pending is not None:  # the waiting signature had no part of its own
                    out.append({"text": "", "thoughtSignature": pending})
                    pending = None
                if p.text:
                    out.append(_thought(p))
                else:
                    pending = p.signature
                continue
            wire = model_part_to_wire(p)
            if wire is not None:
                if pending is not None:
                    wire.setdefault("thoughtSignature", pending)
                    pending = None
                out.append(wire)
        if pending is not None:
            out.append({"text": "", "thoughtSignature": pending})
        return out

    def _user(self, content: list[Part]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for p in content:
            if isinstance(p, TextPart):
                if p.text:
                    out.append({"text": p.text})
            elif isinstance(p, ImagePart | FilePart):
                out.append(_media(p))
            elif isinstance(p, OpaquePart):
                if p.style != STYLE:
                    kind = p.data.get("type")
                    raise BadRequest(f"a '{kind}' content block cannot be sent to a Google GenAI provider")
                out.append(dict(p.data))
            elif isinstance(p, ToolResultPart):
                out.extend(self._results([p]))
            elif isinstance(p, ToolCallPart):
                raise BadRequest("a tool call cannot appear in a user message")
        return out

    def _results(self, content: list[Part]) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = []
        after: list[dict[str, Any]] = []
        for p in content:
            if isinstance(p, ToolResultPart):
                text = "\n".join(c.text for c in p.content if isinstance(c, TextPart))
                fr: dict[str, Any] = {
                    "id": p.tool_call_id,
                    "name": p.name or self.names.get(p.tool_call_id) or p.tool_call_id,
                    "response": _response_object(text, p.is_error),
                }
                media = [_media(c) for c in p.content if isinstance(c, ImagePart | FilePart)]
                if media and self.nested_media:
                    fr["parts"] = media
                else:
                    after.extend(media)  # older models: the media follow the results in the turn
                calls.append({"functionResponse": fr})
            elif isinstance(p, TextPart):
                after.append({"text": p.text})
            elif isinstance(p, ImagePart | FilePart):
                after.append(_media(p))
        return calls + after


def _thought(p: ReasoningPart) -> dict[str, Any]:
    part: dict[str, Any] = {"text": p.text, "thought": True}
    if p.signature:
        part["thoughtSignature"] = p.signature
    return part


def _media(p: ImagePart | FilePart) -> dict[str, Any]:
    wire = media_to_wire(p)
    if wire is None:
        raise BadRequest(
            "a file given by another provider's file id cannot be sent to a Google GenAI provider"
        )
    return wire


def _response_object(text: str, is_error: bool) -> dict[str, Any]:
    """A tool result as ``functionResponse.response`` (an object): ``{"error": text}``,
    the JSON object the text already is, or ``{"output": text}`` (Google's documented keys)."""
    if is_error:
        return {"error": text}
    if text.lstrip().startswith("{"):
        try:
            obj = msgspec.json.decode(text)
        except msgspec.DecodeError:
            obj = None
        if isinstance(obj, dict) and obj and set(obj) != {"error"}:
            return obj
    return {"output": text}


def _sign_unsigned_calls(contents: list[dict[str, Any]]) -> None:
    """Gemini 3 rejects a function call of the current turn without the signature it issued.
    Calls that came from another model (or lost theirs) get the dummy signature Google documents
    for that case, on the first call of each model turn — as Gemini CLI does when it strips
    thoughts from its history. Every turn, not just the current one: merged turns blur where
    the API's "current turn" starts, and the dummy is accepted anywhere."""
    for content in contents:
        if content["role"] != "model":
            continue
        for part in content["parts"]:
            if "functionCall" in part:
                part.setdefault("thoughtSignature", SKIP_SIGNATURE)
                break


def _encode_tools(req: Request) -> list[dict[str, Any]]:
    decls: list[dict[str, Any]] = []
    for t in req.tools:
        d: dict[str, Any] = {"name": t.name}
        if t.description:
            d["description"] = t.description
        params = conversions.custom_tool_as_function(t) if t.kind == "custom" else t.parameters
        if params is not None:
            d["parametersJsonSchema"] = to_gemini(params)
        decls.append(d)
    out: list[dict[str, Any]] = [{"functionDeclarations": decls}] if decls else []
    out += [dict(t.data) for t in req.opaque_tools if t.style == STYLE]
    return out


def _encode_tool_choice(tc: ToolChoice) -> dict[str, Any]:
    if tc.mode == "tool" and tc.name:
        return {"mode": "ANY", "allowedFunctionNames": [tc.name]}
    if tc.mode == "none":
        return {"mode": "NONE"}
    if tc.mode == "auto":
        # allowedFunctionNames is only valid with ANY or VALIDATED ("calls or text, from these")
        return {"mode": "VALIDATED", "allowedFunctionNames": tc.allowed} if tc.allowed else {"mode": "AUTO"}
    out: dict[str, Any] = {"mode": "ANY"}
    if tc.allowed:
        out["allowedFunctionNames"] = tc.allowed
    return out


def _generation_config(req: Request, model: str) -> dict[str, Any]:
    g: dict[str, Any] = {}
    for key, value in (
        ("temperature", req.temperature),
        ("topP", req.top_p),
        ("topK", req.top_k),
        ("maxOutputTokens", req.max_tokens),
        ("seed", req.seed),
        ("presencePenalty", req.presence_penalty),
        ("frequencyPenalty", req.frequency_penalty),
    ):
        if value is not None:
            g[key] = value
    if req.stop:
        g["stopSequences"] = req.stop[:_MAX_STOP_SEQUENCES]
    rf = req.response_format
    if rf is not None and rf.type != "text":
        g["responseMimeType"] = "application/json"
        if rf.type == "json_schema" and rf.schema:
            g["responseJsonSchema"] = to_gemini(rf.schema)
    if req.reasoning is not None:
        thinking = thinking_config(req.reasoning, model, same_style=req.style == STYLE)
        if thinking:
            g["thinkingConfig"] = thinking
    return g


def thinking_config(cfg: ReasoningConfig, model: str, *, same_style: bool) -> dict[str, Any]:
    """``thinkingConfig`` for ``cfg``.

    A Gemini client's own settings go back as given. For other clients: Gemini 3+ models get a
    ``thinkingLevel`` (LOW for none/minimal/low, HIGH above: the two levels every Gemini 3 model
    accepts), older ones a ``thinkingBudget`` (``conversions.budget_for``, -1 for adaptive, 0 to
    disable — 128 on Pro models, which cannot turn thinking off), clamped to the model's range.
    Thoughts are included unless the client said not to.
    """
    if same_style:
        return _same_style_thinking(cfg)
    out: dict[str, Any] = {}
    disabled = cfg.mode == "disabled" or cfg.effort == "none"
    if gemini_major(model) >= 3:
        effort = conversions.effort_for(cfg)
        if disabled or effort in ("minimal", "low"):
            out["thinkingLevel"] = "LOW"
        elif effort is not None:
            out["thinkingLevel"] = "HIGH"
    elif disabled:
        out["thinkingBudget"] = 128 if "pro" in model else 0
    elif cfg.mode == "adaptive" and cfg.effort is None and cfg.budget_tokens is None:
        out["thinkingBudget"] = -1
    else:
        out["thinkingBudget"] = _clamp_budget(conversions.budget_for(cfg) or 0, model)
    if not disabled and cfg.include_thoughts is not False:
        out["includeThoughts"] = True
    return out


def _same_style_thinking(cfg: ReasoningConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if cfg.mode == "adaptive":
        out["thinkingBudget"] = -1
    elif cfg.mode == "disabled":
        out["thinkingBudget"] = 0
    elif cfg.budget_tokens is not None:
        out["thinkingBudget"] = cfg.budget_tokens
    if cfg.effort in _LEVELS:
        out["thinkingLevel"] = str(cfg.effort).upper()
    if cfg.include_thoughts is not None:
        out["includeThoughts"] = cfg.include_thoughts
    return out


def _clamp_budget(budget: int, model: str) -> int:
    if "pro" in model:
        return min(max(budget, 128), 32768)
    if "flash" in model:
        return min(budget, 24576)
    return budget
