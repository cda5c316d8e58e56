"""``run_case``: one case job, from its span to its outcome. Every executor runs cases through it.

The case span starts under the run's root, whose W3C context the job
carries (so a case run in another process is in the same trace); the task
produces the output, each metric scores it under its own span, each score
becomes a ``gen_ai.evaluation.result`` event, and the case's interactions are
taken from the run's sink once its spans have ended.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry.trace import Link, Span, SpanContext, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from evaltrace._tasks import TaskFn
from evaltrace.exceptions import ConfigurationError
from evaltrace.metrics import Metric, MetricContext
from evaltrace.providers import EmbeddingModel, Model
from evaltrace.records import Case, CaseResult, LLMInteraction, Score
from evaltrace.runner._plan import CaseJob, CaseKey, RunRecipe
from evaltrace.tracing import CaseTrace, RunSink, Telemetry
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._evaluation import EvaluatedCall, Evaluation, record_evaluation

if TYPE_CHECKING:
    from evaltrace.results import LostAttempt

__all__ = ["CaseEnvironment", "CaseOutcome", "run_case"]

_log = logging.getLogger("evaltrace")
_PROPAGATOR = TraceContextTextMapPropagator()
#: Marks log records whose news the returned result also carries (see the CLI).
REPORTED_IN_RESULT = "evaltrace_reported_in_result"


@dataclass(frozen=True)
class CaseEnvironment:
    """What the cases of a run share in one process: telemetry, the sink, models, metrics."""

    run_id: str
    telemetry: Telemetry
    sink: RunSink
    metrics: Sequence[Metric]
    task: TaskFn | None = None
    judge: Model | None = None
    embedder: EmbeddingModel | None = None
    #: Keep each case's compact trajectory in its result (``CaseResult.trajectory``).
    keep_trajectory: bool = False
    #: The run as data, for executors that rebuild the environment in other processes.
    recipe: RunRecipe | None = None


@dataclass(frozen=True)
class CaseOutcome:
    """What one case job produced: its result (with its calls) and the calls it could not record.

    ``unrecorded_calls`` counts the case's model-call spans that could not be
    turned into interactions. ``lost_attempts`` are earlier attempts of the
    case lost with their worker (an executor on other processes fills it).
    """

    result: CaseResult
    position: int
    unrecorded_calls: int = 0
    lost_attempts: tuple[LostAttempt, ...] = ()


async def run_case(job: CaseJob, env: CaseEnvironment) -> CaseOutcome:
    """Run one case job: output, scores, events; its interactions come back by value."""
    key = job.key
    parent = _PROPAGATOR.extract(job.carrier, context=otel_context.get_current())
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    attributes: dict[str, AttributeValue] = {
        attr.RUN_ID: env.run_id,
        attr.CASE_ID: key.case_id,
        attr.CASE_INDEX: job.position,
        attr.TRIAL: key.trial,
    }
    with env.telemetry.tracer.start_as_current_span(
        f"case {key.case_id}",
        context=parent,
        attributes=attributes,
        links=_recorded_links(job.case),
    ) as span:
        task_started = time.perf_counter()
        output, error = await _produce_output(env, job.case, span)
        ran_task = env.task is not None and not job.case.has_output
        task_duration = time.perf_counter() - task_started if ran_task else None
        trace = _case_trace(env, key, span)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
            scores = [_unscored(m.name, f"no output to score: {error}") for m in env.metrics]
        else:
            context = MetricContext(
                case=job.case,
                output=output,
                judge=env.judge,
                embedder=env.embedder,
                trace=trace,
                task_duration=task_duration,
            )
            scores = list(
                await asyncio.gather(*(_score(env, m, context, key.case_id) for m in env.metrics))
            )
        evaluated = _evaluated_call(env.sink.peek_case(key.case_id, key.trial), job.case)
        for score in scores:
            record_evaluation(env.telemetry, span, _evaluation(score), evaluated)
    taken = env.sink.take_case(key.case_id, key.trial)
    result = CaseResult(
        case=job.case,
        case_id=key.case_id,
        output=output,
        scores=scores,
        interactions=taken.interactions,
        error=error,
        duration=time.perf_counter() - started,
        started_at=started_at,
        trial=key.trial,
        trajectory=trace.trajectory() if env.keep_trajectory else None,
    )
    return CaseOutcome(result, job.position, taken.unrecorded_calls)


async def _produce_output(env: CaseEnvironment, case: Case, span: Span) -> tuple[Any, str | None]:
    """The case's output (given, or the task's) and the task's error, if it failed."""
    if case.has_output or env.task is None:
        return case.output, None
    try:
        return await env.task(case), None
    except Exception as exc:  # the system under test failing is a result, not a crash
        span.record_exception(exc)
        _log.warning(
            "evaltrace: the task failed on case %s: %s: %s",
            case.id,
            type(exc).__name__,
            exc,
            exc_info=_log.isEnabledFor(logging.DEBUG),
            extra={REPORTED_IN_RESULT: True},
        )
        return None, f"{type(exc).__name__}: {exc}"


async def _score(
    env: CaseEnvironment, metric: Metric, context: MetricContext, case_id: str
) -> Score:
    with env.telemetry.tracer.start_as_current_span(
        f"metric {metric.name}",
        attributes={attr.METRIC_NAME: metric.name, attr.PURPOSE: metric.purpose},
    ) as span:
        try:
            score = await metric.score(context)
        except ConfigurationError:
            raise
        except Exception as exc:  # a bug in a metric: recorded, logged, and the run goes on
            span.record_exception(exc)
            _log.warning(
                "evaltrace: metric %r failed on case %s: %s: %s",
                metric.name,
                case_id,
                type(exc).__name__,
                exc,
                exc_info=_log.isEnabledFor(logging.DEBUG),
            )
            score = _unscored(metric.name, f"{type(exc).__name__}: {exc}", type(exc).__name__)
        if score.error is not None:
            span.set_status(Status(StatusCode.ERROR, score.error))
        return score


def _unscored(metric: str, reason: str, error_type: str | None = None) -> Score:
    return Score(metric=metric, value=None, error=reason, error_type=error_type)


def _evaluation(score: Score) -> Evaluation:
    error_type = None
    if score.error is not None:
        error_type = score.error_type or "_OTHER"
    return Evaluation(
        name=score.metric,
        value=score.value,
        label=score.label,
        explanation=score.explanation or (score.error or ""),
        error_type=error_type,
    )


def _case_trace(env: CaseEnvironment, key: CaseKey, span: Span) -> CaseTrace:
    """The case's trace as it stands when its metrics start (the case span is still open)."""
    sink = env.sink
    if not sink.keep_spans:
        return CaseTrace.empty()
    return CaseTrace.from_records(
        sink.case_spans(key.case_id, key.trial),
        sink.peek_case(key.case_id, key.trial),
        root_span_id=span.get_span_context().span_id,
    )


def _evaluated_call(calls: Sequence[LLMInteraction], case: Case) -> EvaluatedCall | None:
    """The model call the scores evaluate: the task's, when the task was one model call."""
    if case.has_output:
        return None
    task_calls = [c for c in calls if c.purpose == "task"]
    if len(task_calls) != 1:
        return None
    call = task_calls[0]
    return EvaluatedCall(int(call.trace_id, 16), int(call.span_id, 16), call.response_id)


def _recorded_links(case: Case) -> list[Link]:
    """A case made from a recorded call (``score-spans``) links to that call's span."""
    trace_id, span_id = case.metadata.get("trace_id"), case.metadata.get("span_id")
    if not isinstance(trace_id, str) or not isinstance(span_id, str):
        return []
    try:
        context = SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True)
    except ValueError:
        return []
    return [Link(context)] if context.is_valid else []
