"""evaltrace as a guest: context across concurrency, host samplers, import order, no globals."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased

from evaltrace import Case, ScriptedProvider, SemanticSimilarity, evaluate
from evaltrace.providers import Model
from evaltrace.tracing import _attributes as attr

from ._helpers import inference_spans, no_global_tracer_provider


def third_party_call(provider: trace.TracerProvider, question: str) -> str:
    """A call traced the way another GenAI instrumentation would trace it (no evaltrace code)."""
    tracer = provider.get_tracer("some.instrumentation")
    with tracer.start_as_current_span(
        "chat other-model",
        kind=trace.SpanKind.CLIENT,
        attributes={
            attr.OPERATION_NAME: "chat",
            attr.PROVIDER_NAME: "openai",
            attr.REQUEST_MODEL: "other-model",
        },
    ) as span:
        span.set_attribute(attr.USAGE_INPUT_TOKENS, 7)
        span.set_attribute(attr.USAGE_OUTPUT_TOKENS, 3)
        return f"answer to {question}"


AsyncTask = Callable[[str], Awaitable[str]]
SyncTask = Callable[[str], str]


def _model() -> Model:
    return Model(ScriptedProvider("ours"))


def _gather_task(provider: TracerProvider) -> AsyncTask:
    model = _model()

    async def task(question: str) -> str:
        async def both() -> str:
            return third_party_call(provider, question)

        results = await asyncio.gather(model.complete(question), both())
        return results[1]

    return task


def _create_task_task(provider: TracerProvider) -> AsyncTask:
    model = _model()

    async def task(question: str) -> str:
        inner = asyncio.create_task(model.complete(question))
        answer = third_party_call(provider, question)
        await inner
        return answer

    return task


def _run_in_executor_task(provider: TracerProvider) -> AsyncTask:
    model = _model()

    async def task(question: str) -> str:
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, third_party_call, provider, question)
        await model.complete(question)
        return answer

    return task


def _thread_pool_task(provider: TracerProvider) -> AsyncTask:
    pool = ThreadPoolExecutor(max_workers=2)

    async def task(question: str) -> str:
        future = pool.submit(third_party_call, provider, question)
        return await asyncio.wrap_future(future)

    return task


def _sync_task(provider: TracerProvider) -> SyncTask:
    def task(question: str) -> str:
        return third_party_call(provider, question)

    return task


@pytest.mark.parametrize(
    "make_task",
    [_gather_task, _create_task_task, _run_in_executor_task, _thread_pool_task, _sync_task],
    ids=["gather", "create_task", "run_in_executor", "ThreadPoolExecutor", "sync-off-loop"],
)
async def test_task_calls_stay_in_their_case_across_concurrency(
    make_task: Callable[[TracerProvider], AsyncTask | SyncTask],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    result = await evaluate(
        [Case(input=f"question {i}") for i in range(4)],
        task=make_task(tracer_provider),
        max_concurrency=4,
        tracer_provider=tracer_provider,
    )
    spans = {s.context.span_id: s for s in span_exporter.get_finished_spans()}
    third_party = [s for s in spans.values() if s.name == "chat other-model"]
    assert len(third_party) == 4
    for case in result.cases:
        others = [i for i in case.interactions if i.model == "other-model"]
        assert len(others) == 1, case.case_id
        assert others[0].purpose == "task" and others[0].tokens_used == 10
        assert case.output == f"answer to {case.case.input}"
    # Every third-party span is in the run's trace, under its case span.
    for span in third_party:
        assert span.parent is not None
        parent = spans[span.parent.span_id]
        while not parent.name.startswith("case "):
            assert parent.parent is not None
            parent = spans[parent.parent.span_id]
        assert span.context.trace_id == parent.context.trace_id
    # Context propagation is switched off again after the run.
    from opentelemetry.instrumentation.threading import ThreadingInstrumentor

    assert not ThreadingInstrumentor().is_instrumented_by_opentelemetry


@pytest.mark.parametrize(
    "sampler", [ParentBased(ALWAYS_OFF), TraceIdRatioBased(0.0)], ids=["parent-off", "ratio-0"]
)
async def test_host_sampler_drops_export_but_interactions_are_complete(sampler) -> None:  # type: ignore[no-untyped-def]
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    result = await evaluate(
        [Case(input=f"q{i}", expected="a") for i in range(5)],
        metrics=[SemanticSimilarity()],
        task=ScriptedProvider("a"),
        judge=ScriptedProvider('{"score": 1, "explanation": "same"}'),
        tracer_provider=provider,
    )
    assert len(result.interactions) == 10
    assert all(c.scores[0].value == 1.0 for c in result.cases)
    assert exporter.get_finished_spans() == ()  # the host's decision holds for export


async def test_host_sampler_that_samples_keeps_exporting() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=TraceIdRatioBased(1.0))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    result = await evaluate([Case(input="q")], task=ScriptedProvider("a"), tracer_provider=provider)
    assert len(inference_spans(exporter.get_finished_spans())) == len(result.interactions) == 1


SCRIPT = """
import asyncio
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
{before}
import evaltrace
assert not isinstance(trace.get_tracer_provider(), TracerProvider) or {set_before}
{after}
result = asyncio.run(evaltrace.evaluate([evaltrace.Case(input="q")],
                                        task=evaltrace.ScriptedProvider("a")))
assert trace.get_tracer_provider() is provider
names = sorted(s.name for s in exporter.get_finished_spans())
assert names[0].startswith("case "), names
assert names[1:] == ["chat scripted-model", "evaluate evaluation"], names
assert len(result.interactions) == 1
print("ok")
"""


@pytest.mark.parametrize("order", ["before-import", "after-import"])
def test_application_provider_set_before_or_after_import(order: str) -> None:
    set_provider = "trace.set_tracer_provider(provider)"
    code = SCRIPT.format(
        before=set_provider if order == "before-import" else "",
        after=set_provider if order == "after-import" else "",
        set_before=order == "before-import",
    )
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


async def test_install_tracer_provider_is_explicit_and_captures_global_instrumentations() -> None:
    import evaltrace

    with no_global_tracer_provider():
        provider = evaltrace.install_tracer_provider()
        assert trace.get_tracer_provider() is provider
        assert evaltrace.install_tracer_provider() is provider

        def task(question: str) -> str:
            return third_party_call(trace.get_tracer_provider(), question)

        result = await evaluate([Case(input="q")], task=task)
        assert [i.model for i in result.interactions] == ["other-model"]
