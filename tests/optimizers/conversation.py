"""Small agent conversations built in code, and how to run stages on them."""

from __future__ import annotations

from app.auth import Project
from app.canonical import Message, Request, Style, TextPart, ToolCallPart, ToolDef, ToolResultPart
from app.pipeline import RequestContext, Stage
from app.providers.mock import MockProvider
from app.routing.model_names import Resolution
from app.routing.routes import Route, Step


def listing(path: str, first: int, lines: list[str], sep: str = ":") -> str:
    body = "\n".join(f"{n}{sep}{text}" for n, text in enumerate(lines, first))
    return f"[File: {path} (500 lines total)]\n{body}\n(Open file: {path})"


def code(n: int, salt: str = "") -> list[str]:
    return [f"def f{i}(x):  # {salt} é漢字 🙂" if i % 3 == 0 else f"    return x + {i}" for i in range(n)]


def ctx_for(style: Style = "anthropic-messages", project: str = "p1") -> RequestContext:
    provider = MockProvider("target")
    provider.style = style
    ctx = RequestContext(request_id="t", style="openai-chat", project=Project(project))
    ctx.resolution = Resolution(Route("r", (Step(provider, "m"),)), "m", "request", None)
    return ctx


async def run(stages: list[Stage], req: Request, ctx: RequestContext | None = None) -> Request:
    ctx = ctx or ctx_for()
    for s in stages:
        out = await s.apply(req, ctx)
        assert isinstance(out, Request)
        req = out
    return req


def agent_turns(observations: list[str], calls: list[tuple[str, str]] | None = None) -> list[Request]:
    """Turn N's request: system, task, then N (assistant tool call, tool result) pairs."""
    calls = calls or [("open", f'{{"path": "src/a{i}.py"}}') for i in range(len(observations))]
    messages: list[Message] = [Message("user", [TextPart("Fix the bug in src/app.py please.")])]
    out: list[Request] = []
    for i, (obs, (name, args)) in enumerate(zip(observations, calls, strict=True)):
        messages = [
            *messages,
            Message("assistant", [TextPart(f"step {i}"), ToolCallPart(f"call_{i}", name, args)]),
            Message("tool", [ToolResultPart(f"call_{i}", [TextPart(obs)], name=name)]),
        ]
        out.append(
            Request(
                model="m",
                messages=messages,
                style="openai-chat",
                system=[TextPart("You are a coding agent. " * 200)],
                tools=[ToolDef(name, parameters={"type": "object"}) for name in ("open", "bash")],
            )
        )
    return out
