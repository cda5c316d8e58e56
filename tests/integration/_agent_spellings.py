"""How each instrumentation spells agents, inference calls and tool calls, read plainly.

A small, independent reading of the span spellings the agent tests assert
(the product's tree reader is tested against the fixtures these runs record;
this module is the tests' own second opinion, one function per spelling).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as genai

__all__ = ["SPELLINGS", "Spelling", "ToolSpan", "attr"]

OI_KIND = "openinference.span.kind"


@dataclasses.dataclass(frozen=True)
class ToolSpan:
    """What a tool span says: name, parsed arguments, result, call id (None: not recorded)."""

    name: str
    arguments: Mapping[str, Any]
    result: str | None
    call_id: str | None


def attr(span: ReadableSpan, key: str) -> Any:
    """``span.attributes[key]`` or None."""
    return (span.attributes or {}).get(key)


def _kind_is(value: str) -> Callable[[ReadableSpan], bool]:
    return lambda span: attr(span, OI_KIND) == value


def _operation_is(*values: str) -> Callable[[ReadableSpan], bool]:
    return lambda span: attr(span, genai.GEN_AI_OPERATION_NAME) in values


# -- tool spans ----------------------------------------------------------------------


def _semconv_tool(span: ReadableSpan) -> ToolSpan:
    """``gen_ai.tool.name``, ``gen_ai.tool.call.arguments`` (JSON), ``.result``, ``.id``."""
    return ToolSpan(
        name=attr(span, genai.GEN_AI_TOOL_NAME),
        arguments=json.loads(attr(span, genai.GEN_AI_TOOL_CALL_ARGUMENTS)),
        result=attr(span, genai.GEN_AI_TOOL_CALL_RESULT),
        call_id=attr(span, genai.GEN_AI_TOOL_CALL_ID),
    )


def _openllmetry_langchain_tool(span: ReadableSpan) -> ToolSpan:
    """OpenLLMetry wraps the callback's whole input and output in its argument/result JSON."""
    arguments = json.loads(attr(span, genai.GEN_AI_TOOL_CALL_ARGUMENTS))
    output = json.loads(attr(span, genai.GEN_AI_TOOL_CALL_RESULT))["output"]["kwargs"]
    return ToolSpan(
        name=attr(span, genai.GEN_AI_TOOL_NAME),
        arguments=arguments["inputs"],
        result=output["content"],
        call_id=arguments["kwargs"]["tool_call_id"],
    )


def _openinference_langchain_tool(span: ReadableSpan) -> ToolSpan:
    """``input.value`` is JSON for several arguments but the bare value for one (no name)."""
    raw = attr(span, "input.value")
    if attr(span, "input.mime_type") == "application/json":
        arguments = json.loads(raw)
    else:
        arguments = {"<single>": raw}
    message = json.loads(attr(span, "output.value"))["data"]
    return ToolSpan(attr(span, "tool.name"), arguments, message["content"], message["tool_call_id"])


def _openinference_agents_tool(span: ReadableSpan) -> ToolSpan:
    return ToolSpan(
        name=attr(span, "tool.name"),
        arguments=json.loads(attr(span, "input.value")),
        result=attr(span, "output.value"),
        call_id=None,
    )


# -- tool calls requested in model output -------------------------------------------


def _semconv_output_calls(span: ReadableSpan) -> list[tuple[str, str, Any]] | None:
    """``gen_ai.output.messages`` parts of type ``tool_call``: (id, name, arguments)."""
    raw = attr(span, genai.GEN_AI_OUTPUT_MESSAGES)
    if raw is None:
        return None
    return [
        (part["id"], part["name"], part["arguments"])
        for message in json.loads(raw)
        for part in message["parts"]
        if part["type"] == "tool_call"
    ]


def _openinference_output_calls(span: ReadableSpan) -> list[tuple[str, str, Any]] | None:
    """``llm.output_messages.{m}.message.tool_calls.{t}.tool_call.{id,function.name,...}``."""
    prefix = "llm.output_messages.0.message.tool_calls"
    calls = []
    for index in range(10):
        key = f"{prefix}.{index}.tool_call"
        name = attr(span, f"{key}.function.name")
        if name is None:
            break
        arguments = json.loads(attr(span, f"{key}.function.arguments"))
        calls.append((attr(span, f"{key}.id"), name, arguments))
    if not calls and attr(span, "llm.output_messages.0.message.role") is None:
        return None
    return calls


@dataclasses.dataclass(frozen=True)
class Spelling:
    """One instrumentation's spelling, and what it is known to leave out."""

    is_agent: Callable[[ReadableSpan], bool]
    is_inference: Callable[[ReadableSpan], bool]
    is_tool: Callable[[ReadableSpan], bool]
    tool: Callable[[ReadableSpan], ToolSpan]
    output_calls: Callable[[ReadableSpan], list[tuple[str, str, Any]] | None]
    agent_spans: int  # how many spans it marks as the agent for one run
    output_calls_recorded: bool = True  # tool-call requests in the model output spans
    tool_call_ids: bool = True  # the call id on the tool span


_SEMCONV_AGENT = _operation_is("invoke_agent")
_SEMCONV_CHAT = _operation_is("chat")
_SEMCONV_TOOL = _operation_is("execute_tool")

SPELLINGS: dict[tuple[str, str], Spelling] = {
    ("langgraph", "openinference"): Spelling(
        _kind_is("AGENT"),
        _kind_is("LLM"),
        _kind_is("TOOL"),
        _openinference_langchain_tool,
        _openinference_output_calls,
        # The graph and every run of its node named "agent": OpenInference marks a
        # LangChain run AGENT when "agent" is in its name.
        agent_spans=1 + 4,
    ),
    ("langgraph", "openllmetry"): Spelling(
        _SEMCONV_AGENT,
        _SEMCONV_CHAT,
        _SEMCONV_TOOL,
        _openllmetry_langchain_tool,
        _semconv_output_calls,
        agent_spans=2,  # "invoke_agent weather_agent" and its child "weather_agent.workflow"
    ),
    ("langgraph", "otel-genai"): Spelling(
        _SEMCONV_AGENT, _SEMCONV_CHAT, _SEMCONV_TOOL, _semconv_tool, _semconv_output_calls, 1
    ),
    ("openai-agents", "openinference"): Spelling(
        _kind_is("AGENT"),
        _kind_is("LLM"),
        _kind_is("TOOL"),
        _openinference_agents_tool,
        _openinference_output_calls,
        agent_spans=2,  # the trace ("weather workflow", AGENT) and the agent ("weather_agent")
        tool_call_ids=False,
    ),
    ("openai-agents", "openllmetry"): Spelling(
        _SEMCONV_AGENT,
        _SEMCONV_CHAT,
        _SEMCONV_TOOL,
        _semconv_tool,
        _semconv_output_calls,
        agent_spans=1,
        # Its "openai.response" spans read only Responses API output: with the chat
        # completions model they carry no gen_ai.output.messages (nor usage).
        output_calls_recorded=False,
        tool_call_ids=False,
    ),
    ("openai-agents", "otel-genai+otel-genai"): Spelling(
        _SEMCONV_AGENT,
        _SEMCONV_CHAT,
        _SEMCONV_TOOL,
        _semconv_tool,
        _semconv_output_calls,
        agent_spans=1,
        tool_call_ids=False,
    ),
    ("plain", "plain"): Spelling(
        _SEMCONV_AGENT, _SEMCONV_CHAT, _SEMCONV_TOOL, _semconv_tool, _semconv_output_calls, 1
    ),
}
