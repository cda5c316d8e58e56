"""Streamed replies: usage captured, and the span ends however the stream ends."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx2
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from evaltrace import (
    Case,
    Completion,
    EvaluationResult,
    GenerationParams,
    Message,
    ScriptedProvider,
    evaluate,
)
from evaltrace.providers import Model
from evaltrace.providers.anthropic import AnthropicProvider
from evaltrace.providers.openai_compat import OpenAIProvider
from evaltrace.tracing import _attributes as attr

from ._helpers import inference_spans

STORY = "once upon a time there was a span"


async def _run_task(
    task: Callable[[str], Awaitable[str]], tracer_provider: TracerProvider
) -> EvaluationResult:
    return await evaluate([Case(input="tell me")], task=task, tracer_provider=tracer_provider)


async def test_full_stream_records_text_usage_and_stop(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    model = Model(ScriptedProvider(STORY))
    pieces: list[str] = []

    async def task(question: str) -> str:
        async with model.stream(question) as stream:
            async for text in stream:
                pieces.append(text)
        assert stream.completion is not None
        return stream.completion.text

    result = await _run_task(task, tracer_provider)
    assert "".join(pieces) == STORY and len(pieces) == 8
    (call,) = result.interactions
    assert call.response == STORY and call.output_tokens == 8
    assert call.finish_reasons == ["stop"]
    (span,) = inference_spans(span_exporter.get_finished_spans())
    assert span.attributes is not None
    assert span.attributes[attr.RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes["gen_ai.request.stream"] is True
    time_to_first_chunk = span.attributes["gen_ai.response.time_to_first_chunk"]
    assert isinstance(time_to_first_chunk, int | float)
    assert time_to_first_chunk >= 0


async def test_consumer_stopping_early_ends_the_span_with_the_partial_output(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    model = Model(ScriptedProvider(STORY))

    async def task(question: str) -> str:
        async with model.stream(question) as stream:
            async for text in stream:
                if text.strip() == "upon":
                    break
        return stream.text

    result = await _run_task(task, tracer_provider)
    (call,) = result.interactions
    assert call.response == "once upon"
    assert call.finish_reasons == ["error"]
    (span,) = inference_spans(span_exporter.get_finished_spans())
    assert span.end_time is not None


async def test_broken_stream_is_an_error_span_with_partial_output(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    model = Model(ScriptedProvider(STORY, break_after=3))

    async def task(question: str) -> str:
        async with model.stream(question) as stream:
            async for _ in stream:
                pass
        return stream.text

    result = await _run_task(task, tracer_provider)
    assert result.cases[0].error is not None and "stream broke" in result.cases[0].error
    (call,) = result.interactions
    assert call.response == "once upon a"
    assert call.error is not None and call.error.startswith("ConnectionResetError")
    (span,) = inference_spans(span_exporter.get_finished_spans())
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes[attr.RESPONSE_FINISH_REASONS] == ("error",)


def _sse(events: list[dict[str, Any] | str]) -> bytes:
    lines = []
    for event in events:
        data = event if isinstance(event, str) else json.dumps(event)
        lines.append(f"data: {data}\n\n")
    return "".join(lines).encode()


async def test_openai_stream_asks_for_usage_in_the_final_chunk(
    tracer_provider: TracerProvider,
) -> None:
    requests: list[dict[str, Any]] = []

    def server(request: httpx2.Request) -> httpx2.Response:
        requests.append(json.loads(request.content))
        base = {
            "id": "chatcmpl-s1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini-2024-07-18",
        }
        body = _sse(
            [
                {
                    **base,
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}],
                },
                {**base, "choices": [{"index": 0, "delta": {"content": "lo"}}]},
                {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                {
                    **base,
                    "choices": [],
                    "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
                },
                "[DONE]",
            ]
        )
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(server))
    model = Model(OpenAIProvider("gpt-4o-mini", api_key="sk-x", http_client=client))

    async def task(question: str) -> str:
        async with model.stream(question) as stream:
            return "".join([text async for text in stream])

    result = await _run_task(task, tracer_provider)
    assert requests[0]["stream"] is True
    assert requests[0]["stream_options"] == {"include_usage": True}
    (call,) = result.interactions
    assert (call.response, call.input_tokens, call.output_tokens) == ("Hello", 9, 2)
    assert call.response_id == "chatcmpl-s1"


async def test_anthropic_stream_collects_usage_from_start_and_delta_events(
    tracer_provider: TracerProvider,
) -> None:
    def event(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps(data)}\n\n"

    body = "".join(
        [
            event(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_1",
                        "type": "message",
                        "role": "assistant",
                        "model": "claude-sonnet-4-5",
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": 12, "output_tokens": 1},
                    },
                },
            ),
            event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "Bonjour"},
                },
            ),
            event("content_block_stop", {"type": "content_block_stop", "index": 0}),
            event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 3},
                },
            ),
            event("message_stop", {"type": "message_stop"}),
        ]
    ).encode()
    client = httpx2.AsyncClient(
        transport=httpx2.MockTransport(
            lambda r: httpx2.Response(
                200, content=body, headers={"content-type": "text/event-stream"}
            )
        )
    )
    model = Model(AnthropicProvider("claude-sonnet-4-5", api_key="sk-ant-x", http_client=client))

    async def task(question: str) -> str:
        async with model.stream(question) as stream:
            return "".join([text async for text in stream])

    result = await _run_task(task, tracer_provider)
    (call,) = result.interactions
    assert (call.response, call.input_tokens, call.output_tokens) == ("Bonjour", 12, 3)
    assert call.finish_reasons == ["end_turn"]
    assert call.provider == "anthropic"


async def test_provider_without_streaming_answers_in_one_chunk(
    tracer_provider: TracerProvider,
) -> None:
    class Plain:
        name, model, operation, in_process = "plain", "p", "chat", True
        server_address: str | None = None
        server_port: int | None = None

        async def complete(
            self, messages: Sequence[Message], params: GenerationParams
        ) -> Completion:
            from evaltrace import Completion

            return Completion(text="whole", input_tokens=1, output_tokens=1)

        async def aclose(self) -> None: ...

    model = Model(Plain())

    async def task(question: str) -> str:
        async with model.stream(question) as stream:
            return "|".join([text async for text in stream])

    result = await _run_task(task, tracer_provider)
    assert result.cases[0].output == "whole"
    assert result.interactions[0].tokens_used == 2
