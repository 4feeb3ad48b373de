"""Driver: the official ``openai`` SDK speaking the Responses API to the gateway.

The conversation is kept as Codex keeps it: a list of input items to which every output item of
each answer is appended as returned (reasoning items with their ``encrypted_content``, function
calls with their ``id`` and ``call_id``), with ``store: false`` so nothing lives server-side.
Streaming goes through ``client.responses.stream()``, whose state machine checks every event
(identity of items, order, the final response).
"""

from __future__ import annotations

import json
from typing import Any

import openai

from tests.e2e.drivers.base import Call, Outcome, ToolDecl

# fields the SDK's parsing helpers add to output items; they are not input item fields
_PARSED = ("parsed", "parsed_arguments")


class ResponsesDriver:
    style = "openai-responses"

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
    ) -> ResponsesSession:
        params: dict[str, Any] = {"model": model, "store": False}
        if system:
            params["instructions"] = system
        if tools:
            params["tools"] = [
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.schema,
                    "strict": False,
                }
                for t in tools
            ]
        if json_schema is not None:
            params["text"] = {"format": {"type": "json_schema", "name": "answer", "schema": json_schema}}
        if thinking:
            params["reasoning"] = {"effort": "medium", "summary": "auto"}
            params["include"] = ["reasoning.encrypted_content"]
        if stop:
            # not a Responses parameter: the gateway accepts it for providers of other styles
            params["extra_body"] = {"stop": stop}
        if max_tokens:
            params["max_output_tokens"] = max_tokens
        return ResponsesSession(self.client, params, stream)


class ResponsesSession:
    def __init__(self, client: openai.OpenAI, params: dict[str, Any], stream: bool) -> None:
        self.client = client
        self.params = params
        self.history: list[dict[str, Any]] = []
        self.stream = stream
        self.kinds: dict[str, str] = {}  # call id -> "function_call" | "custom_tool_call"
        self.last: Outcome | None = None

    def send_user(self, text: str, *, image_png_b64: str | None = None) -> Outcome:
        content: list[dict[str, Any]] = [{"type": "input_text", "text": text}]
        if image_png_b64:
            content.append(
                {
                    "type": "input_image",
                    "image_url": f"data:image/png;base64,{image_png_b64}",
                    "detail": "auto",
                }
            )
        self.history.append({"type": "message", "role": "user", "content": content})
        return self._call()

    def send_tool_results(self, results: dict[str, str]) -> Outcome:
        for call_id, text in results.items():
            kind = (
                "custom_tool_call_output"
                if self.kinds.get(call_id) == "custom_tool_call"
                else "function_call_output"
            )
            self.history.append({"type": kind, "call_id": call_id, "output": text})
        return self._call()

    def _call(self) -> Outcome:
        if self.stream:
            # the final response arrives with response.completed or, when the answer was cut,
            # response.incomplete (the SDK's get_final_response() only knows the former)
            final: Any = None
            with self.client.responses.stream(input=self.history, **self.params) as events:
                last = -1
                for event in events:
                    assert event.sequence_number > last, "sequence numbers must increase"
                    last = event.sequence_number
                    if event.type in ("response.completed", "response.incomplete"):
                        final = event.response
            assert final is not None, "the stream ended without response.completed/incomplete"
            response = final
        else:
            response = self.client.responses.create(input=self.history, **self.params)
        out = Outcome(text=response.output_text, model=response.model)
        out.text_blocks = sum(1 for item in response.output if item.type == "message")
        reasoning: list[str] = []
        for item in response.output:
            if item.type == "function_call":
                out.calls.append(Call(item.call_id, item.name, json.loads(item.arguments or "{}")))
                self.kinds[item.call_id] = item.type
            elif item.type == "custom_tool_call":
                out.calls.append(Call(item.call_id, item.name, {"input": item.input}))
                self.kinds[item.call_id] = item.type
            elif item.type == "reasoning":
                reasoning += [s.text for s in item.summary]
            self.history.append(_as_input(item.to_dict()))
        out.reasoning = "\n\n".join(reasoning)
        if response.status == "incomplete":
            reason = response.incomplete_details.reason if response.incomplete_details else None
            out.stop = "max_tokens" if reason == "max_output_tokens" else "other"
        else:
            out.stop = "tool" if out.calls else "end"
        if response.usage is not None:
            out.input_tokens = response.usage.input_tokens
            out.output_tokens = response.usage.output_tokens
            out.cache_read = response.usage.input_tokens_details.cached_tokens
        self.last = out
        return out


def _as_input(item: dict[str, Any]) -> dict[str, Any]:
    """An output item as the next request's input item (what Codex sends back)."""
    for key in _PARSED:
        item.pop(key, None)
    for part in item.get("content") or []:
        if isinstance(part, dict):
            for key in _PARSED:
                part.pop(key, None)
    return item
