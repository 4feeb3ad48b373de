"""Driver: the official ``openai`` SDK speaking Chat Completions to the gateway."""

from __future__ import annotations

import json
from typing import Any

import openai

from tests.e2e.drivers.base import Call, Outcome, ToolDecl

STOP = {"stop": "end", "tool_calls": "tool", "length": "max_tokens", "content_filter": "other"}


class ChatDriver:
    style = "openai-chat"

    def __init__(self, base_url: str, key: str) -> None:
        self.client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=30)

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
    ) -> ChatSession:
        params: dict[str, Any] = {"model": model}
        if tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.schema},
                }
                for t in tools
            ]
        if json_schema is not None:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": json_schema},
            }
        if thinking:
            params["reasoning_effort"] = "medium"
        if stop:
            params["stop"] = stop
        if max_tokens:
            params["max_completion_tokens"] = max_tokens
        history: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
        return ChatSession(self.client, params, history, stream)


class ChatSession:
    def __init__(
        self, client: openai.OpenAI, params: dict[str, Any], history: list[dict[str, Any]], stream: bool
    ) -> None:
        self.client = client
        self.params = params
        self.history = history
        self.stream = stream
        self.last: Outcome | None = None

    def send_user(self, text: str, *, image_png_b64: str | None = None) -> Outcome:
        if image_png_b64:
            content: Any = [
                {"type": "text", "text": text},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image_png_b64}"}},
            ]
        else:
            content = text
        self.history.append({"role": "user", "content": content})
        return self._call()

    def send_tool_results(self, results: dict[str, str]) -> Outcome:
        for call_id, text in results.items():
            self.history.append({"role": "tool", "tool_call_id": call_id, "content": text})
        return self._call()

    def _call(self) -> Outcome:
        if self.stream:
            out, message = self._streamed()
        else:
            resp = self.client.chat.completions.create(messages=self.history, **self.params)
            choice = resp.choices[0]
            message = choice.message.model_dump(exclude_none=True)  # extra fields (reasoning_content) kept
            out = Outcome(
                text=choice.message.content or "",
                calls=[
                    Call(tc.id, tc.function.name, json.loads(tc.function.arguments or "{}"))
                    for tc in choice.message.tool_calls or []
                    if tc.type == "function"
                ],
                stop=STOP.get(choice.finish_reason, "other"),
                reasoning=str((choice.message.model_extra or {}).get("reasoning_content") or ""),
                model=resp.model,
            )
            _usage(out, resp.usage)
        self.history.append(message)
        self.last = out
        return out

    def _streamed(self) -> tuple[Outcome, dict[str, Any]]:
        out = Outcome()
        calls: dict[int, dict[str, str]] = {}
        reasoning = []
        for chunk in self.client.chat.completions.create(
            messages=self.history, stream=True, stream_options={"include_usage": True}, **self.params
        ):
            out.model = chunk.model or out.model
            if chunk.usage is not None:
                _usage(out, chunk.usage)
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            delta = choice.delta
            out.text += delta.content or ""
            extra = delta.model_extra or {}
            if extra.get("reasoning_content"):
                reasoning.append(extra["reasoning_content"])
            for tc in delta.tool_calls or []:
                entry = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] = tc.id or entry["id"]
                if tc.function is not None:
                    entry["name"] = tc.function.name or entry["name"]
                    entry["arguments"] += tc.function.arguments or ""
            if choice.finish_reason:
                out.stop = STOP.get(choice.finish_reason, "other")
        out.reasoning = "".join(reasoning)
        out.calls = [
            Call(c["id"], c["name"], json.loads(c["arguments"] or "{}")) for _, c in sorted(calls.items())
        ]
        message: dict[str, Any] = {"role": "assistant", "content": out.text or None}
        if out.reasoning:
            message["reasoning_content"] = out.reasoning
        if out.calls:
            message["tool_calls"] = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for _, c in sorted(calls.items())
            ]
        return out, message


def _usage(out: Outcome, usage: Any) -> None:
    if usage is None:
        return
    out.input_tokens = usage.prompt_tokens
    out.output_tokens = usage.completion_tokens
    details = usage.prompt_tokens_details
    out.cache_read = (details.cached_tokens or 0) if details is not None else 0
