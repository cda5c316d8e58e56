"""evaltrace's own call spans (``OwnCall``) are the spans opentelemetry-util-genai emits.

Without content capture, ``Model`` opens its spans itself (one attribute dict at
start, one at end); with content on spans the util's invocation does. Both must
give the same span, the same metrics and the same interaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util.genai.handler import TelemetryHandler

from evaltrace import (
    Case,
    Completion,
    GenerationParams,
    LLMInteraction,
    Message,
    ProviderError,
    RetryPolicy,
    ScriptedProvider,
    SemanticSimilarity,
    evaluate,
)
from evaltrace.providers import Model
from evaltrace.tracing import CallContent, Inherited, SpanRecord, interaction_of
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._read import live_record

from ._helpers import inference_spans

JUDGE_REPLY = '{"score": 0.8, "explanation": "close enough"}'
_CONTENT_KEYS = {attr.INPUT_MESSAGES, attr.OUTPUT_MESSAGES, attr.SYSTEM_INSTRUCTIONS}


class RemoteProvider(ScriptedProvider):
    """A scripted provider that looks remote: CLIENT spans, a server address."""

    name = "openai"
    in_process = False
    server_address: str | None = "llm.example"
    server_port: int | None = 8443


def _reply(messages: Sequence[Message]) -> Completion:
    return Completion(
        text=JUDGE_REPLY,
        input_tokens=12,
        output_tokens=7,
        response_model="judge-2025",
        response_id="resp-1",
        finish_reason="stop",
    )


async def _spans_and_metrics(
    monkeypatch: pytest.MonkeyPatch, mode: str | None, judge: Any
) -> tuple[list[ReadableSpan], dict[str, list[Any]], list[LLMInteraction]]:
    if mode is not None:
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", mode)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    result = await evaluate(
        [Case(input="q", output="a", expected="a")],
        [SemanticSimilarity()],
        judge=judge,
        tracer_provider=provider,
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    data = reader.get_metrics_data()
    assert data is not None
    points = {
        metric.name: sorted(
            (dict(p.attributes or {}) for p in metric.data.data_points), key=lambda a: sorted(a)
        )
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    return inference_spans(exporter.get_finished_spans()), points, result.interactions


def _span_shape(span: ReadableSpan) -> dict[str, Any]:
    attributes = {k: v for k, v in (span.attributes or {}).items() if k not in _CONTENT_KEYS}
    scope = span.instrumentation_scope
    return {
        "name": span.name,
        "kind": span.kind,
        "status": (span.status.status_code, span.status.description),
        "attributes": attributes,
        "events": [e.name for e in span.events],
        "scope": (scope.name, scope.version, scope.schema_url) if scope else None,
    }


@pytest.mark.parametrize("remote", [True, False])
@pytest.mark.parametrize("fails", [False, True])
async def test_own_span_equals_the_util_span(
    monkeypatch: pytest.MonkeyPatch, remote: bool, fails: bool
) -> None:
    def judge() -> Model:
        reply: Any = (
            ProviderError("upstream said no", retryable=False, error_type="Upstream")
            if fails
            else _reply
        )
        scripted = RemoteProvider(reply) if remote else ScriptedProvider(reply)
        return Model(scripted, retry=RetryPolicy(max_attempts=1))

    own_spans, own_metrics, own_calls = await _spans_and_metrics(monkeypatch, None, judge())
    util_spans, util_metrics, util_calls = await _spans_and_metrics(
        monkeypatch, "SPAN_ONLY", judge()
    )
    assert len(own_spans) == len(util_spans) == 1
    assert attr.INPUT_MESSAGES not in (own_spans[0].attributes or {})
    assert attr.INPUT_MESSAGES in (util_spans[0].attributes or {})  # the util emitted that one
    assert [_span_shape(s) for s in own_spans] == [_span_shape(s) for s in util_spans]
    assert own_metrics == util_metrics
    assert "gen_ai.client.operation.duration" in own_metrics
    assert bool(own_metrics.get("gen_ai.client.token.usage")) is not fails
    strip = {"latency", "timestamp", "trace_id", "span_id"}
    assert [c.model_dump() | dict.fromkeys(strip) for c in own_calls] == [
        c.model_dump() | dict.fromkeys(strip) for c in util_calls
    ]


async def test_own_conversion_equals_the_generic_conversion(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    """An own call's record (its attribute dicts) and the SDK span's record convert alike."""
    result = await evaluate(
        [Case(input="q", output="a", expected="a")],
        [SemanticSimilarity()],
        judge=RemoteProvider(_reply),
        tracer_provider=tracer_provider,
    )
    (span,) = inference_spans(span_exporter.get_finished_spans())
    (interaction,) = result.interactions
    reply = [Message(role="assistant", content=interaction.response)]
    content = CallContent(interaction.messages, reply)
    generic = interaction_of(
        live_record(span, content), Inherited(case_id=interaction.case_id, trial=0)
    )
    assert interaction == generic


async def test_an_inner_util_instrumentation_fills_what_evaltrace_did_not_set(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    """An instrumentation built on the util inside our call publishes into our span."""
    handler = TelemetryHandler(tracer_provider=tracer_provider)

    def instrumented_sdk_call(messages: Sequence[Message]) -> Completion:
        inner = handler.inference("openai", request_model="inner-model")
        inner.top_p = 0.5
        inner.response_model_name = "inner-response-model"
        inner.attributes["openai.api.type"] = "chat_completions"
        inner.stop()
        return Completion(text=JUDGE_REPLY, input_tokens=3, output_tokens=4)

    result = await evaluate(
        [Case(input="q", output="a", expected="a")],
        [SemanticSimilarity()],
        judge=RemoteProvider(instrumented_sdk_call),
        tracer_provider=tracer_provider,
    )
    (span,) = inference_spans(span_exporter.get_finished_spans())  # the inner one was suppressed
    attributes = span.attributes or {}
    assert attributes[attr.REQUEST_MODEL] == "scripted-model"  # ours wins
    assert attributes[attr.REQUEST_TOP_P] == 0.5  # filled in from the inner call
    assert attributes[attr.RESPONSE_MODEL] == "inner-response-model"
    assert attributes["openai.api.type"] == "chat_completions"
    assert len(result.interactions) == 1


async def test_request_parameters_and_caller_attributes_end_the_span(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    model = Model(RemoteProvider(_reply))

    async def task(question: str) -> str:
        params = GenerationParams(temperature=0.3, max_tokens=50, stop=("\n",), seed=7)
        completion = await model.complete(
            question, params=params, attributes={attr.METRIC_NAME: "custom", "app.tag": "x"}
        )
        return completion.text

    result = await evaluate([Case(input="q")], task=task, tracer_provider=tracer_provider)
    (span,) = inference_spans(span_exporter.get_finished_spans())
    attributes = span.attributes or {}
    assert attributes[attr.REQUEST_TEMPERATURE] == 0.3
    assert attributes[attr.REQUEST_MAX_TOKENS] == 50
    assert attributes[attr.REQUEST_STOP_SEQUENCES] == ("\n",)
    assert attributes[attr.REQUEST_SEED] == 7
    assert attributes["app.tag"] == "x"
    (call,) = result.interactions
    assert call.metric == "custom"
    assert call.shape.temperature == 0.3
    assert call.server_address == "llm.example"


def test_the_published_data_reads_as_a_new_inference_data() -> None:
    """``_PublishedData`` skips the dataclass constructor; every field must read its default."""
    from dataclasses import fields

    from opentelemetry.util.genai.invocation import InferenceData

    from evaltrace.tracing._span import _PublishedData

    cheap, built = _PublishedData(), InferenceData()
    assert isinstance(cheap, InferenceData)
    for field in fields(InferenceData):
        assert getattr(cheap, field.name) == getattr(built, field.name), field.name
    cheap.attributes["k"] = "v"
    assert _PublishedData().attributes == {}  # the mutable defaults are the call's own
    cheap.provider_name = "inner"
    assert InferenceData().provider_name is None  # writes stay on the instance


def test_span_attributes_reads_the_sdk_dict_and_copies_anything_else() -> None:
    from opentelemetry.sdk.trace import ReadableSpan

    from evaltrace.tracing._read import span_attributes

    provider = TracerProvider()
    span = provider.get_tracer("t").start_span("s", attributes={"a": 1, "b": ["x"]})
    span.end()
    assert isinstance(span, ReadableSpan)  # the SDK's span, which span_attributes reads
    fast = span_attributes(span)
    assert type(fast) is dict, "the SDK no longer keeps a plain dict: re-measure P1"
    assert fast == dict(span.attributes or {})
    assert fast.get("missing") is None
    plain = ReadableSpan("r", attributes={"c": 2})
    assert span_attributes(plain) == {"c": 2}
    assert span_attributes(ReadableSpan("empty")) == {}


async def test_a_span_that_cannot_be_converted_is_counted_and_the_run_goes_on(
    monkeypatch: pytest.MonkeyPatch,
    tracer_provider: TracerProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from evaltrace.tracing import processor
    from evaltrace.tracing._convert import interaction_of as convert

    # processor imports it without re-exporting it; the test wraps that very binding.
    sinks: list[processor.RunSink] = []

    def fails_for_the_second_case(record: SpanRecord, inherited: Inherited) -> Any:
        if inherited.case_id == "1":
            raise ValueError("unreadable")
        return convert(record, inherited)

    monkeypatch.setattr(processor, "interaction_of", fails_for_the_second_case)
    open_run = processor.InteractionCollector.open_run

    def recording_open_run(
        self: processor.InteractionCollector, run_id: str, **options: Any
    ) -> processor.RunSink:
        sinks.append(open_run(self, run_id, **options))
        return sinks[-1]

    monkeypatch.setattr(processor.InteractionCollector, "open_run", recording_open_run)
    cases = [Case(id=str(i), input=f"q{i}", output="a", expected="a") for i in range(3)]
    result = await evaluate(
        cases, [SemanticSimilarity()], judge=RemoteProvider(_reply), tracer_provider=tracer_provider
    )
    assert sorted(cast(str, i.case_id) for i in result.interactions) == ["0", "2"]
    assert len(sinks) == 1
    assert result.unrecorded_calls == 1  # the result says what it misses
    assert "1 model calls could not be recorded as interactions" in caplog.text
    assert "could not turn span chat scripted-model (trace " in caplog.text
