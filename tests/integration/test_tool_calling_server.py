"""A two-turn tool-calling conversation with a real local OpenAI-compatible server.

``ScriptedChatServer`` (aiohttp on 127.0.0.1) answers the first request with a
``get_weather`` tool call and the second with the final text; the unchanged
``OpenAIProvider`` talks to it over HTTP through the ``openai`` SDK. The test
runs the tool itself, as an application does, and checks what the server
really received, the interactions, and the spans.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import (
    Case,
    EvaluationResult,
    GenerationParams,
    Message,
    Model,
    ToolCall,
    evaluate,
)
from evaltrace.providers.openai_compat import OpenAIProvider
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import is_inference
from tests.support.agents._scenario import (
    MODEL_NAME,
    TOOL_SCHEMAS,
    ModelTurn,
    Toolbox,
    ToolCallRequest,
)
from tests.support.agents._server import ScriptedChatServer

pytestmark = pytest.mark.integration

QUESTION = "How warm is it in Paris?"
ANSWER = "It is 18 C and sunny in Paris."
SCRIPT = (
    ModelTurn(tool_calls=(ToolCallRequest("call_w1", "get_weather", {"city": "Paris"}),)),
    ModelTurn(text=ANSWER),
)
OPENAI_WEATHER = TOOL_SCHEMAS[0]
#: The same tool as a plain ``{name, description, parameters}``: sent in OpenAI's form.
PLAIN_WEATHER: dict[str, Any] = dict(OPENAI_WEATHER["function"])


async def _conversation(
    server: ScriptedChatServer, toolbox: Toolbox, tracer_provider: TracerProvider
) -> EvaluationResult:
    model = Model(OpenAIProvider(MODEL_NAME, base_url=server.base_url))
    params = GenerationParams(tools=(PLAIN_WEATHER,), extra={"tool_choice": "auto"})

    async def task(question: str) -> str:
        messages = [Message(role="user", content=question)]
        first = await model.complete(messages, params=params)
        messages.append(Message(role="assistant", content=first.text, tool_calls=first.tool_calls))
        messages += [
            Message(
                role="tool",
                content=toolbox.call(call.name, call.arguments),
                tool_call_id=call.call_id,
            )
            for call in first.tool_calls
        ]
        return (await model.complete(messages, params=params)).text

    try:
        return await evaluate([Case(input=QUESTION)], task=task, tracer_provider=tracer_provider)
    finally:
        await model.aclose()


def _check_requests(server: ScriptedChatServer, tool_result: str) -> None:
    first, second = server.requests
    for body in (first, second):
        assert body["tools"] == [OPENAI_WEATHER]
        assert body["tool_choice"] == "auto"
    assert first["messages"] == [{"role": "user", "content": QUESTION}]
    assert second["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_w1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "content": tool_result, "tool_call_id": "call_w1"},
    ]


@pytest.mark.parametrize("capture", [None, "SPAN_ONLY"], ids=["no content", "content on spans"])
async def test_a_tool_calling_conversation_with_a_real_server(
    capture: str | None,
    monkeypatch: pytest.MonkeyPatch,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    if capture is not None:
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", capture)
    toolbox = Toolbox()
    async with ScriptedChatServer(SCRIPT) as server:
        result = await _conversation(server, toolbox, tracer_provider)
    (invocation,) = toolbox.invocations
    assert (invocation.name, invocation.arguments) == ("get_weather", {"city": "Paris"})
    _check_requests(server, invocation.result)
    assert result.cases[0].error is None and result.cases[0].output == ANSWER

    first, second = sorted(result.interactions, key=lambda i: i.timestamp)
    assert first.tool_calls == (
        ToolCall(name="get_weather", arguments={"city": "Paris"}, call_id="call_w1"),
    )
    assert first.response == 'tool_call: get_weather({"city": "Paris"})'
    assert (first.finish_reasons, second.finish_reasons) == (["tool_calls"], ["stop"])
    assert (first.response_id, second.response_id) == ("chatcmpl-scripted-0", "chatcmpl-scripted-1")
    assert second.tool_calls == () and second.response == ANSWER
    assert 'assistant: tool_call: get_weather({"city": "Paris"})' in second.prompt
    assert second.prompt.endswith(f"tool: {invocation.result}")
    assert {(i.server_address, i.server_port) for i in result.interactions} == {
        ("127.0.0.1", server.port)
    }

    spans = [s for s in span_exporter.get_finished_spans() if is_inference(s.attributes or {})]
    assert len(spans) == 2
    definitions = [(s.attributes or {}).get(attr.TOOL_DEFINITIONS) for s in spans]
    if capture is None:
        assert definitions == [None, None]
    else:
        assert all(
            isinstance(d, str) and json.loads(d)[0]["name"] == "get_weather" for d in definitions
        )
