"""``evaluate``: cases x task x metrics, every model call a span, every span an interaction."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import AsyncExitStack
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, format_trace_id

from evaltrace._jsonl import ResultsWriter
from evaltrace._tasks import TaskFn, TaskSpec, as_task
from evaltrace.exceptions import ConfigurationError
from evaltrace.metrics import Metric, MetricContext
from evaltrace.providers import EmbeddingModel, Model, Provider, as_model
from evaltrace.records import Case, CaseResult, Score
from evaltrace.results import EvaluationResult
from evaltrace.tracing import RunSink, Telemetry, telemetry_for_run, use_telemetry
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._threads import thread_context_propagation
from evaltrace.tracing.processor import RUN_SPAN_PREFIX

__all__ = ["DEFAULT_CONCURRENCY", "evaluate", "evaluate_sync"]

#: Cases evaluated at once unless ``max_concurrency`` says otherwise.
DEFAULT_CONCURRENCY = 8
_log = logging.getLogger("evaltrace")
# Where evaluate_sync collects the partial result of an interrupted run.
_partial_results: ContextVar[list[EvaluationResult] | None] = ContextVar(
    "evaltrace_partial_results", default=None
)
TRACE_URL_ENV = "EVALTRACE_TRACE_URL"
#: Set on log records whose news the returned result also carries (dropped
#: spans, interruption), so a front end that reports the result can skip them.
REPORTED_IN_RESULT = "evaltrace_reported_in_result"


@dataclass(frozen=True)
class _Run:
    """What every case of one run shares."""

    telemetry: Telemetry
    metrics: Sequence[Metric]
    task: TaskFn | None
    judge: Model | None
    embedder: EmbeddingModel | None
    writer: ResultsWriter | None
    on_case: Callable[[CaseResult], None] | None
    thread_context: bool
    sink: RunSink


async def evaluate(
    cases: Iterable[Case | dict[str, Any]],
    metrics: Sequence[Metric] = (),
    *,
    judge: str | Provider | Model | None = None,
    task: TaskSpec | None = None,
    name: str = "evaluation",
    max_concurrency: int = DEFAULT_CONCURRENCY,
    embedder: EmbeddingModel | None = None,
    results_path: str | Path | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
    propagate_context_to_threads: bool = True,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: otel_metrics.MeterProvider | None = None,
) -> EvaluationResult:
    """Evaluate ``cases`` with ``metrics`` and return every score and every model call.

    ``task`` (a callable ``input -> output``, sync or async, or a model) produces
    the output of cases that have none; its model calls are traced with purpose
    ``task``. ``judge`` is the model LLM-judge metrics ask. ``results_path``
    streams finished cases to a JSONL file as they finish. Spans go to the
    application's SDK tracer provider if one is installed, else to exporters
    built from the ``OTEL_*`` variables (none: offline); they are flushed before
    this returns, waiting at most a couple of seconds for a collector.

    While the run is open, the trace context follows the task into worker
    threads (``run_in_executor``, ``ThreadPoolExecutor``) so their calls stay in
    the case; ``propagate_context_to_threads=False`` turns that off.
    """
    if max_concurrency < 1:
        raise ConfigurationError("max_concurrency must be at least 1")
    dataset = _normalise_cases(cases)
    run_id = uuid.uuid4().hex
    async with AsyncExitStack() as owned:
        # Models evaltrace builds from strings get room for the whole run's calls.
        judge_model = _owned_model(judge, owned, max_concurrency * max(len(metrics), 1))
        task_fn, task_model = as_task(task, max_concurrency)
        if task_model is not None:
            owned.push_async_callback(task_model.aclose)
        writer = ResultsWriter(results_path) if results_path is not None else None
        telemetry = telemetry_for_run(
            name, run_id, tracer_provider=tracer_provider, meter_provider=meter_provider
        )
        run = _Run(
            telemetry=telemetry,
            metrics=list(metrics),
            task=task_fn,
            judge=judge_model,
            embedder=embedder,
            writer=writer,
            on_case=on_case,
            thread_context=propagate_context_to_threads,
            sink=telemetry.collector.open_run(run_id),
        )
        return await _execute(run, dataset, name, run_id, max_concurrency)


def evaluate_sync(*args: Any, **kwargs: Any) -> EvaluationResult:
    """``evaluate`` for scripts: runs the event loop itself. Takes the same arguments.

    On Ctrl-C it returns the partial result (``complete`` is False) instead of
    losing the cases that finished; with ``results_path`` they are also on disk.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise ConfigurationError(
            "evaluate_sync() was called inside a running event loop; "
            "use 'await evaluate(...)' there"
        )
    partial: list[EvaluationResult] = []
    _partial_results.set(partial)
    try:
        return asyncio.run(evaluate(*args, **kwargs))
    except KeyboardInterrupt:
        if partial:
            _log.warning(
                "evaltrace: interrupted; returning the %d finished cases",
                len(partial[0].cases),
                extra={REPORTED_IN_RESULT: True},
            )
            return partial[0]
        raise
    finally:
        _partial_results.set(None)


async def _execute(
    run: _Run, dataset: list[Case], name: str, run_id: str, max_concurrency: int
) -> EvaluationResult:
    sink = run.sink
    started = datetime.now(UTC)
    results: dict[int, CaseResult] = {}
    complete = False
    cancelled_while_flushing = False
    trace_id = ""
    try:
        with (
            thread_context_propagation(run.thread_context),
            use_telemetry(run.telemetry),
            run.telemetry.tracer.start_as_current_span(
                f"{RUN_SPAN_PREFIX}{name}",
                attributes={
                    attr.RUN_ID: run_id,
                    attr.RUN_NAME: name,
                    attr.DATASET_SIZE: len(dataset),
                },
            ) as root,
        ):
            trace_id = format_trace_id(root.get_span_context().trace_id)
            try:
                await _run_cases(run, dataset, results, max_concurrency)
                complete = True
            finally:
                if not complete:
                    root.set_status(Status(StatusCode.ERROR, "run did not complete"))
    finally:
        try:
            flushed = await run.telemetry.flush()
        except asyncio.CancelledError:  # cancelled again while flushing: still save the result
            flushed, cancelled_while_flushing = False, True
        result = _result(run, sink, name, run_id, trace_id, started, dataset, results, complete)
        holder = _partial_results.get()
        if holder is not None and not complete:
            holder.append(result)
        run.telemetry.collector.close_run(run_id)
        _finish(run, result, flushed)
    if cancelled_while_flushing:
        raise asyncio.CancelledError
    return result


async def _run_cases(
    run: _Run, dataset: list[Case], results: dict[int, CaseResult], max_concurrency: int
) -> None:
    slots = asyncio.Semaphore(max_concurrency)

    async def one(index: int, case: Case) -> None:
        async with slots:
            result = await _evaluate_case(run, index, case)
        # The case's spans have ended: its interactions are all in the sink.
        result = result.model_copy(update={"interactions": run.sink.for_case(result.case_id)})
        results[index] = result
        if run.writer is not None:
            run.writer.case(result)
        if run.on_case is not None:
            run.on_case(result)

    tasks = [asyncio.create_task(one(i, c)) for i, c in enumerate(dataset)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for pending in tasks:
            pending.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _evaluate_case(run: _Run, index: int, case: Case) -> CaseResult:
    case_id = case.id or str(index)
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    tracer = run.telemetry.tracer
    with tracer.start_as_current_span(
        f"case {case_id}", attributes={attr.CASE_ID: case_id, attr.CASE_INDEX: index}
    ) as span:
        output, error = await _produce_output(run, case)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
            scores = [_unscored(m, f"no output to score: {error}") for m in run.metrics]
        else:
            context = MetricContext(
                case=case, output=output, judge=run.judge, embedder=run.embedder
            )
            scores = list(await asyncio.gather(*(_score(run, m, context) for m in run.metrics)))
        for score in scores:
            _record_evaluation(span, score)
    return CaseResult(
        case=case,
        case_id=case_id,
        output=output,
        scores=scores,
        error=error,
        duration=time.perf_counter() - started,
        started_at=started_at,
    )


async def _produce_output(run: _Run, case: Case) -> tuple[str | None, str | None]:
    if case.output is not None or run.task is None:
        return case.output, None
    try:
        return await run.task(case.input), None
    except Exception as exc:  # the system under test failing is a result, not a crash
        return None, f"{type(exc).__name__}: {exc}"


async def _score(run: _Run, metric: Metric, context: MetricContext) -> Score:
    with run.telemetry.tracer.start_as_current_span(
        f"metric {metric.name}",
        attributes={attr.METRIC_NAME: metric.name, attr.PURPOSE: metric.purpose},
    ) as span:
        try:
            score = await metric.score(context)
        except ConfigurationError:
            raise
        except Exception as exc:
            score = _unscored(metric, f"{type(exc).__name__}: {exc}")
        if score.error is not None:
            span.set_status(Status(StatusCode.ERROR, score.error))
        return score


def _unscored(metric: Metric, reason: str) -> Score:
    return Score(metric=metric.name, value=None, error=reason)


def _record_evaluation(span: Span, score: Score) -> None:
    attributes: dict[str, Any] = {
        attr.EVALUATION_NAME: score.metric,
        attr.EVALUATION_EXPLANATION: score.explanation or (score.error or ""),
    }
    if score.value is not None:
        attributes[attr.EVALUATION_SCORE_VALUE] = score.value
    label = score.label or ("error" if score.error else None)
    if label is not None:
        attributes[attr.EVALUATION_SCORE_LABEL] = label
    span.add_event(attr.EVALUATION_EVENT, attributes)


def _result(
    run: _Run,
    sink: RunSink,
    name: str,
    run_id: str,
    trace_id: str,
    started: datetime,
    dataset: list[Case],
    results: dict[int, CaseResult],
    complete: bool,
) -> EvaluationResult:
    interactions = sink.interactions()
    cases = [results[i] for i in sorted(results)]
    result = EvaluationResult.build(
        name=name,
        run_id=run_id,
        trace_id=trace_id,
        started_at=started,
        finished_at=datetime.now(UTC),
        cases=cases,
        interactions=interactions,
        complete=complete and len(cases) == len(dataset),
    )
    url = os.environ.get(TRACE_URL_ENV)
    return result.model_copy(
        update={
            "dropped_spans": run.telemetry.dropped_spans,
            "unrecorded_calls": sink.conversion_errors,
            "trace_url": url.format(trace_id=trace_id) if url and run.telemetry.exports else None,
        }
    )


def _finish(run: _Run, result: EvaluationResult, flushed: bool) -> None:
    if run.writer is not None:
        run.writer.summary(result.model_dump(mode="json", exclude={"cases", "interactions"}))
    if run.telemetry.exports:
        _log.info(
            "evaltrace run %s: trace %s%s",
            result.name,
            result.trace_id,
            f" ({result.trace_url})" if result.trace_url else "",
        )
    if not flushed:
        _log.warning(
            "evaltrace: spans were still being exported when the run ended "
            "(collector slow or unreachable); they continue in the background"
        )
    if result.dropped_spans:
        _log.warning(
            "evaltrace: %d spans could not be exported",
            result.dropped_spans,
            extra={REPORTED_IN_RESULT: True},
        )
    if result.unrecorded_calls:
        _log.warning(
            "evaltrace: %d model calls could not be recorded as interactions (see the log above)",
            result.unrecorded_calls,
            extra={REPORTED_IN_RESULT: True},
        )


def _owned_model(
    spec: str | Provider | Model | None, owned: AsyncExitStack, concurrency: int
) -> Model | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        model = as_model(spec, max_concurrency=concurrency)
        owned.push_async_callback(model.aclose)
        return model
    return as_model(spec)


def _normalise_cases(cases: Iterable[Case | dict[str, Any]]) -> list[Case]:
    dataset = [c if isinstance(c, Case) else Case.model_validate(c) for c in cases]
    counts = Counter(c.id or str(i) for i, c in enumerate(dataset))
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    if duplicates:
        raise ConfigurationError(f"case ids must be unique; repeated: {duplicates[:5]}")
    return dataset
