"""A plain-Python agent, instrumented by hand per the OpenTelemetry GenAI semantic conventions.

The loop: ask the model; run each tool call it asks for; feed the results
back; stop at the first answer without tool calls. Its spans:

* ``invoke_agent weather_agent`` (INTERNAL): ``gen_ai.operation.name=invoke_agent``,
  ``gen_ai.agent.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``;
* ``chat scripted-weather-1`` (INTERNAL: the model is in-process), one per model
  request: operation, provider, request/response model, response id, finish
  reasons, token usage, and with content capture ``gen_ai.input.messages``,
  ``gen_ai.output.messages`` (tool calls as ``tool_call`` parts) and
  ``gen_ai.tool.definitions``;
* ``execute_tool {tool}`` (INTERNAL), one per tool call: ``gen_ai.tool.name``,
  ``gen_ai.tool.type``, ``gen_ai.tool.call.id``, ``gen_ai.tool.description``,
  and with content capture ``gen_ai.tool.call.arguments`` / ``.result``.

Every attribute name comes from ``opentelemetry.semconv``'s GenAI module.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as genai
from opentelemetry.trace import SpanKind, Tracer

from tests.support.agents._run import AgentRun
from tests.support.agents._scenario import (
    MODEL_NAME,
    QUESTION,
    TOOL_SCHEMAS,
    WEATHER_SCRIPT,
    ModelTurn,
    Toolbox,
    ToolCallRequest,
)
from tests.support.agents._server import COMPLETION_TOKENS, PROMPT_TOKENS

__all__ = ["AGENT_NAME", "PROVIDER", "ScriptedModel", "run_plain_agent"]

AGENT_NAME = "weather_agent"
PROVIDER = "scripted"
MAX_TURNS = 10
_OP = genai.GenAiOperationNameValues
_DESCRIPTIONS = {s["function"]["name"]: s["function"]["description"] for s in TOOL_SCHEMAS}


class ScriptedModel:
    """The script as an in-process model; keeps the messages of every request."""

    def __init__(self, script: Sequence[ModelTurn]) -> None:
        self.script = tuple(script)
        self.received: list[tuple[dict[str, Any], ...]] = []

    async def complete(self, messages: Sequence[dict[str, Any]]) -> ModelTurn:
        """The next turn of the script (an ``IndexError`` past its end)."""
        self.received.append(tuple(json.loads(json.dumps(list(messages)))))
        return self.script[len(self.received) - 1]


def _parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    """One chat message (OpenAI format) as semconv message parts."""
    if message["role"] == "tool":
        return [
            {
                "type": "tool_call_response",
                "id": message["tool_call_id"],
                "response": message["content"],
            }
        ]
    parts: list[dict[str, Any]] = []
    if message.get("content"):
        parts.append({"type": "text", "content": message["content"]})
    for call in message.get("tool_calls", ()):
        function = call["function"]
        parts.append(
            {
                "type": "tool_call",
                "id": call["id"],
                "name": function["name"],
                "arguments": json.loads(function["arguments"]),
            }
        )
    return parts


def _semconv_messages(messages: Sequence[dict[str, Any]], finish_reason: str | None = None) -> str:
    converted: list[dict[str, Any]] = []
    for message in messages:
        item: dict[str, Any] = {"role": message["role"], "parts": _parts(message)}
        if finish_reason is not None:
            item["finish_reason"] = finish_reason
        converted.append(item)
    return json.dumps(converted)


def _assistant_message(turn: ModelTurn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": turn.text}
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": c.call_id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments_json},
            }
            for c in turn.tool_calls
        ]
    return message


async def _chat(
    tracer: Tracer, model: ScriptedModel, messages: list[dict[str, Any]], capture: bool
) -> ModelTurn:
    """One model request in its ``chat`` span."""
    index = len(model.received)
    with tracer.start_as_current_span(
        f"{_OP.CHAT.value} {MODEL_NAME}",
        kind=SpanKind.INTERNAL,
        attributes={
            genai.GEN_AI_OPERATION_NAME: _OP.CHAT.value,
            genai.GEN_AI_PROVIDER_NAME: PROVIDER,
            genai.GEN_AI_REQUEST_MODEL: MODEL_NAME,
        },
    ) as span:
        if capture:
            span.set_attribute(genai.GEN_AI_INPUT_MESSAGES, _semconv_messages(messages))
            span.set_attribute(
                genai.GEN_AI_TOOL_DEFINITIONS,
                json.dumps([{"type": "function", **s["function"]} for s in TOOL_SCHEMAS]),
            )
        turn = await model.complete(messages)
        finish = "tool_call" if turn.tool_calls else "stop"
        span.set_attribute(genai.GEN_AI_RESPONSE_MODEL, MODEL_NAME)
        span.set_attribute(genai.GEN_AI_RESPONSE_ID, f"scripted-{index}")
        span.set_attribute(genai.GEN_AI_RESPONSE_FINISH_REASONS, [finish])
        span.set_attribute(genai.GEN_AI_USAGE_INPUT_TOKENS, PROMPT_TOKENS + index)
        span.set_attribute(genai.GEN_AI_USAGE_OUTPUT_TOKENS, COMPLETION_TOKENS)
        if capture:
            span.set_attribute(
                genai.GEN_AI_OUTPUT_MESSAGES, _semconv_messages([_assistant_message(turn)], finish)
            )
        return turn


def _execute_tool(tracer: Tracer, toolbox: Toolbox, call: ToolCallRequest, capture: bool) -> str:
    """One tool call in its ``execute_tool`` span."""
    with tracer.start_as_current_span(
        f"{_OP.EXECUTE_TOOL.value} {call.name}",
        kind=SpanKind.INTERNAL,
        attributes={
            genai.GEN_AI_OPERATION_NAME: _OP.EXECUTE_TOOL.value,
            genai.GEN_AI_TOOL_NAME: call.name,
            genai.GEN_AI_TOOL_TYPE: "function",
            genai.GEN_AI_TOOL_CALL_ID: call.call_id,
            genai.GEN_AI_TOOL_DESCRIPTION: _DESCRIPTIONS[call.name],
        },
    ) as span:
        if capture:
            span.set_attribute(genai.GEN_AI_TOOL_CALL_ARGUMENTS, call.arguments_json)
        result = toolbox.call(call.name, call.arguments)
        if capture:
            span.set_attribute(genai.GEN_AI_TOOL_CALL_RESULT, result)
        return result


async def _loop(
    tracer: Tracer, model: ScriptedModel, toolbox: Toolbox, question: str, capture: bool
) -> str:
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    for _ in range(MAX_TURNS):
        turn = await _chat(tracer, model, messages, capture)
        messages.append(_assistant_message(turn))
        if not turn.tool_calls:
            return turn.text or ""
        for call in turn.tool_calls:
            result = _execute_tool(tracer, toolbox, call, capture)
            messages.append({"role": "tool", "tool_call_id": call.call_id, "content": result})
    raise RuntimeError(f"no answer after {MAX_TURNS} model turns")


async def run_plain_agent(
    question: str = QUESTION,
    *,
    tracer_provider: TracerProvider,
    capture_content: bool = True,
    script: Sequence[ModelTurn] = WEATHER_SCRIPT,
) -> AgentRun:
    """Run the plain agent once, its spans going to ``tracer_provider``."""
    tracer = tracer_provider.get_tracer("tests.support.agents.plain")
    model, toolbox = ScriptedModel(script), Toolbox()
    with tracer.start_as_current_span(
        f"{_OP.INVOKE_AGENT.value} {AGENT_NAME}",
        kind=SpanKind.INTERNAL,
        attributes={
            genai.GEN_AI_OPERATION_NAME: _OP.INVOKE_AGENT.value,
            genai.GEN_AI_AGENT_NAME: AGENT_NAME,
            genai.GEN_AI_PROVIDER_NAME: PROVIDER,
            genai.GEN_AI_REQUEST_MODEL: MODEL_NAME,
        },
    ) as span:
        if capture_content:
            span.set_attribute(
                genai.GEN_AI_INPUT_MESSAGES,
                _semconv_messages([{"role": "user", "content": question}]),
            )
        answer = await _loop(tracer, model, toolbox, question, capture_content)
        if capture_content:
            span.set_attribute(
                genai.GEN_AI_OUTPUT_MESSAGES,
                _semconv_messages([{"role": "assistant", "content": answer}], "stop"),
            )
    return AgentRun(
        framework="plain",
        instrumentation="plain",
        answer=answer,
        tool_invocations=tuple(toolbox.invocations),
        model_inputs=tuple(model.received),
    )
