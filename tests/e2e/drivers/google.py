"""Driver: the official ``google-genai`` SDK speaking the Gemini API to the gateway.

Like Gemini CLI, the session keeps the history as ``types.Content`` exactly as the SDK returned
it (thought parts and ``thought_signature`` bytes included), invents an id for a function call
that came without one (``<name>_<turn>_<k>``) and writes it on both the call and its response.
"""

from __future__ import annotations

import base64
from typing import Any

from google import genai
from google.genai import types

from tests.e2e.drivers.base import Call, Outcome, ToolDecl

STOP = {"STOP": "end", "MAX_TOKENS": "max_tokens"}


class GoogleDriver:
    style = "google-genai"

    def __init__(self, base_url: str, key: str) -> None:
        self.client = genai.Client(
            api_key=key,
            http_options=types.HttpOptions(
                base_url=base_url,
                api_version="v1beta",
                timeout=30_000,
                retry_options=types.HttpRetryOptions(attempts=1),
            ),
        )

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
    ) -> GoogleSession:
        config = types.GenerateContentConfig(
            system_instruction=system,
            stop_sequences=stop,
            max_output_tokens=max_tokens,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        if tools:
            config.tools = [
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(
                            name=t.name, description=t.description, parameters_json_schema=t.schema
                        )
                        for t in tools
                    ]
                )
            ]
        if json_schema is not None:
            config.response_mime_type = "application/json"
            config.response_json_schema = json_schema
        if thinking:
            config.thinking_config = types.ThinkingConfig(include_thoughts=True, thinking_budget=2048)
        return GoogleSession(self.client, model, config, stream)


class GoogleSession:
    def __init__(
        self, client: genai.Client, model: str, config: types.GenerateContentConfig, stream: bool
    ) -> None:
        self.client = client
        self.model = model
        self.config = config
        self.stream = stream
        self.history: list[types.Content] = []
        self.last: Outcome | None = None
        self.call_names: dict[str, str] = {}

    def send_user(self, text: str, *, image_png_b64: str | None = None) -> Outcome:
        parts = [types.Part(text=text)]
        if image_png_b64:
            parts.append(
                types.Part(
                    inline_data=types.Blob(mime_type="image/png", data=base64.b64decode(image_png_b64))
                )
            )
        self.history.append(types.Content(role="user", parts=parts))
        return self._call()

    def send_tool_results(self, results: dict[str, str]) -> Outcome:
        parts = [
            types.Part(
                function_response=types.FunctionResponse(
                    id=call_id, name=self.call_names[call_id], response={"output": text}
                )
            )
            for call_id, text in results.items()
        ]
        self.history.append(types.Content(role="user", parts=parts))
        return self._call()

    def _call(self) -> Outcome:
        out = Outcome()
        parts: list[types.Part] = []
        finish: str | None = None
        if self.stream:
            answers = list(
                self.client.models.generate_content_stream(
                    model=self.model, contents=self.history, config=self.config
                )
            )
        else:
            answers = [
                self.client.models.generate_content(
                    model=self.model, contents=self.history, config=self.config
                )
            ]
        for answer in answers:
            out.model = answer.model_version or out.model
            if answer.usage_metadata is not None:
                _usage(out, answer.usage_metadata)
            cand = answer.candidates[0] if answer.candidates else None
            if cand is None:
                continue
            if cand.content is not None and cand.content.parts:
                parts.extend(cand.content.parts)
            if cand.finish_reason is not None:
                finish = cand.finish_reason.value
        turn = len(self.history)
        for part in parts:
            if part.text is not None:
                if part.thought:
                    out.reasoning += part.text
                else:
                    out.text += part.text
            if part.function_call is not None:
                fc = part.function_call
                if not fc.id:  # the Gemini API sends none; Gemini CLI invents one the same way
                    fc.id = f"{fc.name}_{turn}_{len(out.calls)}"
                self.call_names[fc.id] = fc.name or ""
                out.calls.append(Call(fc.id, fc.name or "", dict(fc.args or {})))
        out.stop = "tool" if out.calls and finish == "STOP" else STOP.get(finish or "", "other")
        self.history.append(types.Content(role="model", parts=parts))
        self.last = out
        return out


def _usage(out: Outcome, usage: types.GenerateContentResponseUsageMetadata) -> None:
    out.input_tokens = (usage.prompt_token_count or 0) + (usage.tool_use_prompt_token_count or 0)
    out.output_tokens = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
    out.cache_read = usage.cached_content_token_count or 0
