"""The bugs the foundation review found, one test each; every test fails on the code before it.

(Bug 1, metadata sharing, is in ``test_interaction_record.py``; bug 7, one task
per case up front, and bug 9, the close/start race, are here with the others.)
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from opentelemetry import context as otel_context
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context
from opentelemetry.util.genai._conversation_context import with_conversation_id

from evaltrace import (
    Case,
    Completion,
    ConfigurationError,
    Contains,
    Message,
    MetricContext,
    Model,
    ProviderError,
    RetryPolicy,
    Score,
    ScriptedProvider,
    SemanticSimilarity,
    evaluate,
)
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing import span_to_interaction

from ._helpers import inference_spans

VERDICT = '{"score": 0.9, "explanation": "fine"}'


class ClosingCounter(ScriptedProvider):
    """A scripted provider that counts how often it was closed and refuses calls after."""

    def __init__(self, reply: Any) -> None:
        super().__init__(reply)
        self.closed = 0

    async def complete(self, messages: Sequence[Message], params: Any) -> Completion:
        if self.closed:
            raise RuntimeError("client has been closed")
        return await super().complete(messages, params)

    async def aclose(self) -> None:
        self.closed += 1


async def test_2_evaluate_never_closes_a_provider_the_caller_owns(
    tracer_provider: TracerProvider,
) -> None:
    task, judge = ClosingCounter("Paris"), ClosingCounter(VERDICT)
    for _ in range(2):
        result = await evaluate(
            [Case(input="capital of France?", expected="Paris")],
            [Contains(), SemanticSimilarity()],
            task=task,
            judge=judge,
            tracer_provider=tracer_provider,
        )
        assert result.cases[0].error is None
        assert all(s.error is None for s in result.cases[0].scores)
    assert (task.closed, judge.closed) == (0, 0)


async def test_3_own_call_spans_keep_the_ambient_conversation_id(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    model = Model(ScriptedProvider("hi"))

    async def task(question: str) -> str:
        token = otel_context.attach(with_conversation_id("conv-42"))
        try:
            return (await model.complete(question)).text
        finally:
            otel_context.detach(token)

    result = await evaluate([Case(input="q")], task=task, tracer_provider=tracer_provider)
    (span,) = inference_spans(span_exporter.get_finished_spans())
    assert (span.attributes or {})[attr.CONVERSATION_ID] == "conv-42"
    assert result.interactions[0].metadata["conversation_id"] == "conv-42"


def _span_with_output(parts: list[dict[str, Any]], inputs: list[dict[str, Any]]) -> ReadableSpan:
    return ReadableSpan(
        name="chat m",
        context=SpanContext(1, 2, False),
        attributes={
            attr.OPERATION_NAME: "chat",
            attr.REQUEST_MODEL: "m",
            attr.INPUT_MESSAGES: json.dumps(inputs),
            attr.OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "parts": parts}]),
        },
        start_time=1,
        end_time=2,
    )


def test_4_reasoning_is_kept_apart_and_tool_responses_keep_their_content() -> None:
    span = _span_with_output(
        [
            {"type": "reasoning", "content": "Let me think... maybe Lyon"},
            {"type": "text", "content": "Paris"},
        ],
        [
            {"role": "user", "parts": [{"type": "text", "content": "Capital?"}]},
            {
                "role": "tool",
                "parts": [{"type": "tool_call_response", "id": "c1", "response": "sunny, 21C"}],
            },
        ],
    )
    call = span_to_interaction(span)
    assert call.response == "Paris"
    assert call.reasoning == "Let me think... maybe Lyon"
    assert [m.content for m in call.messages] == ["Capital?", "sunny, 21C"]


class BrokenMetric:
    name = "broken"
    purpose = "custom_evaluation"

    async def score(self, context: MetricContext) -> Score:
        raise KeyError("missing")


async def test_5_a_bug_in_a_metric_is_logged_and_recorded_on_its_span(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="evaltrace")
    result = await evaluate(
        [Case(input="q", output="a")], [BrokenMetric()], tracer_provider=tracer_provider
    )
    (score,) = result.cases[0].scores
    assert score.error == "KeyError: 'missing'" and score.error_type == "KeyError"
    assert "metric 'broken' failed on case " in caplog.text and ": KeyError" in caplog.text
    (span,) = [s for s in span_exporter.get_finished_spans() if s.name == "metric broken"]
    (event,) = [e for e in span.events if e.name == "exception"]
    assert (event.attributes or {})["exception.type"] == "KeyError"


async def test_5_a_bug_in_a_provider_keeps_its_cause(tracer_provider: TracerProvider) -> None:
    model = Model(ScriptedProvider(KeyError("missing")), retry=RetryPolicy(max_attempts=1))
    caught: list[BaseException] = []

    async def task(question: str) -> str:
        try:
            return (await model.complete(question)).text
        except ProviderError as error:
            caught.append(error)
            raise

    await evaluate([Case(input="q")], task=task, tracer_provider=tracer_provider)
    (error,) = caught
    assert isinstance(error.__cause__, KeyError)


async def test_6_a_results_file_stores_each_interaction_once(
    tracer_provider: TracerProvider, tmp_path: Path
) -> None:
    result = await evaluate(
        [Case(input=f"q{i}", output="a", expected="a") for i in range(3)],
        [SemanticSimilarity()],
        judge=ScriptedProvider(VERDICT),
        tracer_provider=tracer_provider,
    )
    text = result.save(tmp_path / "r.json").read_text()
    for call in result.interactions:
        assert text.count(f'"span_id": "{call.span_id}"') == 1
        assert text.count(f'"{call.span_id}"') == 2  # the call, and its case's reference
    loaded = type(result).load(tmp_path / "r.json")
    assert loaded == result
    assert all(c.interactions[0] is loaded.interactions[i] for i, c in enumerate(loaded.cases))


async def test_7_cases_wait_in_the_plan_not_as_one_task_each(
    tracer_provider: TracerProvider,
) -> None:
    seen: list[int] = []

    async def task(question: str) -> str:
        seen.append(len(asyncio.all_tasks()))
        return "a"

    await evaluate(
        [Case(input=str(i)) for i in range(500)],
        task=task,
        max_concurrency=4,
        tracer_provider=tracer_provider,
    )
    assert max(seen) < 20  # 4 workers and a few of the loop's own, never ~500


async def test_8_the_evaluation_event_is_under_the_evaluated_call(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]  # no hints in the SDK
    loggers = LoggerProvider()
    loggers.add_log_record_processor(SimpleLogRecordProcessor(logs))
    task = ScriptedProvider(Completion(text="Paris", response_id="resp-7"))
    judge = ScriptedProvider(["not json at all"])
    await evaluate(
        [Case(input="capital?", expected="Paris")],
        [Contains(), SemanticSimilarity()],
        task=task,
        judge=judge,
        tracer_provider=tracer_provider,
        logger_provider=loggers,
    )
    task_span = next(
        s
        for s in span_exporter.get_finished_spans()
        if (s.attributes or {}).get(attr.PURPOSE) == "task"
    )
    events = {r.log_record.attributes[attr.EVALUATION_NAME]: r for r in logs.get_finished_logs()}  # type: ignore[index]
    for record in events.values():
        log = record.log_record
        assert log.event_name == attr.EVALUATION_EVENT
        assert log.span_id == task_span.context.span_id
        assert (log.attributes or {})[attr.RESPONSE_ID] == "resp-7"
    contains = events["contains"].log_record.attributes or {}
    assert contains[attr.EVALUATION_SCORE_VALUE] == 1.0 and attr.ERROR_TYPE not in contains
    failed = events["semantic_similarity"].log_record.attributes or {}
    assert failed[attr.ERROR_TYPE] == "JudgeReplyError"
    assert attr.EVALUATION_SCORE_LABEL not in failed  # no longer labelled "error"
    case_span = next(s for s in span_exporter.get_finished_spans() if s.name.startswith("case "))
    span_events = [e for e in case_span.events if e.name == attr.EVALUATION_EVENT]
    assert len(span_events) == 2  # trace-only backends still see the scores


async def test_9_a_span_starting_while_its_run_closes_is_let_go(
    tracer_provider: TracerProvider,
) -> None:
    from evaltrace.tracing._telemetry import _collectors, telemetry_for_run

    telemetry = telemetry_for_run("r", "run-9", tracer_provider=tracer_provider)
    collector = _collectors[tracer_provider]
    collector.open_run("run-9")
    tracer = tracer_provider.get_tracer("t")
    root = tracer.start_span("root", attributes={attr.RUN_ID: "run-9"})

    class ClosingOnLookup(dict[int, Any]):
        """Closes the run between the parent lookup and the new route, as another thread could."""

        def get(self, key: Any, default: Any = None) -> Any:
            found = super().get(key, default)
            collector.close_run("run-9")
            return found

    collector._routes = ClosingOnLookup(collector._routes)
    child = tracer.start_span("child", context=set_span_in_context(root))
    assert collector.open_spans == 0  # the late route did not stay, nor its sink
    child.end()
    root.end()
    collector._routes = {}
    assert telemetry.collector is collector


async def test_10_a_call_that_fails_before_it_starts_leaves_no_span_open(
    tracer_provider: TracerProvider,
) -> None:
    from opentelemetry import trace

    model = Model(ScriptedProvider("a"))
    outcome: list[str] = []

    async def task(question: str) -> str:
        before = trace.get_current_span()
        with pytest.raises(TypeError):
            await model.complete(question, attributes=cast(Any, 5))  # not a mapping
        outcome.append("same span" if trace.get_current_span() is before else "leaked")
        return "done"

    result = await evaluate([Case(input="q")], task=task, tracer_provider=tracer_provider)
    assert outcome == ["same span"]
    assert result.interactions == []


async def test_11_the_results_file_is_closed_when_the_run_cannot_start(tmp_path: Path) -> None:
    from evaltrace import _jsonl

    opened: list[_jsonl.ResultsWriter] = []
    original = _jsonl.ResultsWriter.__init__

    def recording(self: _jsonl.ResultsWriter, path: str | Path) -> None:
        original(self, path)
        opened.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_jsonl.ResultsWriter, "__init__", recording)
        with pytest.raises(ConfigurationError, match="tracer_provider must be"):
            await evaluate(
                [Case(input="q", output="a")],
                results_path=tmp_path / "r.jsonl",
                tracer_provider=cast(Any, object()),
            )
    (writer,) = opened
    assert writer._file.closed


def test_12_calls_outside_runs_keep_one_telemetry_and_flush_what_they_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc
    import weakref

    from evaltrace.tracing import _current

    from ._helpers import global_tracer_provider, no_global_tracer_provider

    providers: list[weakref.ref[TracerProvider]] = []
    for _ in range(5):
        provider = TracerProvider(shutdown_on_exit=False)  # else atexit holds it anyway
        providers.append(weakref.ref(provider))
        with global_tracer_provider(provider):
            assert _current.current_telemetry() is _current.current_telemetry()
        del provider
    with no_global_tracer_provider():
        own = _current.current_telemetry()
        assert own.owned
        shut: list[bool] = []
        monkeypatch.setattr(own, "shutdown", lambda: shut.append(True))
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
        assert _current.current_telemetry() is not own  # new variables: a new one
    assert shut == [True]  # the one it replaced was flushed
    gc.collect()
    assert sum(ref() is not None for ref in providers) == 0  # none kept for ever


async def test_a_case_span_with_a_remote_parent_opens_its_run(
    tracer_provider: TracerProvider,
) -> None:
    """A worker's case span under the driver's root: the run id alone opens the route."""
    from evaltrace.tracing._telemetry import _collectors, telemetry_for_run

    telemetry = telemetry_for_run("r", "run-r", tracer_provider=tracer_provider)
    sink = telemetry.collector.open_run("run-r")
    driver_root = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1))
    tracer = tracer_provider.get_tracer("worker")
    case = tracer.start_span(
        "case 7",
        context=set_span_in_context(NonRecordingSpan(driver_root)),
        attributes={attr.RUN_ID: "run-r", attr.CASE_ID: "7", attr.TRIAL: 0},
    )
    call = tracer.start_span(
        "chat m",
        context=set_span_in_context(case),
        attributes={attr.OPERATION_NAME: "chat", attr.REQUEST_MODEL: "m"},
    )
    call.end()
    case.end()
    (interaction,) = sink.take_case("7", 0).interactions
    assert interaction.trace_id == f"{0xABC:032x}"
    _collectors[tracer_provider].close_run("run-r")
