"""Content goes to spans only on opt-in; interactions always have it; secrets go nowhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import httpx2
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util.types import AttributeValue

from evaltrace import (
    Case,
    EvaluationResult,
    Message,
    ScriptedProvider,
    SemanticSimilarity,
    evaluate,
)
from evaltrace.providers.openai_compat import OpenAIProvider
from evaltrace.tracing import _attributes as attr

from ._helpers import chat_completion_body, inference_spans, mock_openai_client, span_text

QUESTION = "What is the secret capital of Atlantis?"
ANSWER = "Poseidonia, under the waves."
SECRET = "sk-proj-SUPERSECRETVALUE0123456789abcdefXYZ"


async def _run(tracer_provider: TracerProvider) -> EvaluationResult:
    return await evaluate(
        [Case(input=QUESTION, expected="Poseidonia")],
        metrics=[SemanticSimilarity()],
        task=ScriptedProvider(ANSWER),
        judge=ScriptedProvider('{"score": 0.7, "explanation": "partly"}'),
        tracer_provider=tracer_provider,
    )


async def test_no_content_in_spans_by_default_but_full_content_in_interactions(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    result = await _run(tracer_provider)
    for span in span_exporter.get_finished_spans():
        text = span_text(span)
        assert QUESTION not in text and ANSWER not in text
        assert attr.INPUT_MESSAGES not in (span.attributes or {})
    task_call = next(i for i in result.interactions if i.purpose == "task")
    assert task_call.prompt == QUESTION
    assert task_call.response == ANSWER
    assert task_call.messages == [Message(role="user", content=QUESTION)]
    assert "messages" not in task_call.metadata  # one user message: the prompt says it all
    judge_call = next(i for i in result.interactions if i.purpose == "semantic_evaluation")
    assert QUESTION in judge_call.prompt and ANSWER in judge_call.prompt
    assert judge_call.prompt.startswith("system: You are a strict")
    assert [m.role for m in judge_call.messages] == ["system", "user"]
    assert judge_call.messages[0].content.startswith("You are a strict")
    assert (
        judge_call.messages[1].content.endswith(ANSWER)
        and QUESTION in judge_call.messages[1].content
    )
    assert [m.role for m in judge_call.messages] == ["system", "user"]
    assert '"score": 0.7' in judge_call.response


@pytest.mark.parametrize("mode", ["SPAN_ONLY", "SPAN_AND_EVENT", "true"])
async def test_content_on_spans_when_the_user_opts_in(
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", mode)
    result = await _run(tracer_provider)
    task_span = next(
        s
        for s in inference_spans(span_exporter.get_finished_spans())
        if cast(Mapping[str, AttributeValue], s.attributes)[attr.PURPOSE] == "task"
    )
    assert task_span.attributes is not None
    input_messages = task_span.attributes[attr.INPUT_MESSAGES]
    output_messages = task_span.attributes[attr.OUTPUT_MESSAGES]
    assert isinstance(input_messages, str) and isinstance(output_messages, str)  # JSON text
    assert QUESTION in input_messages
    assert ANSWER in output_messages
    task_call = next(i for i in result.interactions if i.purpose == "task")
    assert (task_call.prompt, task_call.response) == (QUESTION, ANSWER)


@pytest.mark.parametrize("mode", ["NO_CONTENT", "EVENT_ONLY", "false"])
async def test_modes_without_span_content_keep_spans_clean(
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", mode)
    result = await _run(tracer_provider)
    assert all(QUESTION not in span_text(s) for s in span_exporter.get_finished_spans())
    assert next(i for i in result.interactions if i.purpose == "task").prompt == QUESTION


async def test_api_key_never_reaches_spans_interactions_or_results(
    monkeypatch: pytest.MonkeyPatch,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_AND_EVENT")
    seen_auth: list[str] = []

    def server(request: httpx2.Request) -> httpx2.Response:
        seen_auth.append(request.headers["authorization"])
        if len(seen_auth) == 1:  # the first call is rejected, echoing the key as OpenAI does
            return httpx2.Response(
                401,
                json={
                    "error": {
                        "message": f"Incorrect API key provided: {SECRET}",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
        return httpx2.Response(200, json=chat_completion_body('{"score": 1, "explanation": "ok"}'))

    judge = OpenAIProvider("gpt-4o-mini", api_key=SECRET, http_client=mock_openai_client(server))
    result = await evaluate(
        [Case(input="q1", output="a", expected="a"), Case(input="q2", output="b", expected="b")],
        metrics=[SemanticSimilarity()],
        judge=judge,
        max_concurrency=1,
        tracer_provider=tracer_provider,
    )
    assert seen_auth == [f"Bearer {SECRET}"] * 2  # the key was really used
    assert any(i.error for i in result.interactions)  # and the failure was recorded
    dumped = result.model_dump_json()
    assert SECRET not in dumped and SECRET[-12:] not in dumped
    for span in span_exporter.get_finished_spans():
        assert SECRET not in span_text(span) and SECRET[-12:] not in span_text(span)
    assert SECRET not in repr(judge)
