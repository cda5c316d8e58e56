"""Three real agents that run offline, traced by real GenAI instrumentations.

The ground truth for the span-tree readers: each agent plays the same
scripted weather conversation (:data:`WEATHER_SCRIPT`), its tools record
every invocation (:class:`Toolbox`), and each run returns an
:class:`AgentRun` (final answer, tools really invoked, model requests).

* :func:`run_langgraph_agent`: a LangGraph ``StateGraph`` with a ``ToolNode``,
  its model langchain_core's fake chat model; traced by OpenInference,
  OpenLLMetry or the OTel project's LangChain instrumentation.
* :func:`run_openai_agents_agent`: an OpenAI Agents SDK agent over the real
  ``openai`` client and :class:`ScriptedChatServer`; traced by the same three.
* :func:`run_plain_agent`: a loop instrumented by hand per the GenAI semconv.
"""

from tests.support.agents._instrumentation import (
    INSTRUMENTATIONS,
    Instrumented,
    content_capture,
    instrumented_langchain,
    instrumented_openai_agents,
    sdk_trace_processors_only_ours,
)
from tests.support.agents._langgraph import ScriptedChatModel, build_graph, run_langgraph_agent
from tests.support.agents._openai_agents import run_openai_agents_agent
from tests.support.agents._plain import ScriptedModel, run_plain_agent
from tests.support.agents._run import AgentRun
from tests.support.agents._scenario import (
    FINAL_ANSWER,
    MODEL_NAME,
    QUESTION,
    WEATHER_SCRIPT,
    ModelTurn,
    Toolbox,
    ToolCallRequest,
    ToolInvocation,
    tool_requests,
)
from tests.support.agents._server import ScriptedChatServer
from tests.support.agents._spans import outline, span_record

__all__ = [
    "FINAL_ANSWER",
    "INSTRUMENTATIONS",
    "MODEL_NAME",
    "QUESTION",
    "WEATHER_SCRIPT",
    "AgentRun",
    "Instrumented",
    "ModelTurn",
    "ScriptedChatModel",
    "ScriptedChatServer",
    "ScriptedModel",
    "ToolCallRequest",
    "ToolInvocation",
    "Toolbox",
    "build_graph",
    "content_capture",
    "instrumented_langchain",
    "instrumented_openai_agents",
    "outline",
    "run_langgraph_agent",
    "run_openai_agents_agent",
    "run_plain_agent",
    "sdk_trace_processors_only_ours",
    "span_record",
    "tool_requests",
]
