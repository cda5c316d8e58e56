"""What ``evaltrace demo``, ``run``, ``show`` and ``report`` do, on the public API only."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console

from evaltrace import (
    Case,
    CaseResult,
    ConfigurationError,
    Contains,
    EmbeddingModel,
    EvaluationResult,
    ExactMatch,
    Metric,
    RayExecutor,
    SemanticSimilarity,
    evaluate_sync,
    install_tracer_provider,
    write_html_report,
)
from evaltrace.cli._compare import CompareOptions
from evaltrace.cli._compare import cmd_compare as _compare
from evaltrace.cli._exit import EXIT_OK, EXIT_THRESHOLD
from evaltrace.cli._metrics import build_metrics, parse_minimums
from evaltrace.cli._progress import case_progress
from evaltrace.cli._report import render_result
from evaltrace.cli._runs import RunFilters, list_runs_table, run_details, runs_store
from evaltrace.cli._saved import load_result
from evaltrace.cli._show import ShowFilters, show_audit_trail
from evaltrace.cli._task import ModelArg, TaskArg, model_spec, task_spec
from evaltrace.datasets import CASE_FIELDS, CaseFile, read_cases
from evaltrace.demo import DEMO_TASK_MODEL, demo_cases
from evaltrace.history import NOT_RECORDED, check_store_url, redact_url, store_url
from evaltrace.testing import check_thresholds

__all__ = [
    "CliSession",
    "CompareOptions",
    "Interrupted",
    "Io",
    "RunOptions",
    "RunPlan",
    "cmd_compare",
    "cmd_demo",
    "cmd_report",
    "cmd_run",
    "cmd_runs",
    "cmd_runs_show",
    "cmd_show",
    "execute",
    "run_demo",
    "store_option",
]

_OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_PIPE_WIDTH = 160
DEMO_CONCURRENCY = 1
# The case fields a --<field>-field option renames (metadata is an object, not a column).
_FIELD_OPTIONS = tuple(field for field in CASE_FIELDS if field != "metadata")


@dataclass(frozen=True)
class Io:
    """Where the CLI writes: tables to ``out``, progress and warnings to ``err``."""

    out: Console
    err: Console
    progress: bool = True

    @classmethod
    def standard(cls, *, progress: bool) -> Io:
        """Consoles on the current stdout/stderr; the bar only on an interactive stderr."""
        err = Console(stderr=True, highlight=False)
        out = Console(highlight=False)
        if not out.is_terminal and not os.environ.get("COLUMNS"):
            out = Console(highlight=False, width=_PIPE_WIDTH)  # files and pipes: wide tables
        return cls(out=out, err=err, progress=progress and err.is_terminal)


class Interrupted(Exception):
    """Ctrl-C during a run: ``finished`` cases are kept in ``paths`` (the best first)."""

    def __init__(self, paths: Sequence[Path], finished: int) -> None:
        kept = " and ".join(str(p) for p in paths)
        super().__init__(
            f"the {finished} finished cases are kept in {kept} "
            f"(see them with: evaltrace show {paths[0]})"
        )
        self.paths = list(paths)
        self.finished = finished


@dataclass(frozen=True)
class RunPlan:
    """Everything one evaluation from the command line needs.

    ``cases`` is a list, or a dataset file read case by case (``read_cases``);
    ``summaries_only`` keeps only the summaries in memory (and in ``output``):
    every case is in ``results_jsonl``.
    """

    cases: Sequence[Case] | CaseFile
    metrics: list[Metric]
    name: str
    output: Path
    results_jsonl: Path
    task: TaskArg | None = None
    judge: ModelArg | None = None
    embedder: EmbeddingModel | None = None
    concurrency: int = 8
    dataset: Path | None = None
    report: Path | None = None
    #: The run store's URL (None: the run is not recorded), and whether it keeps the result.
    store: str | None = None
    keep_result: bool = False
    repeat: int = 1
    executor: RayExecutor | None = None
    summaries_only: bool = False


@dataclass(frozen=True)
class RunOptions:
    """The options of ``evaltrace run`` as given on the command line (defaults: click's)."""

    dataset: str
    metrics: tuple[str, ...]
    task: str | None
    task_base_url: str | None
    judge: str | None
    judge_base_url: str | None
    concurrency: int
    name: str | None
    fail_under: tuple[str, ...]
    fields: Mapping[str, str]
    output: str
    results_jsonl: str | None
    report: str | None
    progress: bool
    store: str | None = None
    no_store: bool = False
    store_result: bool = False
    repeat: int = 1
    ray: str | None = None
    workers: int = 2
    summaries_only: bool = False

    @classmethod
    def from_click(cls, dataset: str, options: Mapping[str, object]) -> RunOptions:
        """From the keyword arguments click passes to the ``run`` command."""
        values = dict(options)
        fields = {f: values.pop(f"{f}_field") for f in _FIELD_OPTIONS}
        values["progress"] = not values.pop("no_progress")
        return cls(
            dataset=dataset,
            fields={f: n for f, n in fields.items() if isinstance(n, str)},
            **values,  # type: ignore[arg-type]
        )


def execute(plan: RunPlan, io: Io) -> EvaluationResult:
    """Run the evaluation with a progress bar, save it, print the tables; return the result."""
    _check_targets(plan)
    finished = 0

    def total() -> int:  # asked once the run is planned: a file's count is known then
        return _case_count(plan.cases) * plan.repeat

    with case_progress(total, enabled=io.progress, console=io.err) as advance:

        def on_case(result: CaseResult) -> None:
            nonlocal finished
            finished += 1
            advance(result)

        try:
            result = evaluate_sync(
                plan.cases,
                plan.metrics,
                task=plan.task,
                judge=plan.judge,
                name=plan.name,
                max_concurrency=plan.concurrency,
                embedder=plan.embedder,
                results_path=plan.results_jsonl,
                executor=plan.executor,
                on_case=on_case,
                store=plan.store,
                keep_result=plan.keep_result,
                repeat=plan.repeat,
                keep_cases=not plan.summaries_only,
            )
        except KeyboardInterrupt:
            raise Interrupted([plan.results_jsonl], finished) from None
    streamed = finished if plan.summaries_only else None
    report(result, io, exporting=_exporting(), streamed_cases=streamed)
    saved = _written(plan.output, lambda: result.save(plan.output))
    kept = "summaries only; " if plan.summaries_only else ""
    io.out.print(f"results: {saved}  ({kept}case by case: {plan.results_jsonl})", soft_wrap=True)
    if plan.report is not None:
        io.out.print(f"report: {_write_report(result, plan.report)}", soft_wrap=True)
    _say_recorded(plan, result, io)
    if not result.complete:  # evaluate_sync returns what finished when Ctrl-C stops it
        kept_in = [saved, plan.results_jsonl]  # the best first: a summaries-only file has no case
        raise Interrupted(kept_in[::-1] if plan.summaries_only else kept_in, finished)
    return result


def _case_count(cases: Sequence[Case] | CaseFile) -> int:
    """How many cases there are (a file's count is known once the run's plan has read it)."""
    return cases.count() if isinstance(cases, CaseFile) else len(cases)


def _say_recorded(plan: RunPlan, result: EvaluationResult, io: Io) -> None:
    """Where the run was recorded (the store's warning, if not, was logged already)."""
    if plan.store is None or any(w.startswith(NOT_RECORDED) for w in result.warnings):
        return
    io.out.print(
        f"recorded: run {result.run_id[:12]} in {redact_url(plan.store)} "
        f"(see it with: evaltrace runs show {result.run_id[:12]})",
        soft_wrap=True,
        markup=False,
    )


def store_option(store: str | None, *, no_store: bool) -> str | None:
    """The store a CLI run is recorded in: ``--store``, ``$EVALTRACE_STORE``, the default file.

    None with ``--no-store`` (or ``off``); a URL that names no store is a one-line error.
    """
    if no_store:
        return None
    url = store_url(store, default_enabled=True)
    if url is not None:
        check_store_url(url)
    return url


def report(
    result: EvaluationResult, io: Io, *, exporting: bool, streamed_cases: int | None = None
) -> None:
    """The tables, then the trace id and any export warning.

    ``streamed_cases``: a summaries-only run's cases, in its results stream only.
    """
    render_result(result, io.out, streamed_cases=streamed_cases)
    if (exporting or result.trace_url) and result.trace_id:
        io.out.print(f"trace id: {result.trace_id}", soft_wrap=True)
        if result.trace_url:
            io.out.print(f"trace: {result.trace_url}", soft_wrap=True)
    if result.dropped_spans > 0:
        io.err.print(
            f"evaltrace: warning: {result.dropped_spans} spans could not be exported "
            "to the OTLP collector (the results file still holds their interactions)",
            soft_wrap=True,
            markup=False,
        )
    if result.unrecorded_calls > 0:
        io.err.print(
            f"evaltrace: warning: {result.unrecorded_calls} model calls of this run could not "
            "be recorded as interactions: the totals miss them",
            soft_wrap=True,
            markup=False,
        )


def run_demo(
    *,
    limit: int | None,
    output: Path,
    results_jsonl: Path,
    io: Io,
    task: TaskArg = DEMO_TASK_MODEL,
    embedder: EmbeddingModel | None = None,
    report: Path | None = None,
    store: str | None = None,
    keep_result: bool = False,
) -> EvaluationResult:
    """The offline demo: the bundled questions, answered by ``task``, scored three ways.

    With no ``embedder``, SemanticSimilarity uses the embedded all-MiniLM-L6-v2.
    Cases run one at a time: the in-process models serve one call at a time
    anyway, and so each call's latency is its own, not time spent queueing.
    """
    metrics: list[Metric] = [SemanticSimilarity(), Contains(), ExactMatch()]
    plan = RunPlan(
        cases=demo_cases(limit),
        metrics=metrics,
        name="demo",
        output=output,
        results_jsonl=results_jsonl,
        task=task,
        embedder=embedder,
        concurrency=DEMO_CONCURRENCY,
        report=report,
        store=store,
        keep_result=keep_result,
    )
    return execute(plan, io)


@dataclass(frozen=True)
class CliSession:
    """What one CLI invocation may do to its process (click's context object)."""

    owns_process: bool = False


def _trace_globally_if_owned() -> None:
    """Install the global tracer provider when the CLI owns the process (the console script)."""
    context = click.get_current_context(silent=True)
    session = context.find_object(CliSession) if context is not None else None
    if session is not None and session.owns_process:
        install_tracer_provider()


def cmd_demo(
    *,
    limit: int | None,
    output: Path,
    results_jsonl: Path | None,
    report: Path | None,
    progress: bool,
    store: str | None = None,
    no_store: bool = False,
    store_result: bool = False,
) -> int:
    """``evaltrace demo``."""
    url = store_option(store, no_store=no_store)
    _trace_globally_if_owned()
    run_demo(
        limit=limit,
        output=output,
        results_jsonl=results_jsonl or _default_jsonl(output),
        io=Io.standard(progress=progress),
        report=report,
        store=url,
        keep_result=store_result,
    )
    return EXIT_OK


def cmd_run(options: RunOptions) -> int:
    """``evaltrace run DATASET``: everything is checked before the first model call.

    Run as the ``evaltrace`` command, the CLI owns its process, so it installs
    the global tracer provider before the task's module is imported: an
    application instrumented the way its instrumentation's README says (no
    provider of its own) is traced too.
    """
    if options.summaries_only and options.report:
        raise ConfigurationError(
            "--report needs the cases, which --summaries-only does not keep: write the report "
            "from the stream afterwards (evaltrace report RESULTS.cases.jsonl -o report.html)"
        )
    url = store_option(options.store, no_store=options.no_store)
    _trace_globally_if_owned()
    metrics = build_metrics(options.metrics, judge=bool(options.judge or options.judge_base_url))
    minimums = parse_minimums(options.fail_under, [m.name for m in metrics])
    cases = read_cases(options.dataset, fields=options.fields)
    task = task_spec(options.task, options.task_base_url)
    if task is None:
        _require_outputs(cases)
    output = Path(options.output)
    plan = RunPlan(
        cases=cases,
        metrics=metrics,
        name=options.name or Path(options.dataset).stem,
        output=output,
        results_jsonl=Path(options.results_jsonl or _default_jsonl(output)),
        task=task,
        judge=model_spec(options.judge, options.judge_base_url),
        concurrency=options.concurrency,
        dataset=Path(options.dataset),
        report=Path(options.report) if options.report else None,
        store=url,
        keep_result=options.store_result,
        repeat=options.repeat,
        executor=_executor(options),
        summaries_only=options.summaries_only,
    )
    io = Io.standard(progress=options.progress)
    result = execute(plan, io)
    return _threshold_verdict(result, minimums, io)


def _executor(options: RunOptions) -> RayExecutor | None:
    """A Ray executor for ``--ray`` (``--concurrency`` cases on each of ``--workers``)."""
    if options.ray is None:
        return None
    return RayExecutor(
        options.ray, workers=options.workers, concurrency_per_worker=options.concurrency
    )


def cmd_show(path: Path, *, filters: ShowFilters, span_id: str | None, limit: int) -> int:
    """``evaltrace show RESULTS``."""
    result = load_result(path)
    io = Io.standard(progress=False)
    if not filters.active and span_id is None:
        report(result, io, exporting=True)
        if not result.interactions:
            return EXIT_OK  # the tables said so
    show_audit_trail(result, io.out, filters=filters, span_id=span_id, limit=limit)
    return EXIT_OK


def cmd_report(results: Path, output: Path) -> int:
    """``evaltrace report RESULTS -o report.html``."""
    _check_writable(output)
    result = load_result(results)
    Io.standard(progress=False).out.print(
        f"report: {_write_report(result, output)}", soft_wrap=True
    )
    return EXIT_OK


def cmd_runs(*, store: str | None, filters: RunFilters, limit: int) -> int:
    """``evaltrace runs``: the recorded runs, newest first."""
    listed = list_runs_table(runs_store(store), filters, limit or None)
    io = Io.standard(progress=False)
    if isinstance(listed, str):
        io.out.print(listed, soft_wrap=True, markup=False)
    else:
        io.out.print(listed)
    return EXIT_OK


def cmd_runs_show(ref: str, *, store: str | None) -> int:
    """``evaltrace runs show REF``."""
    run_details(runs_store(store), ref, Io.standard(progress=False).out)
    return EXIT_OK


def cmd_compare(options: CompareOptions) -> int:
    """``evaltrace compare BASELINE CANDIDATE``."""
    if options.report is not None:
        _check_writable(Path(options.report))
    io = Io.standard(progress=False)
    return _compare(options, io.out, io.err)


def _threshold_verdict(result: EvaluationResult, minimums: Mapping[str, float], io: Io) -> int:
    misses = check_thresholds(result, minimums)
    for miss in misses:
        io.err.print(f"evaltrace: fail-under: {miss}", soft_wrap=True, markup=False)
    return EXIT_THRESHOLD if misses else EXIT_OK


def _write_report(result: EvaluationResult, path: Path) -> Path:
    return _written(path, lambda: write_html_report(result, path))


def _require_outputs(cases: Iterable[Case]) -> None:
    """Every case has an output (there is no task to make them); read case by case."""
    shown: list[str] = []  # the first few cases without one
    missing = count = 0
    for count, case in enumerate(cases, start=1):
        if not case.has_output:
            missing += 1
            if len(shown) < 3:
                shown.append(case.id or str(count - 1))
    if missing:
        listed = ", ".join(shown) + (", ..." if missing > 3 else "")
        raise ConfigurationError(
            f"{missing} of {count} cases have no output ({listed}): pass --task "
            "provider:model (or --task-base-url URL) to produce them, or add an 'output' field"
        )


def _default_jsonl(output: Path) -> Path:
    return output.with_suffix(".cases.jsonl")


def _check_targets(plan: RunPlan) -> None:
    """The result files can be written, and none overwrites another or the dataset."""
    targets = [plan.output, plan.results_jsonl, *([plan.report] if plan.report else [])]
    for target in targets:
        _check_writable(target)
    resolved = [target.resolve() for target in targets]
    output, stream = resolved[:2]
    if output == stream:
        raise ConfigurationError(f"--output and --results-jsonl are the same file ({stream})")
    if plan.report is not None and resolved[2] in (output, stream):
        raise ConfigurationError(f"--report {plan.report} is also a results file")
    if plan.dataset is not None and plan.dataset.resolve() in resolved:
        raise ConfigurationError(
            f"writing results to {plan.dataset} would overwrite the dataset: choose another "
            "--output, --results-jsonl or --report"
        )


def _check_writable(path: Path) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise ConfigurationError(f"cannot write {path}: directory {parent} does not exist")
    if path.is_dir():
        raise ConfigurationError(f"cannot write {path}: it is a directory")


def _written(path: Path, write: Callable[[], Path]) -> Path:
    """``write()``'s path; an OS error writing ``path`` is a one-line configuration error."""
    try:
        return write()
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror or exc}") from None


def _exporting() -> bool:
    return any(os.environ.get(name) for name in _OTLP_ENDPOINT_VARIABLES)
