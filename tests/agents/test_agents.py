"""Real coding agents through the gateway: every client x every provider style (issue 10).

Each cell runs one pinned CLI headless (tests/agents/clients.py) against the gateway of the e2e
harness, through a recording tap (tests/agents/tap.py), with a route that reaches the fake
upstream of one style. The fake acts out the task (tests/e2e/fakes/script.py ``agent_plan``):
one call of the client's own writing tool, then ``DONE: file written``. Thinking is on in every
plan (route names contain ``think``), so reasoning artifacts flow and the fakes verify them like
the real providers; the Chat route also contains ``deepseek``, so a tool-call turn without its
``reasoning_content`` is refused upstream (not for the clients in ``DROPS_REASONING``, which
never send reasoning back; their known gaps are pinned instead).

Run: ``python -m tests.agents`` (= ``python -m tests.agents.install && pytest -m agents tests/agents -q``).
Each cell's outcome is appended to ``.cache/agents/results.jsonl``.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agents.clients import ClaudeCode, GeminiCli, RunResult, all_clients
from tests.agents.install import CACHE
from tests.agents.tap import ClientTap, Exchange
from tests.e2e.conftest import FAKE_SPECS, KEY, Env
from tests.e2e.fakes.base import Recorded
from tests.e2e.fakes.script import AGENT_DONE, agent_prompt

pytestmark = [pytest.mark.agents, pytest.mark.timeout(400), pytest.mark.usefixtures("agents_installed")]

CONTENT = "hi from fake"
STYLES = list(FAKE_SPECS)
CLIENTS = all_clients()
NATIVE = {
    "claude-code": "anthropic-messages",
    "codex": "openai-responses",
    "codex-fallback": "openai-responses",
    "gemini": "google-genai",
    "gemini-auto": "google-genai",
    "opencode": "openai-chat",
    "qwen-code": "openai-chat",
    "continue": "openai-chat",
    "continue-anthropic": "anthropic-messages",
    "cline": "openai-chat",
    "cline-anthropic": "anthropic-messages",
}
# Clients that keep no reasoning in their history, so they send none back: Continue (its stream
# handler reads only content and tool calls), Cline's anthropic provider (the signed thinking block
# of a tool-use turn is left out, thinking requested or not). Across styles a Chat client still
# returns the artifacts the gateway carries on the tool-call id (app/styles/artifacts.py); otherwise
# nothing carries them. So their Chat route is not DeepSeek-style (that provider refuses a tool
# turn without its reasoning_content), and a Messages client's Gemini cell is expected to fail:
# Gemini refuses a function call without its thought_signature.
DROPS_REASONING = {"continue", "continue-anthropic", "cline-anthropic"}


def reasoning_carried(client: str, style: str) -> bool:
    """Whether the reasoning artifacts of ``style``'s provider come back through ``client``."""
    if client not in DROPS_REASONING:
        return True
    return NATIVE[client] == "openai-chat" and style != "openai-chat"  # on the tool-call ids


# an endpoint of each inbound style, to see whether the gateway serves that style yet
PROBE = {
    "anthropic-messages": "/v1/messages",
    "openai-responses": "/v1/responses",
    "openai-chat": "/v1/chat/completions",
    "google-genai": "/v1beta/models/probe:generateContent",
}
RESULTS = CACHE / "results.jsonl"


def route(env: Env, style: str, client: str | None = None) -> str:
    """The route a cell's client uses as its model: ``<prefix>/agent-think[-deepseek]`` (no
    DeepSeek-style Chat route for a client that drops reasoning)."""
    deepseek = style == "openai-chat" and client not in DROPS_REASONING
    return env.model(style, "agent-think-deepseek" if deepseek else "agent-think")


# ------------------------------------------------------------------------------ fixtures, cells


@dataclass
class Cell:
    client: str
    style: str
    model: str
    result: RunResult
    exchanges: list[Exchange]  # what the client sent and got
    upstream: list[Recorded]  # what the fake provider received
    file: Path

    @property
    def model_calls(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.method == "POST" and isinstance(e.json, dict)]


_CELLS: dict[tuple[str, str], Cell] = {}


def _skip_unless_ready(env: Env, client: str, style: str) -> None:
    if style not in env.fakes:
        pytest.skip(f"no fake upstream for {style} yet ({FAKE_SPECS[style][0]} missing)")
    _skip_unless_served(env, client)


def _skip_unless_served(env: Env, client: str) -> None:
    native = NATIVE[client]
    probe = httpx.post(env.url + PROBE[native], json={}, timeout=10)
    if probe.status_code in (404, 405):
        pytest.skip(f"the gateway does not serve {native} yet ({PROBE[native]} -> {probe.status_code})")


def run_cell(env: Env, tap: ClientTap, tmp_path: Path, client: str, style: str) -> Cell:
    """Run (once per session) ``client`` against the route to ``style``'s fake."""
    if (client, style) in _CELLS:
        return _CELLS[(client, style)]
    _skip_unless_ready(env, client, style)
    for fake in env.fakes.values():
        fake.clear()
    tap.clear()
    workdir = tmp_path / "work"
    workdir.mkdir()
    target = workdir / "hello.txt"
    model = route(env, style, client)
    prompt = agent_prompt(str(target), CONTENT)
    result = CLIENTS[client].run(tap.base_url, KEY, model, workdir, prompt)
    cell = Cell(client, style, model, result, list(tap.exchanges), list(env.fake(style).requests), target)
    _CELLS[(client, style)] = cell
    _record(cell)
    if os.environ.get("AGENTS_DUMP"):
        _dump(cell, Path(os.environ["AGENTS_DUMP"]))
    return cell


def _dump(cell: Cell, folder: Path) -> None:
    """``AGENTS_DUMP=DIR``: write what the client sent/got and what the provider received."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "client": [
            {
                "method": e.method,
                "path": e.path,
                "query": e.query,
                "headers": e.headers,
                "json": e.json,
                "status": e.status,
                "response_headers": e.response_headers,
                "response": e.response_body.decode(errors="replace"),
            }
            for e in cell.exchanges
        ],
        "upstream": [
            {
                "path": r.path,
                "query": r.query,
                "headers": r.headers,
                "json": r.json,
                "status": r.status,
                "plan": repr(r.plan),
            }
            for r in cell.upstream
        ],
        "stdout": cell.result.stdout,
        "stderr": cell.result.stderr,
    }
    (folder / f"{cell.client}-{cell.style}.json").write_text(json.dumps(data, indent=1, default=str))


def _record(cell: Cell) -> None:
    entry = {
        "client": cell.client,
        "style": cell.style,
        "exit": cell.result.exit_code,
        "seconds": round(cell.result.duration, 2),
        "file": cell.file.read_text() if cell.file.exists() else None,
        "client_statuses": [e.status for e in cell.exchanges],
        "upstream_statuses": [r.status for r in cell.upstream],
        "dropped_tools": dropped_tools(cell),
        "upstream_tools": upstream_tool_names(cell),
        "client_errors": [
            (e.path, e.status, e.response_body[:600].decode(errors="replace"))
            for e in cell.exchanges
            if e.status >= 400
        ],
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as f:
        f.write(json.dumps(entry) + "\n")


# ------------------------------------------------------------------------ reading the recordings


def client_tool_names(cell: Cell) -> list[str]:
    """Names of the tools the client declared (main requests), in its own style."""
    names: list[str] = []
    for ex in cell.model_calls:
        for t in _tools_of(NATIVE[cell.client], ex.json):
            if t not in names:
                names.append(t)
    return names


def dropped_tools(cell: Cell) -> list[str]:
    """Client tools that did not reach the provider under any name. A namespaced Responses tool
    ``ns.name`` may arrive flattened (``ns__name``) or under its own ``name``."""
    upstream = set(upstream_tool_names(cell))

    def arrived(name: str) -> bool:
        if name == "<tool_search>":  # Codex's client-run search travels as a function
            return "tool_search" in upstream
        ns, dot, inner = name.partition(".")
        return name in upstream or (bool(dot) and ({f"{ns}__{inner}", inner} & upstream != set()))

    return sorted(n for n in client_tool_names(cell) if not arrived(n))


def upstream_tool_names(cell: Cell) -> list[str]:
    names: list[str] = []
    for rec in cell.upstream:
        for t in rec.conversation.tools if rec.conversation else []:
            if t.name not in names:
                names.append(t.name)
    return names


def _tools_of(style: str, body: dict[str, Any]) -> list[str]:
    tools = body.get("tools") or []
    if style == "google-genai":
        return [d["name"] for t in tools for d in t.get("functionDeclarations") or []]
    if style == "openai-chat":
        return [t["function"]["name"] for t in tools if t.get("type") == "function"]
    if style == "openai-responses":
        out = []
        for t in tools:
            if t.get("type") == "namespace":
                out += [f"{t['name']}.{n['name']}" for n in t.get("tools") or [] if "name" in n]
            elif "name" in t:
                out.append(t["name"])
            else:
                out.append(f"<{t.get('type')}>")
        return out
    # Anthropic server tools (web_search_20250305, bash_20250124, ...) by their type
    return [
        t["name"] if t.get("type") in (None, "custom") else f"<{t['type']}>" for t in tools if "name" in t
    ]


def _planned_calls(cell: Cell) -> list[tuple[str, str]]:
    return [(c.id, c.name) for r in cell.upstream if r.plan for c in r.plan.calls]


def _tool_results(cell: Cell) -> list[tuple[str, str | None]]:
    return [
        (tr.call_id, tr.name)
        for r in cell.upstream
        if r.conversation and r.conversation.last_role == "tool"
        for tr in r.conversation.tool_results
    ]


def artifact_returned(style: str, body: dict[str, Any], reasoning: str, signature: str | None) -> bool:
    """Whether ``body`` (a request to a ``style`` provider) carries back the artifact that provider
    issued: Anthropic's signed thinking block, Gemini's thoughtSignature (base64 of the fake's
    signature), the Responses reasoning item's encrypted_content, Chat's reasoning_content."""
    if style == "anthropic-messages":
        return any(
            b.get("type") == "thinking" and b.get("signature") == signature and b.get("thinking") == reasoning
            for m in body["messages"]
            if m["role"] == "assistant" and isinstance(m["content"], list)
            for b in m["content"]
        )
    if style == "google-genai":
        encoded = base64.b64encode((signature or "").encode()).decode()
        return any(
            p.get("thoughtSignature") == encoded and "functionCall" in p
            for c in body["contents"]
            if c.get("role") == "model"
            for p in c["parts"]
        )
    if style == "openai-responses":
        return any(
            i.get("type") == "reasoning" and i.get("encrypted_content") == signature
            for i in body["input"]
            if isinstance(i, dict)
        )
    return any(m.get("reasoning_content") == reasoning for m in body["messages"] if m["role"] == "assistant")


# ------------------------------------------------------------------------------------- the matrix

_GEMINI_REFUSES = pytest.mark.xfail(
    strict=True,
    reason="the client drops the signed thinking block, so the gateway has no thoughtSignature to "
    "give the function call back and Gemini refuses the tool turn (400)",
)


def _matrix_marks(client: str, style: str) -> list[pytest.MarkDecorator]:
    known = style == "google-genai" and not reasoning_carried(client, style)
    return [_GEMINI_REFUSES] if known else []


MATRIX = [pytest.param(c, s, id=f"{c}-{s}", marks=_matrix_marks(c, s)) for c in CLIENTS for s in STYLES]


@pytest.mark.parametrize(("client", "style"), MATRIX)
def test_agent_completes_task(env: Env, tap: ClientTap, tmp_path: Path, client: str, style: str) -> None:
    """The agent asks for its own writing tool, runs it, sends the result back paired with the
    call id, and prints the model's final answer; nothing the client always sends makes the
    gateway or the provider refuse it."""
    cell = run_cell(env, tap, tmp_path, client, style)
    res = cell.result
    refused = [(e.method, e.path, e.status, e.response_body[:300]) for e in cell.exchanges if e.status >= 400]
    assert not refused, f"the client got error answers: {refused}\n{res.describe()}"
    upstream_errors = [(r.path, r.status, r.body[-300:]) for r in cell.upstream if r.status != 200]
    assert not upstream_errors, f"the provider refused requests: {upstream_errors}\n{res.describe()}"
    assert res.exit_code == 0, res.describe()
    assert cell.file.exists(), f"{cell.file} was not written\n{res.describe()}"
    written = cell.file.read_text()
    # Codex's apply_patch always ends an added file with a newline
    expected = {CONTENT + "\n"} if client == "codex" else {CONTENT}
    assert written in expected, f"content {written!r}\n{res.describe()}"
    assert AGENT_DONE in res.stdout, res.describe()

    calls = _planned_calls(cell)
    assert len(calls) == 1, f"expected one tool call planned upstream, got {calls}"
    results = _tool_results(cell)
    assert results, f"no tool result reached the provider\n{res.describe()}"
    call_id, call_name = calls[0]
    if style == "google-genai":  # Gemini pairs by name (and the id when it issued one)
        assert any(rid == call_id or name == call_name for rid, name in results), (calls, results)
    else:
        assert [rid for rid, _ in results] == [call_id], f"call {call_id} answered by {results}"
    # the writing tool reached the provider in the provider's own form (the fake parsed it)
    assert call_name in upstream_tool_names(cell)
    # the reasoning artifact the provider issued with the call came back to it, in its own form
    issued = next(r.plan for r in cell.upstream if r.plan and r.plan.calls)
    answered = next(r for r in cell.upstream if r.conversation and r.conversation.last_role == "tool")
    assert issued.reasoning, "the agent plans think; no reasoning was issued"
    returned = artifact_returned(style, answered.json, issued.reasoning, issued.signature)
    if reasoning_carried(client, style):
        assert returned, (
            f"the {style} reasoning artifact of the tool-call turn did not come back to the provider"
        )
    else:
        assert not returned, f"{client} now sends its reasoning back: take it out of DROPS_REASONING"
    # every proxied answer names the gateway, the request, the provider and the model (SPEC §5)
    provider = FAKE_SPECS[style][3]
    for ex in cell.model_calls:
        h = ex.response_headers
        missing = [k for k in ("x-gateway", "x-request-id", "x-cache", "x-model-source") if k not in h]
        assert not missing, f"{ex.path}: no {missing} in {h}"
        models = {cell.model, GeminiCli.router_route(cell.model)}  # gemini-auto: the classifier's route
        assert h.get("x-provider") == provider and h.get("x-model") in models, (ex.path, h)
        # streamed when the client streams
        streamed = ex.json.get("stream") is True or ex.path.endswith(":streamGenerateContent")
        assert h.get("content-type", "").startswith("text/event-stream") == streamed, (ex.path, h)


# --------------------------------------------------------------------- same style: passthrough


def _without_model(body: Any) -> Any:
    body = copy.deepcopy(body)
    if isinstance(body, dict):
        body.pop("model", None)
    return body


_SAVER_KEYS = frozenset({"prompt_cache_key", "cache_control"})


def _without_savers(upstream: Any, sent: Any) -> Any:
    """``upstream`` without the keys the prompt-cache stage adds where ``sent`` has none."""
    if isinstance(upstream, dict) and isinstance(sent, dict):
        return {
            k: _without_savers(v, sent.get(k))
            for k, v in upstream.items()
            if not (k in _SAVER_KEYS and k not in sent)
        }
    if isinstance(upstream, list) and isinstance(sent, list) and len(upstream) == len(sent):
        return [_without_savers(u, s) for u, s in zip(upstream, sent, strict=True)]
    if isinstance(sent, str) and isinstance(upstream, list) and len(upstream) == 1:
        block = upstream[0]  # a string content turned into one block to carry a breakpoint
        if isinstance(block, dict) and block.get("type") == "text" and block.get("text") == sent:
            return sent
    return upstream


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two JSON values differ (paths), for a readable failure."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: {'missing upstream' if k in a else 'added upstream'}")
            else:
                out += _diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items sent, {len(b)} upstream"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {json.dumps(a)[:80]} != {json.dumps(b)[:80]}"]


SAME_STYLE = [pytest.param(c, NATIVE[c], id=c) for c in CLIENTS]


@pytest.mark.parametrize(("client", "style"), SAME_STYLE)
def test_same_style_body_reaches_provider_unchanged(
    env: Env, tap: ClientTap, tmp_path: Path, client: str, style: str
) -> None:
    """Client and provider speak the same style: every request body the client sent reaches the
    provider unchanged apart from the model name and what the token savers add (a
    ``prompt_cache_key``, gateway breakpoints), fields the gateway does not model included."""
    cell = run_cell(env, tap, tmp_path, client, style)
    sent = cell.model_calls
    assert len(sent) == len(cell.upstream), (
        f"{len(sent)} requests sent, {len(cell.upstream)} reached the provider: "
        f"{[e.path for e in sent]} vs {[r.path for r in cell.upstream]}"
    )
    unmatched = []
    for rec in cell.upstream:
        want = _without_model(rec.json)
        if client in DROPS_REASONING:
            want = _thinking_back(want, [e.json for e in sent])
        if not any(_without_model(e.json) == _without_savers(want, _without_model(e.json)) for e in sent):
            gaps = [_diff(m, _without_savers(want, m)) for m in (_without_model(e.json) for e in sent)]
            # the closest body: same shape first (a length mismatch hides every other difference)
            closest = min(gaps, key=lambda d: (any("items sent" in x for x in d), len(d)))
            unmatched.append((rec.path, closest[:12]))
    assert not unmatched, f"bodies changed on the way: {unmatched}"
    _assert_client_fields(cell)


def _thinking_back(upstream: dict[str, Any], sent: list[Any]) -> dict[str, Any]:
    """``upstream`` with the client's ``thinking`` back where the gateway turned it off: the client
    left the signed thinking block out of the tool-use turn its tool results answer, which Anthropic
    refuses with thinking on (app/styles/anthropic/encode.py, a documented degradation)."""
    if upstream.get("thinking") != {"type": "disabled"}:
        return upstream
    asked = [
        b["thinking"]
        for b in sent
        if isinstance(b, dict) and (b.get("thinking") or {}).get("type") == "enabled"
    ]
    last = upstream["messages"][-1]["content"]
    if asked and isinstance(last, list) and last and last[0].get("type") == "tool_result":
        return {**upstream, "thinking": asked[0]}
    return upstream


def _assert_client_fields(cell: Cell) -> None:
    """The client really sent the fields the issue names (so the equality above covers them)."""
    main = [e for e in cell.model_calls if e.json.get("tools")]
    assert main, "no main request with tools"
    body, headers = main[0].json, main[0].headers
    if cell.client == "claude-code":
        assert {"context_management", "thinking", "metadata", "output_config"} <= set(body)
        assert isinstance(json.loads(body["metadata"]["user_id"]), dict)  # a JSON string
        assert len(body["system"]) == 3
        assert any(t.get("defer_loading") for t in body["tools"])
        assert main[0].query.get("beta") == "true"
        betas = headers["anthropic-beta"]
        assert "claude-code-20250219" in betas
        for rec in cell.upstream:
            assert rec.headers.get("anthropic-beta") == betas, "anthropic-beta changed on the way"
            assert rec.headers.get("anthropic-version") == headers["anthropic-version"]
    elif cell.client.startswith("codex"):
        assert {"client_metadata", "include", "store", "prompt_cache_key", "reasoning"} <= set(body)
        assert body["store"] is False and body["include"] == ["reasoning.encrypted_content"]
    elif cell.client.startswith("gemini"):
        assert "thinkingConfig" in body["generationConfig"]
        assert all("parametersJsonSchema" in d for d in body["tools"][0]["functionDeclarations"])
    elif cell.client == "opencode":
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    elif cell.client == "qwen-code":
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
        # parameter-less functions (get_goal, list_agents): the equality above covers their absence
        assert any("parameters" not in t["function"] for t in body["tools"])
    elif cell.client == "continue":
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
        assert "Write" in [t["function"]["name"] for t in body["tools"]]
    elif cell.client == "continue-anthropic":
        assert body["stream"] is True and body["max_tokens"] == 32000 and "thinking" not in body
        betas = headers["anthropic-beta"]
        assert "prompt-caching" in betas
        assert all(rec.headers.get("anthropic-beta") == betas for rec in cell.upstream)
    elif cell.client == "cline":
        assert body["reasoning_effort"] == "low" and body["tool_choice"] == "auto"  # --thinking low
        assert body["stream_options"] == {"include_usage": True}
    elif cell.client == "cline-anthropic":
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}  # --thinking low
        # a server tool first, and so upstream (the gateway keeps the client's tool order)
        assert body["tools"][0]["type"].startswith("web_search_")
        assert all(rec.json["tools"][0] == body["tools"][0] for rec in cell.upstream)


# ------------------------------------------------------------------------ cross style: degrades


CROSS = [pytest.param(c, s, id=f"{c}-{s}") for c in CLIENTS for s in STYLES if s != NATIVE[c]]


@pytest.mark.parametrize(("client", "style"), CROSS)
def test_cross_style_tools_reach_provider(
    env: Env, tap: ClientTap, tmp_path: Path, client: str, style: str
) -> None:
    """Across styles every client function tool reaches the provider under its own name (custom
    tools as functions with one string ``input``); only tools without an equivalent (hosted web
    search: Responses ``web_search``, Anthropic ``web_search_*``) may be dropped; Codex's
    client-run ``tool_search`` arrives as a function."""
    cell = run_cell(env, tap, tmp_path, client, style)
    if not cell.upstream:
        pytest.fail(f"nothing reached the provider\n{cell.result.describe()}")
    dropped = set(dropped_tools(cell))
    no_equivalent = {n for n in dropped if n.startswith("<web_search")}  # hosted search, any style
    assert dropped <= no_equivalent, f"tools lost on the way to {style}: {sorted(dropped - no_equivalent)}"


# ------------------------------------------------------------------------------------ wrong key


AUTH_WORDS = ("401", "authenticat", "api key", "unauthorized", "invalid")
WRONG_KEY_LIMIT_S = 15.0


@pytest.mark.parametrize(
    "client",
    [
        c
        for c in CLIENTS
        if c in ("claude-code", "codex", "gemini", "opencode", "qwen-code", "continue", "cline")
    ],
)
def test_wrong_key_gives_a_quick_clear_auth_error(
    env: Env, tap: ClientTap, tmp_path: Path, client: str
) -> None:
    """A wrong gateway key: the client stops within seconds with its own auth error, no file."""
    _skip_unless_served(env, client)
    style = NATIVE[client] if NATIVE[client] in env.fakes else "openai-chat"
    tap.clear()
    workdir = tmp_path / "work"
    workdir.mkdir()
    target = workdir / "hello.txt"
    prompt = agent_prompt(str(target), CONTENT)
    res = CLIENTS[client].run(
        tap.base_url, "wrong-gateway-key", route(env, style), workdir, prompt, timeout=WRONG_KEY_LIMIT_S + 25
    )
    statuses = [e.status for e in tap.exchanges]
    print(f"\n{client} wrong key: exit {res.exit_code} in {res.duration:.1f}s, {len(statuses)} requests")
    assert statuses and set(statuses) == {401}, statuses
    assert not target.exists()
    assert not any(f.requests for f in env.fakes.values()), "a request with a wrong key reached a provider"
    assert res.exit_code != 0, res.describe()
    assert any(w in res.output.lower() for w in AUTH_WORDS), res.describe()
    assert res.duration < WRONG_KEY_LIMIT_S, (
        f"{client} needed {res.duration:.1f}s and {len(statuses)} requests to give up; "
        f"response headers: {tap.exchanges[0].response_headers}\n{res.describe()}"
    )


# -------------------------------------------------------------------------------- side endpoints


def test_claude_code_default_traffic_probe(env: Env, tap: ClientTap, tmp_path: Path) -> None:
    """Without CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC Claude Code first sends HEAD /api/hello
    to the base URL; the gateway answers it and the task still completes."""
    _skip_unless_ready(env, "claude-code", "anthropic-messages")
    tap.clear()
    workdir = tmp_path / "work"
    workdir.mkdir()
    target = workdir / "hello.txt"
    client = ClaudeCode()
    res = client.run(
        tap.base_url,
        KEY,
        route(env, "anthropic-messages"),
        workdir,
        agent_prompt(str(target), CONTENT),
        extra_env={"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": ""},
    )
    probes = [e for e in tap.exchanges if e.path == "/api/hello"]
    assert probes and probes[0].method == "HEAD", [(e.method, e.path) for e in tap.exchanges]
    assert probes[0].status < 500, probes[0].status
    print(f"\nHEAD /api/hello -> {probes[0].status}")
    assert res.exit_code == 0 and target.read_text() == CONTENT, res.describe()


def test_side_endpoints_answer(env: Env) -> None:
    """What the clients call besides the model call: ``?beta=true``, model listing in the
    OpenAI, Anthropic and Google shapes, Anthropic and Google token counting, the Claude Code
    probe. Every check runs; the failure lists all that did not answer."""
    ah = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    gh = {"x-goog-api-key": KEY}
    user = [{"role": "user", "content": "hi"}]
    checks: list[tuple[str, str, dict[str, str], Any, str]] = [
        ("GET", "/v1/models", {"authorization": f"Bearer {KEY}"}, None, "data"),
    ]
    if "anthropic-messages" in env.fakes:
        model = route(env, "anthropic-messages")
        checks += [
            (
                "POST",
                "/v1/messages?beta=true",
                ah,
                {"model": model, "max_tokens": 64, "messages": user},
                "content",
            ),
            ("GET", "/v1/models", ah, None, "data"),
            (
                "POST",
                "/v1/messages/count_tokens?beta=true",
                ah,
                {"model": model, "messages": user},
                "input_tokens",
            ),
        ]
    if "google-genai" in env.fakes:
        model = route(env, "google-genai")
        contents = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
        checks += [
            ("GET", "/v1beta/models", gh, None, "models"),
            ("POST", f"/v1beta/models/{model}:countTokens", gh, contents, "totalTokens"),
        ]
    failures = []
    with httpx.Client(base_url=env.url, timeout=20) as http:
        for method, path, headers, body, key in checks:
            r = http.request(method, path, headers=headers, json=body)
            if r.status_code != 200 or key not in r.json():
                failures.append(f"{method} {path} -> {r.status_code} {r.text[:160]}")
        hello = http.head("/api/hello")
        if hello.status_code >= 500:
            failures.append(f"HEAD /api/hello -> {hello.status_code}")
    assert not failures, "\n".join(failures)


# ------------------------------------------------------- Gemini signatures and gateway-made ids

GEMINI_VARIANTS = {
    # two writing calls at once; the signature rides on the first (Gemini 3)
    "agent-think-parallel": ("hello.txt", "hello.txt.copy"),
    # two tool turns in a row, every answer with the same responseId (a caching proxy)
    "agent-think-twice-same-id": ("hello.txt", "hello.txt.2"),
}


@pytest.mark.parametrize("variant", list(GEMINI_VARIANTS))
@pytest.mark.parametrize("client", ["claude-code", "codex"])
def test_gemini_answers_and_call_ids_through_real_clients(
    env: Env, tap: ClientTap, tmp_path: Path, client: str, variant: str
) -> None:
    """Issue 13: against a Gemini upstream that streams thoughts, then the answer in small chunks
    signed on the last one (and function calls signed on the first of several), Claude Code and
    Codex print the whole final answer; the gateway's call ids never repeat, even when the
    provider repeats its responseId, so the client does not loop."""
    _skip_unless_ready(env, client, "google-genai")
    for fake in env.fakes.values():
        fake.clear()
    tap.clear()
    workdir = tmp_path / "work"
    workdir.mkdir()
    files = [workdir / name for name in GEMINI_VARIANTS[variant]]
    model = env.model("google-genai", variant)
    res = CLIENTS[client].run(tap.base_url, KEY, model, workdir, agent_prompt(str(files[0]), CONTENT))
    upstream = list(env.fake("google-genai").requests)
    if os.environ.get("AGENTS_DUMP"):
        cell = Cell(client, "google-genai", model, res, list(tap.exchanges), upstream, files[0])
        _dump(Cell(**{**cell.__dict__, "client": f"{client}-{variant}"}), Path(os.environ["AGENTS_DUMP"]))
    print(
        f"\n{client} {variant}: exit {res.exit_code} in {res.duration:.1f}s, {len(upstream)} upstream calls"
    )
    assert len(upstream) <= 8, f"{len(upstream)} upstream calls: the client is looping\n{res.describe()}"
    assert res.exit_code == 0, res.describe()
    for f in files:
        assert f.exists(), f"{f.name} was not written\n{res.describe()}"
    assert AGENT_DONE in res.stdout, f"the final answer did not reach the client whole\n{res.describe()}"
    # every function response names the call it answers by the id the gateway made: never reused
    ids = [fr_id for rec in upstream for fr_id in _function_response_ids(rec.json)]
    latest = _function_response_ids(upstream[-1].json)
    assert len(latest) == len(set(latest)) >= (2 if "parallel" in variant else 1), latest
    assert len(set(latest)) == len(latest) and all(i.startswith("call_") for i in latest), ids
    if "twice" in variant:
        assert len(latest) == 2 and latest[0] != latest[1], f"a second call reused the first id: {latest}"


def _function_response_ids(body: dict[str, Any]) -> list[str]:
    return [
        str(p["functionResponse"].get("id"))
        for c in body["contents"]
        for p in c.get("parts") or []
        if "functionResponse" in p
    ]


@pytest.mark.parametrize("style", ["openai-chat", "anthropic-messages", "google-genai"])
def test_codex_tool_search_reaches_other_providers(
    env: Env, tap: ClientTap, tmp_path: Path, style: str
) -> None:
    """Issue 13: Codex's client-executed ``tool_search`` is offered to a provider of another style
    as a function; the model's call comes back to Codex as a ``tool_search_call`` item, Codex runs
    it and its ``tool_search_output`` reaches the provider as that call's result."""
    _skip_unless_ready(env, "codex", style)
    for fake in env.fakes.values():
        fake.clear()
    tap.clear()
    workdir = tmp_path / "work"
    workdir.mkdir()
    target = workdir / "hello.txt"
    model = env.model(
        style, "agent-think-search-deepseek" if style == "openai-chat" else "agent-think-search"
    )
    res = CLIENTS["codex"].run(tap.base_url, KEY, model, workdir, agent_prompt(str(target), CONTENT))
    upstream = list(env.fake(style).requests)
    offered = {t.name: t for r in upstream[:1] if r.conversation for t in r.conversation.tools}
    assert "tool_search" in offered, f"tool_search did not reach {style}: {sorted(offered)}"
    assert res.exit_code == 0 and target.exists(), res.describe()
    assert AGENT_DONE in res.stdout, res.describe()
    # Codex got a tool_search_call item and answered it with a tool_search_output
    answered = [
        i
        for e in tap.exchanges
        if isinstance(e.json, dict)
        for i in e.json.get("input") or []
        if isinstance(i, dict)
    ]
    assert any(i.get("type") == "tool_search_call" for i in answered), (
        "no tool_search_call came back from Codex"
    )
    assert any(i.get("type") == "tool_search_output" for i in answered), "Codex did not run the search"
    results = [tr for r in upstream if r.conversation for tr in r.conversation.tool_results]
    assert any(tr.text.startswith(("Tools loaded", "No tools matched")) for tr in results), results


def test_continue_tool_turn_refused_by_a_deepseek_style_chat_upstream(
    env: Env, tap: ClientTap, tmp_path: Path
) -> None:
    """Why Continue's Chat route is not DeepSeek-style: it sends no ``reasoning_content`` back, so
    a thinking-mode DeepSeek-style upstream refuses its tool-result turn; the provider's 400 and
    message reach Continue, which stops with an error after running the tool once."""
    _skip_unless_ready(env, "continue", "openai-chat")
    tap.clear()
    workdir = tmp_path / "work"
    workdir.mkdir()
    target = workdir / "hello.txt"
    model = env.model("openai-chat", "agent-think-deepseek")
    res = CLIENTS["continue"].run(tap.base_url, KEY, model, workdir, agent_prompt(str(target), CONTENT))
    assert [e.status for e in tap.exchanges] == [200, 400], res.describe()
    tool_turn = tap.exchanges[1]
    assert not any("reasoning_content" in m for m in tool_turn.json["messages"] if m["role"] == "assistant")
    assert b"reasoning_content" in tool_turn.response_body, tool_turn.response_body
    assert res.exit_code != 0 and "reasoning_content" in res.output, res.describe()
    assert target.read_text() == CONTENT  # the tool ran before the refused turn
