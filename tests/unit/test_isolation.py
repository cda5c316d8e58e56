"""Runs never see each other's calls, and evaltrace is a guest in the application's tracing."""

from __future__ import annotations

import asyncio

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import Case, ScriptedProvider, SemanticSimilarity, evaluate

from ._helpers import global_tracer_provider, inference_spans

REPLY = '{"score": 1, "explanation": "ok"}'


def _cases(prefix: str, n: int) -> list[Case]:
    return [Case(input=f"{prefix} question {i}", expected=f"{prefix} answer {i}") for i in range(n)]


async def test_concurrent_runs_with_different_providers_do_not_cross_talk(
    tracer_provider: TracerProvider,
) -> None:
    tracer = tracer_provider.get_tracer("app")
    runs = {}
    # Both runs inside one application span: the same trace id, still no mixing.
    with tracer.start_as_current_span("application request"):
        for name in ("alpha", "beta"):
            runs[name] = evaluate(
                _cases(name, 12),
                metrics=[SemanticSimilarity()],
                task=ScriptedProvider(f"{name} output", model=f"{name}-task", delay=0.001),
                judge=ScriptedProvider(REPLY, model=f"{name}-judge", delay=0.001),
                name=name,
                max_concurrency=4,
                tracer_provider=tracer_provider,
            )
        alpha, beta = await asyncio.gather(runs["alpha"], runs["beta"])
    for name, result in (("alpha", alpha), ("beta", beta)):
        assert len(result.interactions) == 24
        assert {i.model for i in result.interactions} == {f"{name}-task", f"{name}-judge"}
        assert all(name in i.prompt for i in result.interactions)
        for case in result.cases:
            assert len(case.interactions) == 2
            assert {i.case_id for i in case.interactions} == {case.case_id}
            assert all(str(case.case.input) in i.prompt for i in case.interactions)
    assert alpha.trace_id == beta.trace_id  # same application trace
    assert {i.span_id for i in alpha.interactions}.isdisjoint(i.span_id for i in beta.interactions)


async def test_application_provider_receives_our_spans_and_no_global_is_replaced() -> None:
    app_exporter = InMemorySpanExporter()
    app_provider = TracerProvider()
    app_provider.add_span_processor(SimpleSpanProcessor(app_exporter))
    with global_tracer_provider(app_provider):
        result = await evaluate([Case(input="q")], task=ScriptedProvider("a"))
        assert trace.get_tracer_provider() is app_provider
    spans = app_exporter.get_finished_spans()
    names = {s.name for s in spans}
    assert names >= {"evaluate evaluation", "chat scripted-model"}
    assert any(name.startswith("case ") for name in names)
    assert len(result.interactions) == len(inference_spans(spans)) == 1


async def test_without_an_application_provider_no_global_is_set() -> None:
    before = trace.get_tracer_provider()
    result = await evaluate([Case(input="q")], task=ScriptedProvider("a"))
    assert len(result.interactions) == 1
    assert trace.get_tracer_provider() is before
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


async def test_the_collector_is_added_once_however_many_runs(
    tracer_provider: TracerProvider,
) -> None:
    for _ in range(3):
        await evaluate(
            [Case(input="q")], task=ScriptedProvider("a"), tracer_provider=tracer_provider
        )
    processors = tracer_provider._active_span_processor._span_processors
    assert sum(type(p).__name__ == "InteractionCollector" for p in processors) == 1


async def test_run_buffers_are_released_when_the_run_ends(tracer_provider: TracerProvider) -> None:
    from evaltrace.tracing._telemetry import _collectors

    for _ in range(5):
        await evaluate(
            _cases("x", 3),
            metrics=[SemanticSimilarity()],
            task=ScriptedProvider("a"),
            judge=ScriptedProvider(REPLY),
            tracer_provider=tracer_provider,
        )
    collector = _collectors[tracer_provider]
    assert collector.open_spans == 0
    assert collector._runs == {} and collector._attached == {}


async def test_calls_outside_any_run_are_not_collected(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    from evaltrace.providers import Model
    from evaltrace.tracing._telemetry import _collectors

    result = await evaluate(
        [Case(input="q")], task=ScriptedProvider("a"), tracer_provider=tracer_provider
    )
    with global_tracer_provider(tracer_provider):
        await Model(ScriptedProvider("stray")).complete("outside")
    assert len(result.interactions) == 1
    assert _collectors[tracer_provider].open_spans == 0
    assert len(inference_spans(span_exporter.get_finished_spans())) == 2
