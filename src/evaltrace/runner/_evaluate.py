"""``evaluate``: cases x task x metrics, every model call a span, every span an interaction.

A run is planned (cases, trials, the root span), its environment opened
(models, telemetry, the sink, the results stream), its case jobs handed to an
executor, and each finished case to the assembler, which builds the result.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry import _logs, trace
from opentelemetry import metrics as otel_metrics
from opentelemetry.trace import Status, StatusCode, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from evaltrace._jsonl import ResultsWriter
from evaltrace._tasks import TaskSpec, as_task
from evaltrace.exceptions import ConfigurationError
from evaltrace.metrics import Metric
from evaltrace.providers import EmbeddingModel, Model, Provider, as_model
from evaltrace.records import Case, CaseResult
from evaltrace.results import EvaluationResult, summarise_metrics
from evaltrace.runner._assemble import Assembler
from evaltrace.runner._case import REPORTED_IN_RESULT, CaseEnvironment
from evaltrace.runner._executor import DEFAULT_CONCURRENCY, Executor, LocalExecutor
from evaltrace.runner._history import RunHistory, StoreSpec
from evaltrace.runner._identity import run_identity
from evaltrace.runner._plan import RunPlan, RunRecipe, normalise_cases
from evaltrace.runner._recipe import environment_of
from evaltrace.runner._tally import Tally
from evaltrace.tracing import Telemetry, telemetry_for_run, use_telemetry
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._scores import record_run_scores
from evaltrace.tracing._threads import thread_context_propagation
from evaltrace.tracing._untraced import untraced_instrumentation_warning

__all__ = ["evaluate", "evaluate_sync"]

_log = logging.getLogger("evaltrace")
_PROPAGATOR = TraceContextTextMapPropagator()


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
    logger_provider: _logs.LoggerProvider | None = None,
    executor: Executor | None = None,
    trace_cases: bool = True,
    keep_trajectory: bool = False,
    store: StoreSpec | None = None,
    keep_result: bool = False,
    repeat: int = 1,
    keep_cases: bool = True,
) -> EvaluationResult:
    """Evaluate ``cases`` with ``metrics`` and return every score and every model call.

    ``cases`` are ``Case`` records or dicts, held in memory; or a ``CaseFile``
    (``read_cases``), read once before the first model call (every case
    checked; only its id is kept) and again while the run goes, so the
    dataset itself is never in memory.

    ``task`` (a callable ``input -> output``, sync or async, or a model) produces
    the output of cases that have none; its model calls are traced with purpose
    ``task``. ``judge`` is the model LLM-judge metrics ask. ``results_path``
    streams finished cases to a JSONL file as they finish. Spans go to the
    application's SDK tracer provider if one is installed, else to exporters
    built from the ``OTEL_*`` variables (none: offline); they are flushed before
    this returns, waiting at most a couple of seconds for a collector.
    ``executor`` runs the cases (default: ``LocalExecutor(max_concurrency)``,
    in this process). ``trace_cases`` keeps each case's spans while its
    metrics run (``MetricContext.trace``), then drops them;
    ``keep_trajectory`` also keeps a compact trajectory in each case result.
    ``store`` (a store URL or path, or an open ``RunStore``; default: none)
    records the run in the run history, with the whole result when
    ``keep_result``; a store that cannot be written is a warning in the
    result, never an error (docs/history.md). Each run's metric summaries
    also go out as ``evaltrace.evaluation.*`` metrics on the meter provider.
    ``repeat`` runs every case that many times (trials 0..repeat-1, each its
    own case span and case result); the result then summarises each case
    across its trials and gives each metric's mean a case-clustered interval.
    ``keep_cases=False`` (with ``results_path``) keeps only the metric
    summaries and totals in memory: the result has no cases or interactions,
    the stream has them all (``read_case_results``), for runs too big to hold.

    While the run is open, the trace context follows the task into worker
    threads (``run_in_executor``, ``ThreadPoolExecutor``) so their calls stay in
    the case; ``propagate_context_to_threads=False`` turns that off.

    evaltrace closes the models it built from ``"provider:model"`` strings,
    never a provider or model you passed.
    """
    run = _Run(
        cases,
        metrics,
        judge=judge,
        task=task,
        name=name,
        max_concurrency=max_concurrency,
        embedder=embedder,
        results_path=results_path,
        on_case=on_case,
        propagate_context_to_threads=propagate_context_to_threads,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        executor=executor,
        trace_cases=trace_cases,
        keep_trajectory=keep_trajectory,
        store=store,
        keep_result=keep_result,
        repeat=repeat,
        keep_cases=keep_cases,
    )
    return await run.execute()


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
    run = _Run(*args, **kwargs)
    try:
        return asyncio.run(run.execute())
    except KeyboardInterrupt:
        partial = run.assembler.result
        if partial is None:
            raise
        _log.warning(
            "evaltrace: interrupted; returning the %d finished cases",
            len(partial.cases),
            extra={REPORTED_IN_RESULT: True},
        )
        return partial


class _Run:
    """One evaluation: planned when made (``evaluate``'s arguments), executed by ``execute``."""

    def __init__(
        self,
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
        logger_provider: _logs.LoggerProvider | None = None,
        executor: Executor | None = None,
        trace_cases: bool = True,
        keep_trajectory: bool = False,
        store: StoreSpec | None = None,
        keep_result: bool = False,
        repeat: int = 1,
        keep_cases: bool = True,
    ) -> None:
        if isinstance(repeat, bool) or not isinstance(repeat, int):
            raise ConfigurationError(f"repeat must be a whole number, got {repeat!r}")
        self.plan = RunPlan(
            name=name, run_id=uuid.uuid4().hex, cases=normalise_cases(cases), repeat=repeat
        )
        self.metrics = tuple(metrics)
        self.judge = judge
        self.task = task
        self.embedder = embedder
        self.results_path = results_path
        self.thread_context = propagate_context_to_threads
        self.providers = (tracer_provider, meter_provider, logger_provider)
        self.executor = executor or LocalExecutor(max_concurrency)
        self.trace_cases = trace_cases or keep_trajectory
        self.keep_trajectory = keep_trajectory
        self.assembler = Assembler(self.plan, on_case=on_case)
        self.history = RunHistory.of(
            store, self.plan, keep_result=keep_result, results_path=results_path
        )
        self.assembler.identity = run_identity(self.plan, self.metrics, task=task, judge=judge)
        if not keep_cases:
            if results_path is None:
                raise ConfigurationError(
                    "keep_cases=False needs results_path= (the cases go there)"
                )
            self.assembler.tally = Tally()

    async def execute(self) -> EvaluationResult:
        """Open what the run needs, run every case, and return the result."""
        async with AsyncExitStack() as owned:
            environment = self._open(owned)
            return await self._run(environment)

    def _open(self, owned: AsyncExitStack) -> CaseEnvironment:
        """The run's environment; ``owned`` closes what evaltrace opened, whatever happens."""
        plan, concurrency = self.plan, self.executor.concurrency
        judge, task_fn = None, None
        if not getattr(self.executor, "remote", False):  # a remote executor builds them there
            # Models evaltrace builds from strings get room for the whole run's calls.
            judge = _owned_model(self.judge, owned, concurrency * max(len(self.metrics), 1))
            task_fn, task_model = as_task(self.task, concurrency)
            if task_model is not None:
                owned.push_async_callback(task_model.aclose)
        if self.results_path is not None:
            self.assembler.writer = owned.enter_context(ResultsWriter(self.results_path))
        tracer_provider, meter_provider, logger_provider = self.providers
        telemetry = telemetry_for_run(
            plan.name,
            plan.run_id,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            logger_provider=logger_provider,
        )
        if tracer_provider is None:
            warning = untraced_instrumentation_warning()
            if warning is not None:
                self.assembler.warnings.append(warning)
        return environment_of(
            self._recipe(), telemetry, owned, task=task_fn, judge=judge, keep_recipe=True
        )

    def _recipe(self) -> RunRecipe:
        """The run as data, for an executor that runs its cases in other processes."""
        return RunRecipe(
            name=self.plan.name,
            run_id=self.plan.run_id,
            metrics=self.metrics,
            task=self.task,
            judge=self.judge,
            embedder=self.embedder,
            trace_cases=self.trace_cases,
            keep_trajectory=self.keep_trajectory,
            propagate_context_to_threads=self.thread_context,
        )

    async def _run(self, environment: CaseEnvironment) -> EvaluationResult:
        plan, telemetry = self.plan, environment.telemetry
        started = datetime.now(UTC)
        complete = cancelled_while_flushing = False
        trace_id = ""
        await self._begin_history(started)
        try:
            with (
                thread_context_propagation(self.thread_context),
                use_telemetry(telemetry),
                telemetry.tracer.start_as_current_span(
                    f"evaluate {plan.name}",
                    attributes={
                        attr.RUN_ID: plan.run_id,
                        attr.RUN_NAME: plan.name,
                        attr.DATASET_SIZE: plan.count,
                    },
                ) as root,
            ):
                trace_id = format_trace_id(root.get_span_context().trace_id)
                carrier: dict[str, str] = {}
                _PROPAGATOR.inject(carrier)
                try:
                    jobs = plan.jobs(carrier)
                    await self.executor.execute(jobs, environment, self.assembler.deliver)
                    complete = True
                finally:
                    if not complete:
                        root.set_status(Status(StatusCode.ERROR, "run did not complete"))
        finally:
            self._record_scores(telemetry)
            try:
                flushed = await telemetry.flush()
            except asyncio.CancelledError:  # cancelled again while flushing: still save
                flushed, cancelled_while_flushing = False, True
            result = self.assembler.finish(
                trace_id=trace_id,
                started_at=started,
                complete=complete,
                rest=environment.sink.take_rest(),
                telemetry=telemetry,
                flushed=flushed,
            )
            cancelled_while_flushing |= await self._finish_history(result)
        if cancelled_while_flushing:
            raise asyncio.CancelledError
        return result

    async def _begin_history(self, started: datetime) -> None:
        if self.history is not None:
            warning = await self.history.begin(started)
            if warning is not None:
                self.assembler.warnings.append(warning)

    def _record_scores(self, telemetry: Telemetry) -> None:
        """The run's scores as metrics, before the meters are flushed (never raises)."""
        cases = self.assembler.finished_cases()
        try:
            record_run_scores(
                telemetry.meter_provider,
                self.plan.name,
                summarise_metrics(cases),
                cases=len(cases),
                errors=sum(1 for case in cases if case.error_summary is not None),
            )
        except Exception:  # telemetry must never fail a run
            _log.warning("evaltrace: the run's score metrics could not be recorded", exc_info=True)

    async def _finish_history(self, result: EvaluationResult) -> bool:
        """Record the run's end; True if cancelled meanwhile (the write still goes on)."""
        if self.history is None:
            return False
        try:
            warning = await self.history.finish(result)
        except asyncio.CancelledError:
            return True
        if warning is not None:
            result.warnings.append(warning)
        return False


def _owned_model(
    spec: str | Provider | Model | None, owned: AsyncExitStack, concurrency: int
) -> Model | None:
    """The judge as a Model; one built here from a string is closed with the run."""
    if spec is None:
        return None
    if isinstance(spec, str):
        model = as_model(spec, max_concurrency=concurrency)
        owned.push_async_callback(model.aclose)
        return model
    return as_model(spec)
