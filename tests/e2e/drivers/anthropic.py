"""Driver: the official ``anthropic`` SDK speaking Messages to the gateway.

Like Claude Code, the session keeps the conversation as Messages params and appends each answer's
content blocks exactly as the SDK returned them (thinking blocks with their signatures included).
Streams go through ``client.messages.stream`` so the SDK's own event accumulation builds the
final message.
"""

from __future__ import annotations

from typing import Any

import anthropic

from tests.e2e.drivers.base import Call, Outcome, ToolDecl

STOP = {"end_turn": "end", "tool_use": "tool", "max_tokens": "max_tokens", "stop_sequence": "stop_sequence"}
THINKING_BUDGET = 1024


class AnthropicDriver:
    style = "anthropic-messages"

    def __init__(self, base_url: str, key: str) -> None:
        self.client = anthropic.Anthropic(base_url=base_url, api_key=key, max_retries=0, timeout=30)

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
    ) -> AnthropicSession:
        params: dict[str, Any] = {"model": model, "max_tokens": max_tokens or 1024}
        if system:
            params["system"] = system
        if tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.schema} for t in tools
            ]
        if json_schema is not None:
            params["output_config"] = {"format": {"type": "json_schema", "schema": json_schema}}
        if thinking:
            params["thinking"] = {"type": "enabled", "budget_tokens": THINKING_BUDGET}
            params["max_tokens"] = max(params["max_tokens"], 4 * THINKING_BUDGET)
        if stop:
            params["stop_sequences"] = stop
        return AnthropicSession(self.client, params, stream)


class AnthropicSession:
    def __init__(self, client: anthropic.Anthropic, params: dict[str, Any], stream: bool) -> None:
        self.client = client
        self.params = params
        self.stream = stream
        self.history: list[dict[str, Any]] = []
        self.last: Outcome | None = None

    def send_user(self, text: str, *, image_png_b64: str | None = None) -> Outcome:
        content: list[dict[str, Any]] = [{"type": "text", "text": text}]
        if image_png_b64:
            content.append(
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": image_png_b64},
                }
            )
        self.history.append({"role": "user", "content": content})
        return self._call()

    def send_tool_results(self, results: dict[str, str]) -> Outcome:
        blocks = [
            {"type": "tool_result", "tool_use_id": cid, "content": text} for cid, text in results.items()
        ]
        self.history.append({"role": "user", "content": blocks})
        return self._call()

    def _call(self) -> Outcome:
        if self.stream:
            with self.client.messages.stream(messages=self.history, **self.params) as s:
                for _event in s:
                    pass
                msg = s.get_final_message()
        else:
            msg = self.client.messages.create(messages=self.history, **self.params)
        # echo the blocks back exactly as received, as Claude Code does
        self.history.append({"role": "assistant", "content": [b.to_dict() for b in msg.content]})
        out = Outcome(
            text="".join(b.text for b in msg.content if b.type == "text"),
            calls=[Call(b.id, b.name, dict(b.input)) for b in msg.content if b.type == "tool_use"],
            stop=STOP.get(str(msg.stop_reason), "other"),
            reasoning="".join(b.thinking for b in msg.content if b.type == "thinking"),
            model=msg.model,
            text_blocks=sum(1 for b in msg.content if b.type == "text"),
        )
        u = msg.usage
        read, write = u.cache_read_input_tokens or 0, u.cache_creation_input_tokens or 0
        out.input_tokens = u.input_tokens + read + write  # Anthropic's input_tokens excludes the cache
        out.output_tokens = u.output_tokens
        out.cache_read = read
        self.last = out
        return out
