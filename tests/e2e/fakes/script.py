"""What every fake upstream answers, whatever its style.

A fake parses its own wire format into a ``Conversation`` and renders the ``Plan`` that ``plan``
returns. The behaviour is deterministic so tests can assert on it:

* the last turn holds tool results -> text ``Tool results: name=result; ...`` (so a test sees
  that each result reached the provider paired with the right call);
* tools are offered and the last user text says "tool" (or a call is required/forced) -> one call
  of the first (or forced) tool; with "parallel" in the text, one call to each of the first two
  tools; arguments are filled from the tool's schema (``example_args``);
* JSON is asked for -> a JSON text (schema-shaped when there is a schema);
* "max-tokens" in the text -> a cut answer with the max-tokens stop reason;
* otherwise -> ``Echo: <last user text>``.

When the request enables thinking (or the model name contains "think"), the answer starts with
reasoning ``Thinking about: <last user text>`` and a signature the fake can later verify.
Usage is fixed so tests can check how each style maps it: 100 prompt tokens of which 30 cache
reads and 10 cache writes, output = 1 + len(text) // 4 (+5 reasoning tokens when thinking).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolSpec:
    name: str
    schema: dict[str, Any]
    # "function", or "custom" for a free-form tool whose input is plain text (OpenAI Responses
    # `{"type": "custom", ...}`, e.g. Codex's apply_patch). A fake of a style without custom tools
    # sees such a tool as a function with one string parameter ``input`` and keeps "function".
    kind: str = "function"


@dataclass
class ToolResult:
    call_id: str
    name: str | None
    text: str
    is_error: bool = False


@dataclass
class Conversation:
    system: str = ""
    last_role: str = "user"  # user | tool
    last_user_text: str = ""
    tool_results: list[ToolResult] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    forced_tool: str | None = None
    tool_required: bool = False
    wants_json: bool = False
    json_schema: dict[str, Any] | None = None
    thinking: bool = False
    images: int = 0
    stop: list[str] = field(default_factory=list)
    max_tokens: int | None = None
    messages: int = 0
    tool_rounds: int | None = None  # tool-result turns in the whole conversation (None: not tracked)
    all_user_text: str = ""  # every user text of the conversation (fakes that reset last_user_text)


@dataclass
class Call:
    id: str
    name: str
    args: dict[str, Any]
    # "custom": render as the style's free-form call (Responses `custom_tool_call` with
    # ``input = args["input"]``); set only when the request declared the tool custom.
    kind: str = "function"


@dataclass
class Usage:
    input: int = 100
    cache_read: int = 30
    cache_write: int = 10
    output: int = 0
    reasoning: int = 0


@dataclass
class Plan:
    text: str | None = None
    reasoning: str | None = None
    signature: str | None = None
    calls: list[Call] = field(default_factory=list)
    stop: str = "end"  # end | tool | max_tokens | stop_sequence
    usage: Usage = field(default_factory=Usage)


def signature_for(style: str, text: str) -> str:
    """The signature a fake issues for reasoning ``text`` (and checks when it comes back)."""
    return f"{style}-sig-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def plan(conv: Conversation, model: str, style: str) -> Plan:
    if "aider" in model:
        return aider_plan(conv, model, style)
    if "agent" in model:
        return agent_plan(conv, model, style)
    p = Plan()
    thinking = conv.thinking or "think" in model
    if conv.last_role == "tool" and conv.tool_results:
        p.text = "Tool results: " + "; ".join(f"{r.name or r.call_id}={r.text}" for r in conv.tool_results)
    elif conv.tools and (conv.forced_tool or conv.tool_required or "tool" in conv.last_user_text.lower()):
        tools = {t.name: t for t in conv.tools}
        if conv.forced_tool and conv.forced_tool in tools:
            chosen = [tools[conv.forced_tool]]
        elif "parallel" in conv.last_user_text.lower() and len(conv.tools) >= 2:
            chosen = conv.tools[:2]
        else:
            chosen = conv.tools[:1]
        digest = hashlib.sha256(conv.last_user_text.encode()).hexdigest()[:8]
        p.calls = [Call(f"call_{digest}_{i}", t.name, example_args(t.schema)) for i, t in enumerate(chosen)]
        p.stop = "tool"
    elif conv.wants_json:
        p.text = json.dumps(example_args(conv.json_schema) if conv.json_schema else {"answer": "ok"})
    else:
        p.text = f"Echo: {conv.last_user_text}"
        if conv.images:
            p.text += f" [{conv.images} image(s)]"
        if "max-tokens" in conv.last_user_text:
            p.text = p.text[:12]
            p.stop = "max_tokens"
        for s in conv.stop:
            if s and s in p.text:
                p.text = p.text[: p.text.index(s)]
                p.stop = "stop_sequence"
                break
    if thinking:
        p.reasoning = f"Thinking about: {conv.last_user_text or 'the tool results'}"
        p.signature = signature_for(style, p.reasoning)
        p.usage.reasoning = 5
    p.usage.output = (
        1 + len(p.text or "") // 4 + sum(len(json.dumps(c.args)) // 4 for c in p.calls) + p.usage.reasoning
    )
    return p


_VALUES = {
    "city": "Paris",
    "location": "Paris",
    "file_path": "hello.txt",
    "path": "hello.txt",
    "filename": "hello.txt",
    "content": "hi from fake",
    "command": "echo hi",
    "unit": "celsius",
}


def example_args(schema: dict[str, Any] | None, name: str = "", depth: int = 0) -> Any:
    if not schema or depth > 5:
        return {} if depth == 0 else "x"
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if isinstance(kind, str):
        kind = kind.lower()
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties") or {}
        required = schema.get("required") or list(props)
        return {k: example_args(props[k], k, depth + 1) for k in required if k in props}
    if kind == "array":
        return [example_args(schema.get("items") or {"type": "string"}, name, depth + 1)]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    return _VALUES.get(name, "x")


# ------------------------------------------------------------------------------------------------
# Coding-agent behaviour (model names containing "agent"; tests/agents drives the real CLIs).
#
# The user prompt (``agent_prompt``) reads ``Create the file /abs/path/hello.txt containing exactly:
# hi from fake`` and a second line.
# Until a tool result comes back, the "model" asks for ONE call of the client's own file-writing
# tool, found by name among the offered tools; with the result in hand it answers AGENT_DONE.
# Side requests are answered in kind: a JSON-schema request (Gemini CLI's routing classifier) gets
# schema-valid JSON, a request without tools (OpenCode's title generator) a short title.
# Reasoning follows the usual rule (the request enables thinking, or "think" in the model name).

AGENT_DONE = "DONE: file written"
AGENT_TITLE = "Write hello file"
_AGENT_TASK = re.compile(r"Create the file (/[^\s\"'<>]+) containing exactly: ([^\"\n<]*)")


def agent_prompt(path: str, content: str) -> str:
    """The task a test gives a coding agent (the newline ends the content even where a fake
    joins text parts without a separator)."""
    return f"Create the file {path} containing exactly: {content}\nThen report back briefly."


def agent_task(text: str) -> tuple[str, str] | None:
    """(absolute path, exact content) from an agent prompt, or None."""
    found = _AGENT_TASK.findall(text)
    if not found:
        return None
    path, content = found[-1]
    return path, content.rstrip()


# A client's own file-writing tool, by name (first offered wins): Claude Code and Continue
# ``Write``, OpenCode ``write``, Gemini CLI and Qwen Code ``write_file``, Cline ``editor`` (creates a
# missing file with ``new_text``). Its argument names come from the tool's own schema, since
# clients name them differently (``file_path``, ``filePath``, ``filepath``, ``path``; ``content``,
# ``new_text``).
WRITE_TOOLS = ("Write", "write", "write_file", "write_to_file", "create_file", "editor")
_PATH_ARGS = ("file_path", "filePath", "filepath", "absolute_path", "path", "target_file")
_CONTENT_ARGS = ("content", "contents", "file_text", "new_text", "text")


def write_args(tool: ToolSpec, path: str, content: str) -> dict[str, Any] | None:
    """Arguments of ``tool`` (a writing tool) that write ``content`` to ``path``, or None when its
    schema has no recognisable path and content parameters."""
    props = (tool.schema or {}).get("properties") or {}
    path_key = next((k for k in _PATH_ARGS if k in props), None)
    content_key = next((k for k in _CONTENT_ARGS if k in props), None)
    if path_key is None or content_key is None:
        return None
    return {path_key: path, content_key: content}


def agent_write_call(conv: Conversation, path: str, content: str) -> Call | None:
    """The call of the client's own writing tool that creates ``path`` with ``content``."""
    tools = {t.name: t for t in conv.tools}
    digest = hashlib.sha256(f"{path}\0{content}".encode()).hexdigest()[:12]
    call_id = f"call_{digest}_0"
    for name in WRITE_TOOLS:
        args = write_args(tools[name], path, content) if name in tools else None
        if args is not None:
            return Call(call_id, name, args)
    if "apply_patch" in tools:  # Codex, catalogue models (free-form tool with a Lark grammar)
        patch = f"*** Begin Patch\n*** Add File: {path}\n+{content}\n*** End Patch\n"
        return Call(call_id, "apply_patch", {"input": patch}, kind=tools["apply_patch"].kind)
    if "exec_command" in tools:  # Codex, models outside its catalogue
        return Call(call_id, "exec_command", {"cmd": f"printf '%s' {_sh_quote(content)} > {_sh_quote(path)}"})
    return None


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def agent_plan(conv: Conversation, model: str, style: str) -> Plan:
    """The agent task. Variants by model name: ``parallel`` asks for two writing calls at once
    (the task's file and ``<file>.copy``); ``twice`` (fakes that track ``tool_rounds``) asks for
    a second writing call (``<file>.2``) after the first result, then finishes; ``search`` first
    calls the client's own ``tool_search`` (Codex) and writes once its result is back."""
    p = Plan()
    task = agent_task(conv.last_user_text) or agent_task(conv.all_user_text) or agent_task(conv.system)
    second = "twice" in model and conv.tool_rounds is not None and conv.tool_rounds < 2
    searched = conv.last_role == "tool" and any(
        r.name == "tool_search" or r.text.startswith(("Tools loaded", "No tools matched"))
        for r in conv.tool_results
    )
    offered = {t.name for t in conv.tools}
    if "search" in model and conv.last_role != "tool" and "tool_search" in offered and task is not None:
        # first look through the client's deferred tools with its own search (Codex)
        p.calls = [Call("call_search_0", "tool_search", {"query": "write a file", "limit": 3})]
        p.stop = "tool"
    elif searched and task is not None:
        call = agent_write_call(conv, *task)
        p.calls = [call] if call is not None else []
        p.stop = "tool" if call is not None else "end"
        p.text = None if call is not None else AGENT_DONE
    elif conv.last_role == "tool" and conv.tool_results and second and task is not None:
        call = agent_write_call(conv, task[0] + ".2", task[1])
        if call is None:
            p.text = AGENT_DONE
        else:
            p.calls = [call]
            p.stop = "tool"
    elif conv.last_role == "tool" and conv.tool_results:
        p.text = AGENT_DONE
    elif conv.wants_json:
        p.text = json.dumps(example_args(conv.json_schema) if conv.json_schema else {"answer": "ok"})
    elif not conv.tools:
        p.text = AGENT_TITLE
    elif task is None:
        p.text = "AGENT FAKE: no 'Create the file <abs path> containing exactly: <text>' in the prompt"
    else:
        call = agent_write_call(conv, *task)
        if call is None:
            p.text = "AGENT FAKE: no writing tool offered; tools: " + ", ".join(t.name for t in conv.tools)
        else:
            p.calls = [call]
            if "parallel" in model:
                copy = agent_write_call(conv, task[0] + ".copy", task[1])
                if copy is not None:
                    copy.id = copy.id[:-1] + "1"
                    p.calls.append(copy)
            p.stop = "tool"
    if conv.thinking or "think" in model:
        p.reasoning = f"Agent plan: {'finish' if p.text else 'call ' + p.calls[0].name}"
        p.signature = signature_for(style, p.reasoning)
        p.usage.reasoning = 5
    p.usage.output = (
        1 + len(p.text or "") // 4 + sum(len(json.dumps(c.args)) // 4 for c in p.calls) + p.usage.reasoning
    )
    return p


# ------------------------------------------------------------------------------------------------
# Aider (model names containing "aider"): it has no tools; the model answers in an edit format
# Aider parses from the text. ``aider-whole`` (Aider's format for models it does not know): the
# file's name on its own line, then the whole new content in a fenced block. ``aider-diff``: one
# SEARCH/REPLACE block whose SEARCH part is empty, which Aider applies by appending the REPLACE
# part (the file the test hands it is empty, so the result is the same content). The file is named
# by its base name, as Aider lists the files in the chat relative to its root (the working dir).
# Any other request (a summary, a commit message) gets the title answer.


def aider_plan(conv: Conversation, model: str, style: str) -> Plan:
    task = agent_task(conv.last_user_text) or agent_task(conv.all_user_text)
    if task is None:
        p = Plan(text=AGENT_TITLE)
    else:
        name, content = task[0].rsplit("/", 1)[-1], task[1]
        if "aider-diff" in model:
            body = f"<<<<<<< SEARCH\n=======\n{content}\n>>>>>>> REPLACE\n"
        else:
            body = f"{content}\n"
        p = Plan(text=f"{AGENT_DONE}. The new file:\n\n{name}\n```\n{body}```\n")
    p.usage.output = 1 + len(p.text or "") // 4
    return p
