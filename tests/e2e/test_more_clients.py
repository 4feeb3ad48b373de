"""Agent frameworks users put in front of the gateway, driven for real against it: the OpenAI
Agents SDK, LangChain and pydantic-ai (each with a tool round trip through the gateway)."""

from __future__ import annotations

import asyncio

import openai

from tests.e2e.conftest import KEY, Env


def test_openai_agents_sdk_runs_a_tool_round_trip(env: Env) -> None:
    from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool, set_tracing_disabled

    set_tracing_disabled(True)  # no network: the SDK would export traces to OpenAI
    calls: list[str] = []

    @function_tool
    def lookup(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return "sunny"

    client = openai.AsyncOpenAI(base_url=f"{env.url}/v1", api_key=KEY, max_retries=0)
    model = OpenAIChatCompletionsModel(model=env.model("anthropic-messages"), openai_client=client)
    agent = Agent(name="assistant", instructions="Use the tool.", model=model, tools=[lookup])
    result = Runner.run_sync(agent, "use the tool please")
    assert calls, "the tool was never called"
    assert "Tool results" in str(result.final_output) and "sunny" in str(result.final_output)


def test_openai_agents_sdk_on_the_responses_api(env: Env) -> None:
    from agents import Agent, OpenAIResponsesModel, Runner, set_tracing_disabled

    set_tracing_disabled(True)
    client = openai.AsyncOpenAI(base_url=f"{env.url}/v1", api_key=KEY, max_retries=0)
    model = OpenAIResponsesModel(model=env.model("google-genai"), openai_client=client)
    result = Runner.run_sync(Agent(name="a", model=model), "hello there")
    assert str(result.final_output) == "Echo: hello there"


def test_langchain_chat_model_with_tools_and_streaming(env: Env) -> None:
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    llm = ChatOpenAI(
        model=env.model("anthropic-messages"), base_url=f"{env.url}/v1", api_key=KEY, max_retries=0
    )
    assert llm.invoke("plain question").content == "Echo: plain question"
    assert "".join(str(c.content) for c in llm.stream("streamed question")) == "Echo: streamed question"
    with_tools = llm.bind_tools([add])
    first = with_tools.invoke([HumanMessage("use the tool to add")])
    assert first.tool_calls and first.tool_calls[0]["name"] == "add"
    call = first.tool_calls[0]
    answer = with_tools.invoke(
        [
            HumanMessage("use the tool to add"),
            first,
            ToolMessage(str(add.invoke(call["args"])), tool_call_id=call["id"]),
        ]
    )
    assert str(answer.content).startswith("Tool results:")


def test_pydantic_ai_agent_with_a_tool(env: Env) -> None:
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    provider = OpenAIProvider(base_url=f"{env.url}/v1", api_key=KEY)
    agent = Agent(OpenAIChatModel(env.model("google-genai"), provider=provider))
    seen: list[str] = []

    @agent.tool_plain
    def weather(city: str) -> str:
        """The weather in a city."""
        seen.append(city)
        return "rainy"

    result = asyncio.run(agent.run("use the tool for the weather"))
    assert seen and "rainy" in result.output
