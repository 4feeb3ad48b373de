"""Google GenAI client requests (``generateContent`` bodies, camelCase or snake_case) -> the
canonical model. The mappings are listed in ``codec``'s docstring and docs/styles/google.md."""

from __future__ import annotations

from typing import Any

from app.canonical import (
    FilePart,
    ImagePart,
    Message,
    OpaquePart,
    OpaqueTool,
    Part,
    ReasoningConfig,
    ReasoningPart,
    Request,
    ResponseFormat,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolDef,
    ToolResultPart,
)
from app.errors import BadRequest
from app.styles import artifacts
from app.styles.base import RequestTarget
from app.styles.google.fields import (
    DUMMY_SIGNATURES,
    STYLE,
    args_json,
    camel,
    camel_keys,
    media_part,
    place_client_signature,
)
from app.styles.google.schema import to_json_schema
from app.styles.json_fields import (
    as_list,
    as_object,
    fail,
    opt_bool,
    opt_float,
    opt_int,
    opt_list,
    opt_object,
    opt_str,
    req_str,
    str_list,
)

_KNOWN_FIELDS = frozenset(
    {"model", "contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}
)
_GENERATION_FIELDS = frozenset(
    {
        "temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "seed",
        "presencePenalty", "frequencyPenalty", "responseMimeType", "responseSchema",
        "responseJsonSchema", "thinkingConfig",
    }
)  # fmt: skip
_LEVELS = frozenset({"minimal", "low", "medium", "high", "xhigh"})
_RESULT_TEXT_KEYS = frozenset({"output", "content", "result"})


def _decode_system(si: Any) -> list[TextPart]:
    if si is None:
        return []
    if isinstance(si, str):
        return [TextPart(si)] if si else []
    if isinstance(si, list):
        parts = si
    else:
        parts = opt_list(camel_keys(as_object(si, "systemInstruction")), "parts", "systemInstruction")
    out: list[TextPart] = []
    for j, item in enumerate(parts):
        path = f"systemInstruction.parts[{j}]"
        text = item if isinstance(item, str) else as_object(item, path).get("text")
        if not isinstance(text, str):
            raise BadRequest(f"{path}: a system instruction can only hold text parts")
        if text:
            out.append(TextPart(text))
    return out


class _ContentReader:
    """``contents`` -> messages, pairing function responses with the calls they answer."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.open_calls: list[ToolCallPart] = []

    def read(self, raw: list[Any]) -> list[Message]:
        for t, item in enumerate(raw):
            path = f"contents[{t}]"
            c = camel_keys(as_object(item, path))
            role = c.get("role") or "user"
            parts = as_list(c.get("parts") or [], f"{path}.parts")
            if role == "model":
                self._model(parts, t, path)
            elif role in ("user", "function"):
                self._user(parts, t, path)
            else:
                raise BadRequest(f"{path}.role: expected 'user' or 'model', got {role!r}")
        return self.messages

    def _model(self, parts: list[Any], t: int, path: str) -> None:
        out: list[Part] = []
        k = 0
        for j, item in enumerate(parts):
            ppath = f"{path}.parts[{j}]"
            p = camel_keys(as_object(item, ppath))
            if not _is_known_part(p):
                out.append(OpaquePart(STYLE, item))
                continue
            sig = opt_str(p, "thoughtSignature", ppath)
            sig = None if sig in DUMMY_SIGNATURES else sig
            if p.get("thought") is True:
                text = opt_str(p, "text", ppath) or ""
                if sig:
                    out.append(artifacts.from_client(sig, text, STYLE))
                elif text:
                    out.append(ReasoningPart(text=text, origin=STYLE))
                continue
            if sig:
                place_client_signature(out, sig)
            if "functionResponse" in p:
                raise BadRequest(f"{ppath}: a functionResponse belongs in a 'user' turn")
            if "functionCall" in p:
                call = _decode_call(p["functionCall"], f"call_{t}_{k}", f"{ppath}.functionCall")
                k += 1
                self.open_calls.append(call)
                out.append(call)
            else:
                part = _decode_plain(p, ppath)
                if part is not None:
                    out.append(part)
        if out:
            self.messages.append(Message("assistant", out))

    def _user(self, parts: list[Any], t: int, path: str) -> None:
        user: list[Part] = []
        results: list[Part] = []
        for j, item in enumerate(parts):
            ppath = f"{path}.parts[{j}]"
            p = camel_keys(as_object(item, ppath))
            if "functionResponse" in p:
                self._flush("user", user)
                fr = p["functionResponse"]
                results.append(self._result(fr, f"call_{t}_{j}", f"{ppath}.functionResponse"))
                continue
            self._flush("tool", results)
            if "functionCall" in p:
                raise BadRequest(f"{ppath}: a functionCall belongs in a 'model' turn")
            if not _is_known_part(p):
                user.append(OpaquePart(STYLE, item))
            elif p.get("thought") is not True:  # thoughts only mean something in model turns
                part = _decode_plain(p, ppath)
                if part is not None:
                    user.append(part)
        self._flush("user", user)
        self._flush("tool", results)

    def _flush(self, role: str, parts: list[Part]) -> None:
        if parts:
            self.messages.append(Message("tool" if role == "tool" else "user", list(parts)))
            parts.clear()

    def _result(self, raw: Any, fallback_id: str, path: str) -> ToolResultPart:
        fr = camel_keys(as_object(raw, path))
        name = opt_str(fr, "name", path)
        cid = opt_str(fr, "id", path)
        call = self._pair(cid, name)
        if call is not None:
            cid, name = call.id, name or call.name
        if not name:
            raise BadRequest(f"{path}.name: required string is missing")
        content, is_error = _result_content(fr.get("response"))
        for j, item in enumerate(opt_list(fr, "parts", path)):
            p = camel_keys(as_object(item, f"{path}.parts[{j}]"))
            media = _decode_plain(p, f"{path}.parts[{j}]")
            if isinstance(media, ImagePart | FilePart | TextPart):
                content.append(media)
        return ToolResultPart(cid or fallback_id, content, name=name, is_error=is_error)

    def _pair(self, cid: str | None, name: str | None) -> ToolCallPart | None:
        for i, call in enumerate(self.open_calls):
            if (call.id == cid) if cid else (name is None or call.name == name):
                return self.open_calls.pop(i)
        return None


def _is_known_part(p: dict[str, Any]) -> bool:
    return any(k in p for k in ("text", "functionCall", "functionResponse", "inlineData", "fileData"))


def _decode_call(raw: Any, fallback_id: str, path: str) -> ToolCallPart:
    fc = camel_keys(as_object(raw, path))
    args = fc.get("args")
    if args is not None and not isinstance(args, dict):
        raise fail(f"{path}.args", "an object", args)
    return ToolCallPart(opt_str(fc, "id", path) or fallback_id, req_str(fc, "name", path), args_json(args))


def _decode_plain(p: dict[str, Any], path: str) -> Part | None:
    """A text, inlineData or fileData part (None for empty text)."""
    if "text" in p:
        text = req_str(p, "text", path)
        return TextPart(text) if text else None
    inline = "inlineData" in p
    key = "inlineData" if inline else "fileData"
    data = as_object(p.get(key), f"{path}.{key}")
    req_str(camel_keys(data), "data" if inline else "fileUri", f"{path}.{key}")
    return media_part(data, inline)


def _result_content(response: Any) -> tuple[list[TextPart | ImagePart | FilePart], bool]:
    """``functionResponse.response`` -> (content, is_error); the rule is in the module doc."""
    if response is None:
        return [], False
    if isinstance(response, dict) and len(response) == 1:
        ((key, value),) = response.items()
        if key == "error":
            return [TextPart(value if isinstance(value, str) else args_json(value))], True
        if key in _RESULT_TEXT_KEYS and isinstance(value, str):
            return ([TextPart(value)] if value else []), False
    return [TextPart(args_json(response))], False


def _decode_tools(obj: dict[str, Any]) -> tuple[list[ToolDef], list[OpaqueTool]]:
    tools: list[ToolDef] = []
    opaque: list[OpaqueTool] = []
    for i, item in enumerate(opt_list(obj, "tools", "")):
        path = f"tools[{i}]"
        t = camel_keys(as_object(item, path))
        for j, decl in enumerate(opt_list(t, "functionDeclarations", path)):
            dpath = f"{path}.functionDeclarations[{j}]"
            d = camel_keys(as_object(decl, dpath))
            schema = d.get("parametersJsonSchema")
            if schema is None:
                schema = d.get("parameters")
            params = None if schema is None else to_json_schema(as_object(schema, f"{dpath}.parameters"))
            tools.append(
                ToolDef(
                    name=req_str(d, "name", dpath),
                    description=opt_str(d, "description", dpath),
                    parameters=params,
                )
            )
        rest = {k: v for k, v in item.items() if camel(k) != "functionDeclarations"}
        if rest:  # googleSearch, codeExecution, urlContext, ...
            opaque.append(OpaqueTool(STYLE, rest))
    return tools, opaque


def _decode_tool_choice(obj: dict[str, Any]) -> ToolChoice | None:
    tc = opt_object(obj, "toolConfig", "")
    raw = camel_keys(tc).get("functionCallingConfig") if tc is not None else None
    if raw is None:
        return None
    path = "toolConfig.functionCallingConfig"
    fcc = camel_keys(as_object(raw, path))
    mode = str(fcc.get("mode") or "AUTO").upper()
    names = str_list(fcc, "allowedFunctionNames", path) or None
    if mode == "NONE":
        return ToolChoice("none")
    if mode == "ANY":
        if names is not None and len(names) == 1:
            return ToolChoice("tool", name=names[0])
        return ToolChoice("required", allowed=names)
    if mode in ("AUTO", "VALIDATED", "MODE_UNSPECIFIED"):
        return ToolChoice("auto", allowed=names)
    raise BadRequest(f"{path}.mode: expected AUTO, ANY, NONE or VALIDATED, got {fcc.get('mode')!r}")


def _decode_response_format(gen: dict[str, Any]) -> ResponseFormat | None:
    mime = opt_str(gen, "responseMimeType", "generationConfig")
    schema = gen.get("responseJsonSchema")
    if schema is None:
        schema = gen.get("responseSchema")
    if schema is not None:
        schema = to_json_schema(as_object(schema, "generationConfig.responseSchema"))
        return ResponseFormat("json_schema", schema=schema)
    if mime == "application/json":
        return ResponseFormat("json_object")
    return None


def _decode_thinking(gen: dict[str, Any]) -> ReasoningConfig | None:
    raw = gen.get("thinkingConfig")
    if raw is None:
        return None
    path = "generationConfig.thinkingConfig"
    tc = camel_keys(as_object(raw, path))
    cfg = ReasoningConfig(include_thoughts=opt_bool(tc, "includeThoughts", path))
    budget = opt_int(tc, "thinkingBudget", path)
    if budget is not None:
        if budget < 0:
            cfg.mode = "adaptive"
        elif budget == 0:
            cfg.mode = "disabled"
        else:
            cfg.mode, cfg.budget_tokens = "enabled", budget
    level = (opt_str(tc, "thinkingLevel", path) or "").lower()
    if level in _LEVELS:
        cfg.effort = level  # type: ignore[assignment]
    elif level not in ("", "thinking_level_unspecified"):
        raise BadRequest(f"{path}.thinkingLevel: unsupported value {tc.get('thinkingLevel')!r}")
    return cfg


def _decode_extra(obj: dict[str, Any], gen: dict[str, Any]) -> dict[str, Any]:
    extra = {k: v for k, v in obj.items() if k not in _KNOWN_FIELDS}
    gen_extra = {k: v for k, v in gen.items() if k not in _GENERATION_FIELDS}
    mime = gen.get("responseMimeType")
    if isinstance(mime, str) and mime not in ("application/json", "text/plain"):
        gen_extra["responseMimeType"] = mime  # text/x.enum and friends: Gemini providers only
    if gen_extra:
        extra["generationConfig"] = gen_extra
    tc = obj.get("toolConfig")
    if isinstance(tc, dict):
        tc_extra = {k: v for k, v in camel_keys(tc).items() if k != "functionCallingConfig"}
        if tc_extra:
            extra["toolConfig"] = tc_extra
    return extra


# ====================================================================== responses


def decode_request(body: Any, target: RequestTarget) -> Request:
    obj = camel_keys(as_object(body, "body"))
    model = target.model or opt_str(obj, "model", "")
    if not model:
        raise BadRequest("model: missing (the URL names it: /v1beta/models/{model}:generateContent)")
    raw = obj.get("contents")
    if raw is None:
        raise BadRequest("contents: required field is missing")
    raw = as_list([raw] if isinstance(raw, dict) else raw, "contents")
    if not raw:
        raise BadRequest("contents: must contain at least one content")
    gen = camel_keys(opt_object(obj, "generationConfig", "") or {})
    tools, opaque_tools = _decode_tools(obj)
    return Request(
        model=model.removeprefix("models/"),
        messages=_ContentReader().read(raw),
        style=STYLE,
        system=_decode_system(obj.get("systemInstruction")),
        tools=tools,
        opaque_tools=opaque_tools,
        tool_choice=_decode_tool_choice(obj),
        stream=bool(target.stream),
        max_tokens=opt_int(gen, "maxOutputTokens", "generationConfig"),
        temperature=opt_float(gen, "temperature", "generationConfig"),
        top_p=opt_float(gen, "topP", "generationConfig"),
        top_k=opt_int(gen, "topK", "generationConfig"),
        stop=str_list(gen, "stopSequences", "generationConfig"),
        seed=opt_int(gen, "seed", "generationConfig"),
        presence_penalty=opt_float(gen, "presencePenalty", "generationConfig"),
        frequency_penalty=opt_float(gen, "frequencyPenalty", "generationConfig"),
        response_format=_decode_response_format(gen),
        reasoning=_decode_thinking(gen),
        extra=_decode_extra(obj, gen),
    )
