"""A LangGraph agent: a real ``StateGraph`` (model node, ``ToolNode``, ``tools_condition``).

Its model is langchain_core's ``GenericFakeChatModel`` playing the script,
subclassed to accept ``bind_tools`` (the tools then reach the model call's
invocation parameters, as with a real chat model), to name its model and
provider, and to keep the messages of every request it receives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.messages.utils import convert_to_openai_messages
from langchain_core.outputs import ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from opentelemetry.sdk.trace import TracerProvider
from pydantic import Field

from tests.support.agents._instrumentation import instrumented_langchain
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
from tests.support.agents._server import COMPLETION_TOKENS, PROMPT_TOKENS

__all__ = ["ScriptedChatModel", "build_graph", "run_langgraph_agent"]

PROVIDER = "scripted"


def _message(turn: ModelTurn, index: int) -> AIMessage:
    input_tokens = PROMPT_TOKENS + index
    return AIMessage(
        content=turn.text or "",
        tool_calls=[
            {"name": c.name, "args": dict(c.arguments), "id": c.call_id, "type": "tool_call"}
            for c in turn.tool_calls
        ],
        id=f"scripted-{index}",
        response_metadata={
            "model_name": MODEL_NAME,
            "finish_reason": "tool_calls" if turn.tool_calls else "stop",
        },
        usage_metadata={
            "input_tokens": input_tokens,
            "output_tokens": COMPLETION_TOKENS,
            "total_tokens": input_tokens + COMPLETION_TOKENS,
        },
    )


class ScriptedChatModel(GenericFakeChatModel):
    """``GenericFakeChatModel`` with tools, a model name, and a log of what it received."""

    model_name: str = MODEL_NAME
    received: list[list[BaseMessage]] = Field(default_factory=list)

    @classmethod
    def from_script(cls, script: Sequence[ModelTurn]) -> ScriptedChatModel:
        """A model answering request ``i`` with turn ``i`` of ``script``."""
        messages: Iterator[AIMessage | str] = iter(
            [_message(turn, index) for index, turn in enumerate(script)]
        )
        return cls(messages=messages)

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind the tools' OpenAI schemas, as a real chat model does."""
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.received.append(list(messages))
        return super()._generate(messages, *args, **kwargs)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = PROVIDER
        params["ls_model_name"] = self.model_name
        return params

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}


def langchain_tools(toolbox: Toolbox) -> list[BaseTool]:
    """The scenario's tools as LangChain tools (they run the toolbox's methods)."""

    def get_weather(city: str) -> str:
        return toolbox.get_weather(city)

    def convert_temperature(value: float, unit: str) -> str:
        return toolbox.convert_temperature(value, unit)

    return [
        StructuredTool.from_function(get_weather, description=GET_WEATHER_DESCRIPTION),
        StructuredTool.from_function(
            convert_temperature, description=CONVERT_TEMPERATURE_DESCRIPTION
        ),
    ]


def build_graph(model: ScriptedChatModel, tools: list[BaseTool]) -> CompiledStateGraph[Any]:
    """agent -> (tool calls? tools -> agent : end), compiled as ``weather_agent``."""
    bound = model.bind_tools(tools)

    async def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [await bound.ainvoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile(name="weather_agent")


async def run_langgraph_agent(
    question: str = QUESTION,
    *,
    tracer_provider: TracerProvider,
    instrumentation: str = "openinference",
    capture_content: bool = True,
    script: Sequence[ModelTurn] = WEATHER_SCRIPT,
) -> AgentRun:
    """Run the LangGraph agent once, traced by ``instrumentation`` into ``tracer_provider``."""
    toolbox = Toolbox()
    model = ScriptedChatModel.from_script(script)
    with instrumented_langchain(instrumentation, tracer_provider, capture_content=capture_content):
        graph = build_graph(model, langchain_tools(toolbox))
        state = await graph.ainvoke({"messages": [HumanMessage(question)]})
    final = state["messages"][-1]
    return AgentRun(
        framework="langgraph",
        instrumentation=instrumentation,
        answer=str(final.content),
        tool_invocations=tuple(toolbox.invocations),
        model_inputs=tuple(tuple(convert_to_openai_messages(m)) for m in model.received),
    )
