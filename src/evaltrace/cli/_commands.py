"""What ``evaltrace demo``, ``run`` and ``show`` do, on the public API only."""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

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
    Model,
    Provider,
    SemanticSimilarity,
    evaluate_sync,
    get_provider,
)
from evaltrace.cli._metrics import build_metrics
from evaltrace.cli._progress import case_progress
from evaltrace.cli._report import render_result
from evaltrace.cli._saved import load_result
from evaltrace.datasets import load_cases
from evaltrace.demo import DEMO_TASK_MODEL, demo_cases

__all__ = ["Interrupted", "Io", "RunPlan", "cmd_demo", "cmd_run", "cmd_show", "execute", "run_demo"]

TaskArg = str | Provider | Model | Callable[[str], Awaitable[str]]
ModelArg = str | Provider | Model
_OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_PIPE_WIDTH = 160
DEMO_CONCURRENCY = 1
#: The server-side model name used with ``--task-base-url`` when ``--task`` names none.
DEFAULT_SERVER_MODEL = "default"


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
    """Everything one evaluation from the command line needs."""

    cases: list[Case]
    metrics: list[Metric]
    name: str
    output: Path
    results_jsonl: Path
    task: TaskArg | None = None
    judge: ModelArg | None = None
    embedder: EmbeddingModel | None = None
    concurrency: int = 8
    dataset: Path | None = None


def execute(plan: RunPlan, io: Io) -> EvaluationResult:
    """Run the evaluation with a progress bar, save it, print the tables; return the result."""
    _check_targets(plan)
    finished = 0
    with case_progress(len(plan.cases), enabled=io.progress, console=io.err) as advance:

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
                on_case=on_case,
            )
        except KeyboardInterrupt:
            raise Interrupted([plan.results_jsonl], finished) from None
    report(result, io, exporting=_exporting())
    saved = _save(result, plan.output)
    io.out.print(f"results: {saved}  (case by case: {plan.results_jsonl})", soft_wrap=True)
    if not result.complete:  # evaluate_sync returns what finished when Ctrl-C stops it
        raise Interrupted([saved, plan.results_jsonl], len(result.cases))
    return result


def report(result: EvaluationResult, io: Io, *, exporting: bool) -> None:
    """The tables, then the trace id and any export warning."""
    render_result(result, io.out)
    if (exporting or result.trace_url) and result.trace_id:
        io.out.print(f"trace id: {result.trace_id}", soft_wrap=True)
        if result.trace_url:
            io.out.print(f"trace: {result.trace_url}", soft_wrap=True)
    if result.dropped_spans > 0:
        io.err.print(
            f"evaltrace: warning: {result.dropped_spans} spans could not be exported "
            "to the OTLP collector (the results file still holds every interaction)",
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
    )
    return execute(plan, io)


def cmd_demo(args: argparse.Namespace) -> int:
    """``evaltrace demo``."""
    output = Path(args.output)
    run_demo(
        limit=args.limit,
        output=output,
        results_jsonl=_jsonl_path(args, output),
        io=Io.standard(progress=not args.no_progress),
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """``evaltrace run DATASET``."""
    if args.concurrency < 1:
        raise ConfigurationError(f"--concurrency must be at least 1, not {args.concurrency}")
    metrics = build_metrics(args.metric or [], judge=args.judge is not None)
    cases = load_cases(args.dataset)
    task = _model_spec(args.task, args.task_base_url)
    if task is None:
        _require_outputs(cases)
    output = Path(args.output)
    plan = RunPlan(
        cases=cases,
        metrics=metrics,
        name=args.name or Path(args.dataset).stem,
        output=output,
        results_jsonl=_jsonl_path(args, output),
        task=task,
        judge=_model_spec(args.judge, args.judge_base_url),
        concurrency=args.concurrency,
        dataset=Path(args.dataset),
    )
    execute(plan, Io.standard(progress=not args.no_progress))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """``evaltrace show results.json``."""
    result = load_result(Path(args.results))
    report(result, Io.standard(progress=False), exporting=True)
    return 0


def _model_spec(spec: str | None, base_url: str | None) -> ModelArg | None:
    """``--task``/``--judge`` as evaluate takes it; with a base URL, an OpenAI-compatible server."""
    if base_url is None:
        return spec
    spec = spec or DEFAULT_SERVER_MODEL
    if ":" not in spec:
        spec = f"openai-compatible:{spec}"
    return get_provider(spec, base_url=base_url)


def _require_outputs(cases: Sequence[Case]) -> None:
    missing = [c.id or str(i) for i, c in enumerate(cases) if c.output is None]
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise ConfigurationError(
            f"{len(missing)} of {len(cases)} cases have no output ({shown}): pass --task "
            "provider:model (or --task-base-url URL) to produce them, or add an 'output' field"
        )


def _jsonl_path(args: argparse.Namespace, output: Path) -> Path:
    if args.results_jsonl:
        return Path(args.results_jsonl)
    return output.with_suffix(".cases.jsonl")


def _check_targets(plan: RunPlan) -> None:
    """Both result files can be written, and neither overwrites the other or the dataset."""
    _check_writable(plan.output)
    _check_writable(plan.results_jsonl)
    output, stream = plan.output.resolve(), plan.results_jsonl.resolve()
    if output == stream:
        raise ConfigurationError(f"--output and --results-jsonl are the same file ({stream})")
    if plan.dataset is not None and plan.dataset.resolve() in (output, stream):
        raise ConfigurationError(
            f"writing results to {plan.dataset} would overwrite the dataset: choose another "
            "--output or --results-jsonl"
        )


def _check_writable(path: Path) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise ConfigurationError(f"cannot write {path}: directory {parent} does not exist")
    if path.is_dir():
        raise ConfigurationError(f"cannot write {path}: it is a directory")


def _save(result: EvaluationResult, path: Path) -> Path:
    try:
        return result.save(path)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror or exc}") from None


def _exporting() -> bool:
    return any(os.environ.get(name) for name in _OTLP_ENDPOINT_VARIABLES)
