"""An OpenAI Agents SDK agent whose model is the scripted server, through the real ``openai`` SDK.

``OpenAIChatCompletionsModel`` over an ``AsyncOpenAI`` client pointed at
:class:`ScriptedChatServer` (loopback): every model request is a real HTTP
request the server logs. The SDK's own trace export to OpenAI is removed for
the run (see :func:`instrumented_openai_agents`); its tracing stays on, since
the instrumentations read the SDK's traces.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents import Agent, FunctionTool, OpenAIChatCompletionsModel, RunConfig, Runner, function_tool
from openai import AsyncOpenAI
from opentelemetry.sdk.trace import TracerProvider

from tests.support.agents._instrumentation import instrumented_openai_agents
from tests.support.agents._run import AgentRun
from tests.support.agents._scenario import (
    CONVERT_TEMPERATURE_DESCRIPTION,
    GET_WEATHER_DESCRIPTION,
    MODEL_NAME,
    QUESTION,
    WEATHER_SCRIPT,
    ModelTurn,
    Toolbox,
)
from tests.support.agents._server import ScriptedChatServer

__all__ = ["AGENT_NAME", "WORKFLOW_NAME", "agent_tools", "run_openai_agents_agent"]

AGENT_NAME = "weather_agent"
WORKFLOW_NAME = "weather workflow"
INSTRUCTIONS = "Answer weather questions with the tools; give temperatures in the unit asked."


def agent_tools(toolbox: Toolbox) -> list[FunctionTool]:
    """The scenario's tools as Agents SDK function tools (they run the toolbox's methods)."""

    @function_tool(description_override=GET_WEATHER_DESCRIPTION)
    def get_weather(city: str) -> str:
        return toolbox.get_weather(city)

    @function_tool(description_override=CONVERT_TEMPERATURE_DESCRIPTION)
    def convert_temperature(value: float, unit: str) -> str:
        return toolbox.convert_temperature(value, unit)

    return [get_weather, convert_temperature]


async def run_openai_agents_agent(
    question: str = QUESTION,
    *,
    tracer_provider: TracerProvider,
    instrumentation: str = "openinference",
    openai_sdk: str | None = None,
    capture_content: bool = True,
    tracing_disabled: bool = False,
    script: Sequence[ModelTurn] = WEATHER_SCRIPT,
) -> AgentRun:
    """Run the agent once, traced by ``instrumentation`` (and ``openai_sdk``, if given).

    ``instrumentation="otel-genai"`` emits no model spans of its own: pass
    ``openai_sdk="otel-genai"`` for its ``chat`` spans. ``tracing_disabled``
    is the SDK's ``RunConfig`` switch (the per-run ``set_tracing_disabled``).
    """
    toolbox = Toolbox()
    async with ScriptedChatServer(script) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        agent = Agent(
            name=AGENT_NAME,
            instructions=INSTRUCTIONS,
            tools=list(agent_tools(toolbox)),
            model=OpenAIChatCompletionsModel(model=MODEL_NAME, openai_client=client),
        )
        config = RunConfig(
            workflow_name=WORKFLOW_NAME,
            trace_include_sensitive_data=capture_content,
            tracing_disabled=tracing_disabled,
        )
        with instrumented_openai_agents(
            instrumentation, tracer_provider, capture_content=capture_content, openai_sdk=openai_sdk
        ):
            result = await Runner.run(agent, question, run_config=config)
        await client.close()
    return AgentRun(
        framework="openai-agents",
        instrumentation=instrumentation
        if openai_sdk is None
        else f"{instrumentation}+{openai_sdk}",
        answer=str(result.final_output),
        tool_invocations=tuple(toolbox.invocations),
        model_inputs=tuple(tuple(request["messages"]) for request in server.requests),
    )
