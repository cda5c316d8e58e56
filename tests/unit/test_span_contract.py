"""Each model call is one GenAI span and one interaction whose fields are the span's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import cast

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id
from opentelemetry.util.types import AttributeValue

from evaltrace import (
    Case,
    Contains,
    Correctness,
    ProviderError,
    RetryPolicy,
    ScriptedProvider,
    SemanticSimilarity,
    evaluate,
)
from evaltrace.providers import Model
from evaltrace.tracing import _attributes as attr

from ._helpers import chat_completion_body, inference_spans, mock_openai_client

JUDGE_REPLY = '{"score": 0.8, "explanation": "close enough"}'


async def test_each_call_is_one_span_and_one_equal_interaction(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    task = ScriptedProvider("Paris is the capital.", model="task-model")
    judge = ScriptedProvider(JUDGE_REPLY, model="judge-model")
    result = await evaluate(
        [
            Case(input="What is the capital of France?", expected="Paris"),
            Case(input="What is 2+2?", expected="4"),
        ],
        metrics=[SemanticSimilarity(), Correctness()],
        judge=judge,
        task=task,
        tracer_provider=tracer_provider,
    )
    spans = inference_spans(span_exporter.get_finished_spans())
    assert len(spans) == len(task.calls) + len(judge.calls) == 6
    assert len(result.interactions) == len(spans)
    by_span_id = {format_span_id(s.context.span_id): s for s in spans}
    for interaction in result.interactions:
        span = by_span_id[interaction.span_id]
        attributes = span.attributes
        assert attributes is not None
        assert interaction.trace_id == format_trace_id(span.context.trace_id)
        assert interaction.model == attributes[attr.REQUEST_MODEL]
        assert interaction.provider == attributes[attr.PROVIDER_NAME]
        assert interaction.input_tokens == attributes[attr.USAGE_INPUT_TOKENS]
        assert interaction.output_tokens == attributes[attr.USAGE_OUTPUT_TOKENS]
        assert interaction.input_tokens is not None and interaction.output_tokens is not None
        assert interaction.tokens_used == interaction.input_tokens + interaction.output_tokens
        assert span.end_time is not None and span.start_time is not None
        assert interaction.latency == pytest.approx((span.end_time - span.start_time) / 1e9)
        assert interaction.timestamp == datetime.fromtimestamp(span.start_time / 1e9, UTC)
        assert interaction.timestamp.tzinfo is not None
        assert interaction.purpose == attributes[attr.PURPOSE]
        assert span.name == f"chat {attributes[attr.REQUEST_MODEL]!s}"
        assert attributes[attr.OPERATION_NAME] == "chat"
    purposes = sorted(i.purpose for i in result.interactions)
    assert purposes == ["correctness_evaluation"] * 2 + ["semantic_evaluation"] * 2 + ["task"] * 2
    assert [i.timestamp for i in result.interactions] == sorted(
        i.timestamp for i in result.interactions
    )


async def test_span_tree_is_evaluate_case_metric_chat(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    await evaluate(
        [Case(input="q", output="a", expected="a")],
        metrics=[SemanticSimilarity()],
        judge=ScriptedProvider(JUDGE_REPLY),
        name="tree",
        tracer_provider=tracer_provider,
    )
    spans = {s.context.span_id: s for s in span_exporter.get_finished_spans()}
    (judge_span,) = inference_spans(list(spans.values()))
    chain = []
    span: ReadableSpan | None = judge_span
    while span is not None:
        chain.append(span.name)
        span = spans.get(span.parent.span_id) if span.parent else None
    assert chain[:2] + chain[3:] == [
        "chat scripted-model",
        "metric semantic_similarity",
        "evaluate tree",
    ]
    assert chain[2].startswith("case ")
    root = next(s for s in spans.values() if s.parent is None)
    assert root.attributes is not None
    assert root.attributes[attr.RUN_NAME] == "tree"
    assert root.attributes[attr.DATASET_SIZE] == 1


async def test_openai_call_span_is_client_with_semconv_attributes(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    client = mock_openai_client(
        lambda request: __import__("httpx2").Response(200, json=chat_completion_body(JUDGE_REPLY))
    )
    from evaltrace.providers.openai_compat import OpenAIProvider

    judge = OpenAIProvider("gpt-4o-mini", api_key="sk-unit", http_client=client)
    result = await evaluate(
        [Case(input="q", output="a", expected="a")],
        metrics=[SemanticSimilarity()],
        judge=judge,
        tracer_provider=tracer_provider,
    )
    (span,) = inference_spans(span_exporter.get_finished_spans())
    assert span.kind is SpanKind.CLIENT
    a = span.attributes
    assert a is not None
    assert a[attr.PROVIDER_NAME] == "openai"
    assert a[attr.REQUEST_MODEL] == "gpt-4o-mini"
    assert a[attr.RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert a[attr.RESPONSE_ID] == "chatcmpl-test123"
    assert a[attr.RESPONSE_FINISH_REASONS] == ("stop",)
    assert (a[attr.USAGE_INPUT_TOKENS], a[attr.USAGE_OUTPUT_TOKENS]) == (11, 5)
    assert a[attr.SERVER_ADDRESS] == "api.openai.com"
    assert a[attr.SERVER_PORT] == 443
    assert a[attr.REQUEST_TEMPERATURE] == 0.0
    (interaction,) = result.interactions
    cost = interaction.cost()
    assert cost is not None and cost > 0
    assert result.totals.cost_usd == pytest.approx(float(cost))


async def test_start_attributes_are_set_when_the_span_starts(
    tracer_provider: TracerProvider,
) -> None:
    seen: list[dict[str, object]] = []

    class StartRecorder(SpanProcessor):
        def on_start(self, span: Span, parent_context: Context | None = None) -> None:
            seen.append(dict(span.attributes or {}))

    tracer_provider.add_span_processor(StartRecorder())
    await evaluate([Case(input="q")], task=ScriptedProvider("a"), tracer_provider=tracer_provider)
    starts = [s for s in seen if attr.OPERATION_NAME in s]
    assert starts, "no inference span seen at start"
    for key in (attr.OPERATION_NAME, attr.PROVIDER_NAME, attr.REQUEST_MODEL):
        assert key in starts[0]


async def test_failed_call_is_error_span_and_error_interaction_and_run_returns(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    failing = ScriptedProvider(
        ProviderError("boom from upstream", retryable=False, error_type="UpstreamError")
    )
    result = await evaluate(
        [Case(input="q", output="a", expected="a")],
        metrics=[SemanticSimilarity()],
        judge=Model(failing, retry=RetryPolicy(max_attempts=1)),
        tracer_provider=tracer_provider,
    )
    (span,) = inference_spans(span_exporter.get_finished_spans())
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes[attr.ERROR_TYPE] == "UpstreamError"
    (interaction,) = result.interactions
    assert interaction.error is not None and "boom from upstream" in interaction.error
    (score,) = result.cases[0].scores
    assert score.value is None and "boom from upstream" in (score.error or "")
    assert result.metrics["semantic_similarity"].failures == 1


async def test_retried_call_records_every_attempt(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    flaky = ScriptedProvider(
        [
            ProviderError("rate limited", retryable=True, status_code=429, retry_after=0.0),
            JUDGE_REPLY,
        ],
        cycle=False,
    )
    result = await evaluate(
        [Case(input="q", output="a", expected="a")],
        metrics=[SemanticSimilarity()],
        judge=flaky,
        tracer_provider=tracer_provider,
    )
    first, second = result.interactions
    assert (first.attempt, second.attempt) == (1, 2)
    assert first.error is not None and second.error is None
    assert result.cases[0].scores[0].value == 0.8
    assert len(inference_spans(span_exporter.get_finished_spans())) == 2


async def test_evaluation_result_events_on_the_case_span(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    await evaluate(
        [Case(input="q", output="Paris", expected="Paris")],
        metrics=[SemanticSimilarity(), Contains()],
        judge=ScriptedProvider(JUDGE_REPLY),
        tracer_provider=tracer_provider,
    )
    case_span = next(s for s in span_exporter.get_finished_spans() if s.name.startswith("case "))
    events = {
        cast(Mapping[str, AttributeValue], e.attributes)[attr.EVALUATION_NAME]: e
        for e in case_span.events
        if e.name == attr.EVALUATION_EVENT
    }
    assert set(events) == {"semantic_similarity", "contains"}
    semantic = events["semantic_similarity"].attributes
    assert semantic is not None
    assert semantic[attr.EVALUATION_SCORE_VALUE] == 0.8
    assert semantic[attr.EVALUATION_SCORE_LABEL] == "pass"
    assert semantic[attr.EVALUATION_EXPLANATION] == "close enough"


async def test_genai_client_metrics_are_recorded(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    await evaluate(
        [Case(input="q")],
        task=ScriptedProvider("an answer of five words"),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    data = metric_reader.get_metrics_data()
    assert data is not None
    points = {
        metric.name: metric.data.data_points
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert "gen_ai.client.operation.duration" in points
    usage = cast(Sequence[HistogramDataPoint], points["gen_ai.client.token.usage"])
    tokens = {
        cast(Mapping[str, AttributeValue], p.attributes)["gen_ai.token.type"]: p.sum for p in usage
    }
    assert tokens == {"input": 1, "output": 5}
