"""Fake Gemini API (``POST /v1beta/models/{model}:generateContent`` / ``:streamGenerateContent``).

Written from the Gemini API reference and the ``google-genai`` SDK types, independently of the
gateway. Like the real API it:

* authenticates with ``x-goog-api-key`` (or ``?key=``) and answers errors in Google's envelope
  ``{"error": {"code", "message", "status"}}``;
* parses the body as protobuf JSON does: unknown field names are a 400 ("Unknown name ... Cannot
  find field"), camelCase and snake_case both accepted; the OpenAPI ``parameters`` schema only
  takes the fields of ``Schema``, ``parametersJsonSchema`` takes any JSON Schema, never both;
* checks the turn structure: roles user/model, non-empty parts, a function-call turn only after
  a user or function-response turn, and a function-response turn right after a function-call
  turn answering as many calls as it made;
* checks thought signatures like Gemini 3: a function call it issued (with a signature) must come
  back in the current turn with that exact signature; any other signature must be Google's
  documented dummy (a foreign or corrupted one is a 400);
* answers with ``thought: true`` parts, ``thoughtSignature`` (base64) on the first function call
  (or the answer text), no function-call ids (as the Gemini API), ``finishReason`` and
  ``usageMetadata`` on the last chunk of a stream, SSE frames separated by CRLF as Google's
  servers do (or a JSON array without ``alt=sse``).
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from aiohttp import web

from tests.e2e.fakes.base import FakeUpstream, Recorded, Scenario, stream_cut
from tests.e2e.fakes.script import Conversation, Plan, ToolResult, ToolSpec, plan

FINISH = {"end": "STOP", "tool": "STOP", "max_tokens": "MAX_TOKENS", "stop_sequence": "STOP"}
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
DUMMY_SIGNATURES = {"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"}

# protobuf field names (camelCase) of GenerateContentRequest and its messages, from the SDK types
REQUEST_FIELDS = {
    "contents", "systemInstruction", "tools", "toolConfig", "safetySettings", "generationConfig",
    "cachedContent", "labels", "serviceTier", "store", "model",
}  # fmt: skip
CONTENT_FIELDS = {"role", "parts"}
PART_FIELDS = {
    "text", "thought", "thoughtSignature", "inlineData", "fileData", "functionCall",
    "functionResponse", "executableCode", "codeExecutionResult", "videoMetadata", "partMetadata",
    "mediaResolution",
}  # fmt: skip
FUNCTION_CALL_FIELDS = {"id", "name", "args"}
FUNCTION_RESPONSE_FIELDS = {"id", "name", "response", "parts", "willContinue", "scheduling"}
DECLARATION_FIELDS = {
    "name",
    "description",
    "parameters",
    "parametersJsonSchema",
    "response",
    "responseJsonSchema",
    "behavior",
}
SCHEMA_FIELDS = {
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
    "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength",
    "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum",
}  # fmt: skip
GENERATION_FIELDS = {
    "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities",
    "candidateCount", "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty",
    "frequencyPenalty", "responseLogprobs", "logprobs", "enableEnhancedCivicAnswers", "speechConfig",
    "thinkingConfig", "imageConfig", "mediaResolution",
}  # fmt: skip
THINKING_FIELDS = {"includeThoughts", "thinkingBudget", "thinkingLevel"}
FUNCTION_CALLING_FIELDS = {"mode", "allowedFunctionNames"}


class FakeGoogle(FakeUpstream):
    def __init__(self) -> None:
        super().__init__(style="google-genai")
        # signatures this fake issued: call key (name + args) -> signature text
        self.issued: dict[str, str] = {}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1beta/models/{name:.+}", self.handle),
            web.get("/v1beta/models", self.models),
        ]

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"error": {"code": status, "message": message, "status": STATUS.get(status, "UNKNOWN")}}

    async def models(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.json_response(
            {
                "models": [
                    {
                        "name": "models/fake",
                        "displayName": "fake",
                        "supportedGenerationMethods": ["generateContent"],
                    }
                ]
            }
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        rec = await self.record(request)
        if not (request.headers.get("x-goog-api-key") or request.query.get("key")):
            rec.status = 401
            return self.error(401, "Method doesn't allow unregistered callers. Please use API Key.")
        model, _, method = request.match_info["name"].rpartition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            return self.error(404, f"method {method!r} not found")
        scenario = Scenario.parse(model)
        early = await self.before_answer(scenario, request, rec)
        if early is not None:
            return early
        try:
            conv = self.parse(rec.json, model)
        except ValueError as exc:
            rec.status = 400
            return self.error(400, str(exc))
        rec.conversation = conv
        rejected = self.reject(scenario, conv)
        if rejected is not None:
            rec.status = 400
            return rejected
        p = plan(conv, model, self.style)
        rec.plan = p
        chunks = self.render(p, model)
        if method == "generateContent":
            return web.json_response(merge(chunks))
        return await self.stream(request, chunks, scenario, rec, sse=request.query.get("alt") == "sse")

    # ------------------------------------------------------------------ answering

    def render(self, p: Plan, model: str) -> list[dict[str, Any]]:
        """The answer as stream chunks (a whole answer is their merge)."""
        signature = base64.b64encode(p.signature.encode()).decode() if p.signature else None
        parts: list[dict[str, Any]] = []
        if p.reasoning:
            parts += [{"text": piece, "thought": True} for piece in pieces(p.reasoning)]
        if p.text:
            # Gemini 3 signs a plain answer on its LAST part; streamed, that is a short last chunk
            text_parts = [{"text": piece} for piece in pieces(p.text[:-1])] + [{"text": p.text[-1:]}]
            if signature and not p.calls:
                text_parts[-1]["thoughtSignature"] = signature
            parts += text_parts
        for k, c in enumerate(p.calls):
            call: dict[str, Any] = {"functionCall": {"name": c.name, "args": c.args}}
            if signature and k == 0:
                call["thoughtSignature"] = signature
                self.issued[call_key(c.name, c.args)] = signature
            parts.append(call)
        u = p.usage
        usage = {
            "promptTokenCount": u.input,
            "cachedContentTokenCount": u.cache_read,
            "candidatesTokenCount": u.output - u.reasoning,
            "totalTokenCount": u.input + u.output,
        }
        if u.reasoning:
            usage["thoughtsTokenCount"] = u.reasoning
        # "same-id" models answer every turn with one responseId, as a caching proxy might
        rid = "fake-response-same" if "same-id" in model else "fake-response-" + str(len(self.requests))
        base = {"modelVersion": model, "responseId": rid}
        chunks = [
            {"candidates": [{"content": {"role": "model", "parts": [part]}, "index": 0}], **base}
            for part in parts
        ] or [{"candidates": [{"content": {"role": "model", "parts": []}, "index": 0}], **base}]
        for c in chunks[:-1]:
            c["usageMetadata"] = {"promptTokenCount": u.input}
        chunks[-1]["candidates"][0]["finishReason"] = FINISH[p.stop]
        chunks[-1]["usageMetadata"] = usage
        return chunks

    async def stream(
        self,
        request: web.Request,
        chunks: list[dict[str, Any]],
        scenario: Scenario,
        rec: Recorded,
        *,
        sse: bool,
    ) -> web.StreamResponse:
        ctype = "text/event-stream" if sse else "application/json"
        resp = web.StreamResponse(headers={"content-type": ctype})
        await resp.prepare(request)
        if scenario.name == "error-first":
            err = self.error_body(503, "The model is overloaded. Please try again later.")
            await resp.write(frame(err, sse, first=True) + (b"" if sse else b"]"))
            await resp.write_eof()
            return resp
        if scenario.name == "slowstream":
            return await self.slow_stream(resp, rec, sse)
        for n, c in enumerate(chunks):
            if scenario.name == "cut" and n == 2:
                return await stream_cut(resp, request)
            await resp.write(frame(c, sse, first=n == 0))
            await asyncio.sleep(0)
        if not sse:
            await resp.write(b"]")
        await resp.write_eof()
        return resp

    async def slow_stream(self, resp: web.StreamResponse, rec: Recorded, sse: bool) -> web.StreamResponse:
        try:
            for i in range(100):
                c = {
                    "candidates": [
                        {"content": {"role": "model", "parts": [{"text": f"tick {i} "}]}, "index": 0}
                    ]
                }
                await resp.write(frame(c, sse, first=i == 0))
                await asyncio.sleep(0.1)
        except (asyncio.CancelledError, ConnectionResetError):
            rec.status = 499
            raise
        return resp

    # ------------------------------------------------------------------ parsing and validation

    def parse(self, body: Any, model: str) -> Conversation:
        if not isinstance(body, dict):
            raise ValueError("Invalid JSON payload received.")
        body = fields(body, REQUEST_FIELDS, "")
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise ValueError("* GenerateContentRequest.contents: contents is not specified")
        conv = Conversation(messages=len(contents))
        system = body.get("systemInstruction")
        if system is not None:
            conv.system = "".join(
                p.get("text", "")
                for p in fields(system, CONTENT_FIELDS, "system_instruction").get("parts") or []
            )
        parse_generation(body.get("generationConfig"), conv)
        turns = [self.turn(c, i) for i, c in enumerate(contents)]
        check_turn_order(turns)
        self.check_signatures(turns, conv.thinking or "think" in model)
        last_text = next((t for t in reversed(turns) if t["role"] == "user" and t["texts"]), None)
        if last_text is not None:
            conv.last_user_text = "".join(last_text["texts"])
            conv.images = last_text["images"]
        last = turns[-1]
        conv.tool_rounds = sum(1 for turn in turns if turn["responses"])
        if last["role"] == "user" and last["responses"] and not last["texts"]:
            conv.last_role = "tool"
            conv.tool_results = [
                ToolResult(fr.get("id") or fr["name"], fr["name"], result_text(fr.get("response")))
                for fr in last["responses"]
            ]
        conv.tools = parse_tools(body.get("tools"))
        config = body.get("toolConfig")
        if config is not None:
            fcc = fields(
                fields(config, {"functionCallingConfig", "retrievalConfig"}, "tool_config").get(
                    "functionCallingConfig"
                )
                or {},
                FUNCTION_CALLING_FIELDS,
                "function_calling_config",
            )
            names = fcc.get("allowedFunctionNames") or []
            if fcc.get("mode") == "ANY":
                conv.tool_required = True
                if len(names) == 1:
                    conv.forced_tool = names[0]
            elif names and fcc.get("mode") not in ("ANY", "VALIDATED"):
                raise ValueError("allowed_function_names is only allowed with mode ANY or VALIDATED")
        return conv

    def turn(self, content: Any, i: int) -> dict[str, Any]:
        c = fields(content, CONTENT_FIELDS, f"contents[{i}]")
        role = c.get("role", "user")
        if role not in ("user", "model", "function"):
            raise ValueError(
                f"* GenerateContentRequest.contents[{i}].role: Please use a valid role: user, model."
            )
        parts = c.get("parts")
        if not isinstance(parts, list) or not parts:
            raise ValueError(
                f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
            )
        turn: dict[str, Any] = {
            "role": "user" if role == "function" else role,
            "texts": [],
            "images": 0,
            "calls": [],
            "responses": [],
            "index": i,
        }
        for j, raw in enumerate(parts):
            p = fields(raw, PART_FIELDS, f"contents[{i}].parts[{j}]")
            if "functionCall" in p:
                fc = fields(
                    p["functionCall"], FUNCTION_CALL_FIELDS, f"contents[{i}].parts[{j}].function_call"
                )
                if not isinstance(fc.get("name"), str) or not isinstance(fc.get("args", {}), dict):
                    raise ValueError(
                        f"* contents[{i}].parts[{j}].function_call: name and object args required"
                    )
                turn["calls"].append({**fc, "thoughtSignature": p.get("thoughtSignature")})
            elif "functionResponse" in p:
                fr = fields(
                    p["functionResponse"],
                    FUNCTION_RESPONSE_FIELDS,
                    f"contents[{i}].parts[{j}].function_response",
                )
                if not isinstance(fr.get("name"), str):
                    raise ValueError(
                        f"* contents[{i}].parts[{j}].function_response.name: Name is not specified."
                    )
                if fr.get("response") is not None and not isinstance(fr["response"], dict):
                    raise ValueError(
                        f"* contents[{i}].parts[{j}].function_response.response: must be an object"
                    )
                turn["responses"].append(fr)
            elif "inlineData" in p:
                blob = fields(p["inlineData"], {"mimeType", "data", "displayName"}, "inline_data")
                base64.b64decode(blob.get("data") or "", validate=True)
                if str(blob.get("mimeType", "")).startswith("image/"):
                    turn["images"] += 1
            elif isinstance(p.get("text"), str) and not p.get("thought") and p["text"]:
                turn["texts"].append(p["text"])
            sig = p.get("thoughtSignature")
            if sig is not None:
                try:
                    base64.b64decode(sig, altchars=b"-_" if ("-" in sig or "_" in sig) else None)
                except ValueError as exc:
                    raise ValueError(f"* contents[{i}].parts[{j}].thought_signature: invalid base64") from exc
        return turn

    def check_signatures(self, turns: list[dict[str, Any]], thinking: bool) -> None:
        """Gemini 3: each step of the current turn (model turns since the last user text) must
        bring back the signature issued with its first function call; a signature the fake never
        issued (other than Google's documented dummies) is corrupted."""
        start = 0
        for t in turns:
            if t["role"] == "user" and t["texts"] and not t["responses"]:
                start = t["index"]
        for t in turns[start:]:
            for k, call in enumerate(t["calls"]):
                sig = call.get("thoughtSignature")
                issued = self.issued.get(call_key(call["name"], call.get("args") or {}))
                if thinking and k == 0 and issued is not None and sig != issued:
                    raise ValueError(
                        f"Function call `{call['name']}` in the {t['index'] + 1}. content block is missing "
                        "its `thought_signature`."
                    )
                if sig is not None and sig not in DUMMY_SIGNATURES and sig not in self.issued.values():
                    raise ValueError("Corrupted thought signature.")


def fields(obj: Any, allowed: set[str], where: str) -> dict[str, Any]:
    """A message as protobuf JSON reads it: both spellings accepted, unknown names refused."""
    if not isinstance(obj, dict):
        raise ValueError(f"Invalid JSON payload received. Expected an object at '{where}'.")
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = camel(key)
        if name not in allowed:
            raise ValueError(
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field."
            )
        out[name] = value
    return out


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def check_turn_order(turns: list[dict[str, Any]]) -> None:
    for n, t in enumerate(turns):
        prev = turns[n - 1] if n else None
        if t["calls"] and prev is not None and prev["role"] == "model":
            raise ValueError(
                "Please ensure that function call turn comes immediately after a user turn or after a function response turn."
            )
        if t["calls"] and prev is None:
            raise ValueError(
                "Please ensure that function call turn comes immediately after a user turn or after a function response turn."
            )
        if t["responses"]:
            if prev is None or not prev["calls"]:
                raise ValueError(
                    "Please ensure that function response turn comes immediately after a function call turn."
                )
            if len(t["responses"]) != len(prev["calls"]):
                raise ValueError(
                    "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
                )


def parse_tools(tools: Any) -> list[ToolSpec]:
    out: list[ToolSpec] = []
    for i, tool in enumerate(tools or []):
        t = fields(
            tool,
            {
                "functionDeclarations",
                "googleSearch",
                "codeExecution",
                "urlContext",
                "googleSearchRetrieval",
                "googleMaps",
                "fileSearch",
            },
            f"tools[{i}]",
        )
        for j, decl in enumerate(t.get("functionDeclarations") or []):
            d = fields(decl, DECLARATION_FIELDS, f"tools[{i}].function_declarations[{j}]")
            if "parameters" in d and "parametersJsonSchema" in d:
                raise ValueError("parameters and parameters_json_schema are mutually exclusive")
            if "parameters" in d:
                check_openapi_schema(d["parameters"], f"tools[{i}].function_declarations[{j}].parameters")
            out.append(ToolSpec(d["name"], d.get("parametersJsonSchema") or d.get("parameters") or {}))
    return out


def check_openapi_schema(schema: Any, where: str) -> None:
    s = fields(schema, SCHEMA_FIELDS, where)
    for name, sub in (s.get("properties") or {}).items():
        check_openapi_schema(sub, f"{where}.properties[{name}].value")
    if "items" in s:
        check_openapi_schema(s["items"], f"{where}.items")
    for k, sub in enumerate(s.get("anyOf") or []):
        check_openapi_schema(sub, f"{where}.any_of[{k}]")


def parse_generation(gen: Any, conv: Conversation) -> None:
    if gen is None:
        return
    g = fields(gen, GENERATION_FIELDS, "generation_config")
    if "responseSchema" in g and "responseJsonSchema" in g:
        raise ValueError("response_schema and response_json_schema are mutually exclusive")
    schema = g.get("responseJsonSchema") or g.get("responseSchema")
    if schema is not None and g.get("responseMimeType") != "application/json":
        raise ValueError("response_mime_type must be application/json when a response schema is set")
    conv.wants_json = g.get("responseMimeType") == "application/json"
    conv.json_schema = schema
    stops = g.get("stopSequences") or []
    if len(stops) > 5:
        raise ValueError(
            "* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences"
        )
    conv.stop = list(stops)
    conv.max_tokens = g.get("maxOutputTokens")
    if g.get("thinkingConfig") is not None:
        tc = fields(g["thinkingConfig"], THINKING_FIELDS, "thinking_config")
        if "thinkingBudget" in tc and "thinkingLevel" in tc:
            raise ValueError("You can only set only one of thinking budget and thinking level.")
        conv.thinking = (
            bool(tc.get("includeThoughts")) or tc.get("thinkingBudget", 0) != 0 or "thinkingLevel" in tc
        )


def result_text(response: Any) -> str:
    if isinstance(response, dict) and set(response) == {"output"} and isinstance(response["output"], str):
        return str(response["output"])
    if isinstance(response, dict) and set(response) == {"error"}:
        return f"error: {response['error']}"
    return json.dumps(response, separators=(",", ":"))


def call_key(name: str, args: dict[str, Any]) -> str:
    return name + json.dumps(args, sort_keys=True, separators=(",", ":"))


def pieces(text: str, n: int = 3) -> list[str]:
    size = max(1, -(-len(text) // n))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def frame(obj: dict[str, Any], sse: bool, *, first: bool) -> bytes:
    data = json.dumps(obj).encode()
    if sse:
        return b"data: " + data + b"\r\n\r\n"
    return (b"[" if first else b",\r\n") + data


def merge(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """A whole answer: the chunks' parts joined (adjacent texts of one kind concatenated)."""
    parts: list[dict[str, Any]] = []
    for c in chunks:
        for p in c["candidates"][0]["content"]["parts"]:
            prev = parts[-1] if parts else None
            if (
                prev is not None
                and "text" in p
                and "text" in prev
                and bool(prev.get("thought")) == bool(p.get("thought"))
                and not ("thoughtSignature" in p and "thoughtSignature" in prev)
            ):
                prev["text"] += p["text"]  # a whole answer is one part, signed if a piece was
                if "thoughtSignature" in p:
                    prev["thoughtSignature"] = p["thoughtSignature"]
            else:
                parts.append(dict(p))
    last = chunks[-1]
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": last["candidates"][0]["finishReason"],
                "index": 0,
            }
        ],
        "usageMetadata": last["usageMetadata"],
        "modelVersion": last["modelVersion"],
        "responseId": last["responseId"],
    }


def recorded_response_ids(rec: Recorded) -> list[str]:
    """The functionResponse ids (or names) a recorded request carried, in order."""
    out: list[str] = []
    for c in rec.json["contents"]:
        for p in c.get("parts") or []:
            fr = p.get("functionResponse") or p.get("function_response")
            if fr:
                out.append(fr.get("id") or fr.get("name"))
    return out
