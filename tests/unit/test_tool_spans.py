"""A tool-calling conversation on spans and in interactions.

Tool definitions and tool call content reach spans only when the user opts in
to content capture; interactions always carry the tool calls, structured and
readable in the response.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import (
    Case,
    Completion,
    EvaluationResult,
    GenerationParams,
    Message,
    Model,
    ScriptedProvider,
    ToolCall,
    evaluate,
)
from evaltrace.tracing import _attributes as attr

from ._helpers import inference_spans, span_text

QUESTION = "How warm is it in Paris?"
WEATHER = {
    "name": "get_weather",
    "description": "Current weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
PARIS = ToolCall(name="get_weather", arguments={"city": "Paris"}, call_id="call_1")
TOOL_RESULT = '{"celsius": 18}'
ANSWER = "It is 18 C in Paris."


def _script() -> ScriptedProvider:
    ask = Completion(
        text="",
        input_tokens=20,
        output_tokens=8,
        finish_reason="tool_calls",
        tool_calls=(PARIS,),
        reasoning="The tool knows.",
    )
    return ScriptedProvider([ask, ANSWER], cycle=False)


async def _run(tracer_provider: TracerProvider, *, stream: bool = False) -> EvaluationResult:
    """Two turns: the model asks for the weather, the task runs the tool, the model answers."""
    model = Model(_script())
    params = GenerationParams(tools=(WEATHER,))

    async def ask(messages: list[Message]) -> Completion:
        if not stream:
            return await model.complete(messages, params=params)
        async with model.stream(messages, params=params) as streamed:
            async for _ in streamed:
                pass
        assert streamed.completion is not None
        return streamed.completion

    async def task(question: str) -> str:
        messages = [Message(role="user", content=question)]
        first = await ask(messages)
        messages.append(Message(role="assistant", content=first.text, tool_calls=first.tool_calls))
        messages += [
            Message(role="tool", content=TOOL_RESULT, tool_call_id=call.call_id)
            for call in first.tool_calls
        ]
        return (await ask(messages)).text

    return await evaluate([Case(input=QUESTION)], task=task, tracer_provider=tracer_provider)


def _check_interactions(result: EvaluationResult) -> None:
    assert result.cases[0].output == ANSWER
    first, second = sorted(result.interactions, key=lambda i: i.timestamp)
    assert first.tool_calls == (PARIS,)
    assert first.response == 'tool_call: get_weather({"city": "Paris"})'
    assert first.reasoning == "The tool knows."
    assert (first.finish_reasons, second.finish_reasons) == (["tool_calls"], ["stop"])
    assert second.tool_calls == () and second.response == ANSWER
    assert second.prompt == (
        f"user: {QUESTION}\n\n"
        'assistant: tool_call: get_weather({"city": "Paris"})\n\n'
        f"tool: {TOOL_RESULT}"
    )


def _spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return sorted(inference_spans(exporter.get_finished_spans()), key=lambda s: s.start_time or 0)


@pytest.mark.parametrize("stream", [False, True], ids=["own spans", "streamed (util spans)"])
async def test_without_content_capture_no_span_records_the_tools(
    stream: bool, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    result = await _run(tracer_provider, stream=stream)
    _check_interactions(result)
    spans = _spans(span_exporter)
    assert len(spans) == 2
    for span in span_exporter.get_finished_spans():
        assert attr.TOOL_DEFINITIONS not in (span.attributes or {})
        text = span_text(span)
        assert "get_weather" not in text and TOOL_RESULT not in text and "Paris" not in text
    assert [s.attributes.get(attr.RESPONSE_FINISH_REASONS) for s in spans if s.attributes] == [
        ("tool_calls",),
        ("stop",),
    ]


def _parts(span: ReadableSpan, key: str) -> list[dict[str, Any]]:
    """The messages of a span's ``gen_ai.input_messages``/``output_messages`` (JSON text)."""
    value = (span.attributes or {})[key]
    assert isinstance(value, str)
    messages: list[dict[str, Any]] = json.loads(value)
    return messages


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_with_content_capture_spans_carry_tools_calls_and_results_as_parts(
    stream: bool,
    monkeypatch: pytest.MonkeyPatch,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    _check_interactions(await _run(tracer_provider, stream=stream))
    first, second = _spans(span_exporter)
    for span in (first, second):
        definitions = (span.attributes or {})[attr.TOOL_DEFINITIONS]
        assert isinstance(definitions, str)
        assert json.loads(definitions) == [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Current weather of a city.",
                "parameters": WEATHER["parameters"],
            }
        ]
    (output,) = _parts(first, attr.OUTPUT_MESSAGES)
    assert output["parts"] == [
        {"type": "reasoning", "content": "The tool knows."},
        {
            "type": "tool_call",
            "name": "get_weather",
            "arguments": {"city": "Paris"},
            "id": "call_1",
        },
    ]
    assert [m["role"] for m in _parts(second, attr.INPUT_MESSAGES)] == ["user", "assistant", "tool"]
    _, assistant, tool = _parts(second, attr.INPUT_MESSAGES)
    assert assistant["parts"] == [
        {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"}
    ]
    assert tool["parts"] == [
        {"type": "tool_call_response", "response": TOOL_RESULT, "id": "call_1"}
    ]


async def test_scripted_provider_passes_tool_calls_through(tracer_provider: TracerProvider) -> None:
    provider = _script()
    params = GenerationParams(tools=(WEATHER,))
    completion = await Model(provider).complete(QUESTION, params=params)
    assert completion.tool_calls == (PARIS,) and completion.finish_reason == "tool_calls"
    assert provider.params[0].tools == (WEATHER,)


class _NoStream:
    """A provider without ``stream``: ``Model.stream`` answers with its one completion."""

    name, model, operation, in_process = "plain", "p", "chat", True
    server_address: str | None = None
    server_port: int | None = None

    async def complete(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        return Completion(text="", finish_reason="tool_calls", tool_calls=(PARIS,), reasoning="r")

    async def aclose(self) -> None: ...


async def test_a_provider_that_cannot_stream_streams_its_tool_calls_too(
    tracer_provider: TracerProvider,
) -> None:
    async with Model(_NoStream()).stream(QUESTION) as stream:
        assert [text async for text in stream] == []
    assert stream.completion is not None
    assert stream.completion.tool_calls == (PARIS,) and stream.completion.reasoning == "r"
