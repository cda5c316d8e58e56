"""The ``evaltrace`` commands and their options (click); the work is in ``_commands``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from evaltrace import __version__
from evaltrace.cli import _commands as commands
from evaltrace.cli._metrics import METRIC_NAMES
from evaltrace.cli._runs import RunFilters
from evaltrace.cli._score_spans import SelectionOptions, cmd_export_cases, cmd_score_spans
from evaltrace.cli._show import ShowFilters

__all__ = ["cli"]

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


_F = TypeVar("_F", bound=Callable[..., Any])


def _debug_option(command: _F) -> _F:
    """``--debug`` on every command (read by ``main`` from the raw arguments)."""
    return click.option(
        "--debug", is_flag=True, expose_value=False, help="show full tracebacks on errors"
    )(command)


def _result_file_options(command: _F) -> _F:
    """Where the result goes: ``--output`` (JSON) and ``--results-jsonl`` (the case stream)."""
    for option in reversed(
        [
            click.option(
                "--output",
                "-o",
                default="results.json",
                show_default=True,
                metavar="PATH",
                help="where to save the full result as JSON",
            ),
            click.option(
                "--results-jsonl",
                metavar="PATH",
                help="where to stream cases as they finish "
                "[default: the output path with a .cases.jsonl suffix]",
            ),
        ]
    ):
        command = option(command)
    return command


def _output_options(command: _F) -> _F:
    """The result files, an HTML report, and the progress bar."""
    command = click.option(
        "--no-progress",
        is_flag=True,
        help="no progress bar (it is also off when stderr is not a terminal)",
    )(command)
    command = click.option(
        "--report",
        metavar="PATH",
        help="also write a self-contained HTML report (works offline)",
    )(command)
    return _result_file_options(command)


def _store_options(command: _F) -> _F:
    """``--store``, ``--no-store`` and ``--store-result`` on ``run`` and ``demo``."""
    for option in reversed(
        [
            click.option(
                "--store",
                metavar="URL",
                help="record the run in this run store: a SQLite path or sqlite:///PATH, or "
                "postgresql://USER:PASSWORD@HOST/DB [default: $EVALTRACE_STORE, else "
                ".evaltrace/runs.db]",
            ),
            click.option("--no-store", is_flag=True, help="do not record the run"),
            click.option(
                "--store-result",
                is_flag=True,
                help="keep the whole result in the store (compare the run without its file)",
            ),
        ]
    ):
        command = option(command)
    return command


@click.group(
    context_settings=_CONTEXT,
    epilog="Exit codes: 0 done, 1 unexpected error, 2 usage/configuration/dataset error, "
    "3 a --fail-under threshold missed, 4 compare: a metric regressed (--fail-on-regression), "
    "5 compare: a budget exceeded, 130 interrupted.",
)
@click.version_option(__version__, prog_name="evaltrace", message="%(prog)s %(version)s")
@_debug_option
def cli() -> None:
    """Evaluate LLM applications; every model call is an OpenTelemetry span.

    \b
    Examples:
      evaltrace demo                                  # offline, embedded models
      evaltrace run qa.jsonl -m contains --task openai:gpt-4o-mini
      evaltrace show results.json --purpose task
      evaltrace report results.json -o report.html
      evaltrace runs --name qa                        # the runs recorded so far
      evaltrace compare baseline.json candidate.json --fail-on-regression
    """


@cli.command(
    epilog="""\b
Examples:
  evaltrace demo
  evaltrace demo --limit 5 --report demo.html"""
)
@click.option("--limit", type=int, metavar="N", help="evaluate only the first N questions")
@_output_options
@_store_options
@_debug_option
def demo(
    limit: int | None,
    output: str,
    results_jsonl: str | None,
    report: str | None,
    no_progress: bool,
    **store: Any,
) -> int:
    """Offline demo: the embedded local model answers 30 questions.

    The answers of local:gemma-3-270m (llama.cpp, in this process) are scored with
    semantic_similarity (all-MiniLM-L6-v2 embeddings), contains and exact_match.
    No network, no API key.
    """
    return commands.cmd_demo(
        limit=limit,
        output=Path(output),
        results_jsonl=_path(results_jsonl),
        report=_path(report),
        progress=not no_progress,
        **store,
    )


@cli.command(
    epilog="""\b
Examples:
  # score answers already in the file (an 'output' field per case)
  evaltrace run answers.jsonl -m exact_match -m contains
  # have a model answer, a judge score, and fail CI below 0.8
  evaltrace run qa.jsonl --task openai:gpt-4o-mini --judge openai:gpt-4o \\
      -m correctness --fail-under correctness=0.8 --report report.html
  # your own application as the task: a function input -> output
  evaltrace run qa.csv --task myapp.bot:answer -m semantic_similarity \\
      --input-field question --expected-field answer
  # a rubric of your own, judged by a local OpenAI-compatible server
  evaltrace run qa.jsonl --judge-base-url http://127.0.0.1:8080/v1 \\
      -m 'criteria:polite=Is the answer polite?'"""
)
@click.argument("dataset")
@click.option(
    "--metric",
    "-m",
    "metrics",
    multiple=True,
    metavar="NAME",
    help="a metric to score with (repeatable): " + ", ".join(METRIC_NAMES),
)
@click.option(
    "--task",
    metavar="SPEC",
    help="what answers cases that have no output: PROVIDER:MODEL (openai:gpt-4o-mini, "
    "local:gemma-3-270m) or MODULE:FUNCTION (an importable function input -> output, "
    "sync or async)",
)
@click.option(
    "--task-base-url",
    metavar="URL",
    help="answer with an OpenAI-compatible server at URL (its /v1 address); "
    "--task then names the server's model [default model: 'default']",
)
@click.option(
    "--judge",
    metavar="PROVIDER:MODEL",
    help="the judge model for correctness, faithfulness, answer_relevance and criteria "
    "(and semantic_similarity, which otherwise compares embeddings)",
)
@click.option("--judge-base-url", metavar="URL", help="the judge is an OpenAI-compatible server")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    metavar="N",
    help="cases evaluated at once (with --ray: on each worker)",
)
@click.option(
    "--ray",
    metavar="ADDRESS",
    help="run the cases on a Ray cluster: 'auto', HOST:PORT or ray://HOST:PORT "
    "(needs evaltrace[ray]; models are built on the workers)",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    metavar="N",
    help="with --ray: the Ray actors running cases",
)
@click.option("--name", help="the run's name [default: the dataset file's name]")
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="run every case N times (trials); means get a case-clustered confidence interval",
)
@click.option(
    "--summaries-only",
    is_flag=True,
    help="keep only the metric summaries and totals in memory and in --output: every case "
    "is in the --results-jsonl stream (for datasets too big to hold)",
)
@click.option(
    "--fail-under",
    multiple=True,
    metavar="METRIC=VALUE",
    help="exit with code 3 when METRIC's mean score is below VALUE (0..1; repeatable)",
)
@click.option("--input-field", metavar="NAME", help="the dataset's name for 'input'")
@click.option("--expected-field", metavar="NAME", help="the dataset's name for 'expected'")
@click.option("--output-field", metavar="NAME", help="the dataset's name for 'output'")
@click.option("--context-field", metavar="NAME", help="the dataset's name for 'context'")
@click.option("--id-field", metavar="NAME", help="the dataset's name for 'id'")
@_output_options
@_store_options
@_debug_option
def run(dataset: str, **options: object) -> int:
    """Evaluate the cases of DATASET (.jsonl, .json or .csv).

    Each case has an 'input' and optionally 'expected', 'output', 'context', 'id'
    and 'metadata' (other keys and columns go to metadata; --*-field options map
    other names). Cases with no output are answered by --task.
    """
    return commands.cmd_run(commands.RunOptions.from_click(dataset, options))


@cli.command(
    epilog="""\b
Examples:
  evaltrace show results.json
  evaltrace show results.json --purpose correctness_evaluation --errors
  evaltrace show results.json --case capital-of-france
  evaltrace show results.json --id 3f2a9c1d"""
)
@click.argument("results")
@click.option("--purpose", help="only interactions with this purpose (task, a metric's ...)")
@click.option("--model", help="only interactions with this model")
@click.option("--case", "case_id", metavar="ID", help="only this case's interactions")
@click.option("--errors", is_flag=True, help="only failed interactions")
@click.option("--id", "span_id", metavar="SPAN_ID", help="one interaction in full (id prefix)")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    metavar="N",
    help="list at most N interactions (0: all)",
)
@_debug_option
def show(
    results: str,
    purpose: str | None,
    model: str | None,
    case_id: str | None,
    errors: bool,
    span_id: str | None,
    limit: int,
) -> int:
    """The audit trail of a saved result: tables, then its model calls.

    RESULTS is a results.json written by 'run' or 'demo', or a run's
    .cases.jsonl stream (e.g. after an interrupted run). With a filter, only
    the matching interactions are listed.
    """
    filters = ShowFilters(purpose=purpose, model=model, case_id=case_id, errors=errors)
    return commands.cmd_show(Path(results), filters=filters, span_id=span_id, limit=limit)


@cli.command(
    epilog="""\b
Examples:
  evaltrace report results.json
  evaltrace report results.json -o qa-report.html"""
)
@click.argument("results")
@click.option(
    "--output",
    "-o",
    default="report.html",
    show_default=True,
    metavar="PATH",
    help="where to write the HTML report",
)
@_debug_option
def report(results: str, output: str) -> int:
    """Write a self-contained HTML report of a saved result.

    One file that works offline (no network request): summary cards, a
    sortable and filterable interactions table, per-case drill-down with prompts
    and responses, latency and cost charts, and a timeline of each case's calls.
    """
    return commands.cmd_report(Path(results), Path(output))


_SOURCE_HELP = """\b
SOURCE is one of:
  PATH | DIR | 'GLOB'                      OTLP JSON files (the Collector's file exporter)
  phoenix:http://HOST:6006#PROJECT         a Phoenix project (REST API)
  jaeger:http://HOST:16686?service=NAME    Jaeger v2 (api_v3), traces of a service
  tempo:http://HOST:3200?q=TRACEQL         Grafana Tempo, traces a TraceQL query finds"""


def _selection_options(command: _F) -> _F:
    """Which recorded calls: window, filters, sample, limit; the backend's credential."""
    for option in reversed(
        [
            click.option(
                "--sample",
                type=click.FloatRange(min=0.0, max=1.0, min_open=True),
                metavar="RATE",
                help="score a deterministic share of the calls (by span id: the same RATE "
                "picks the same calls on every run)",
            ),
            click.option(
                "--limit", type=click.IntRange(min=1), metavar="N", help="at most N calls"
            ),
            click.option(
                "--since",
                metavar="TIME",
                help="calls started at or after TIME (ISO 8601, or ago: 30m, 2h, 7d)",
            ),
            click.option("--until", metavar="TIME", help="calls started before TIME"),
            click.option(
                "--filter",
                "filters",
                multiple=True,
                metavar="ATTR=VALUE",
                help="only spans with this attribute (or resource attribute) value "
                "(repeatable; e.g. gen_ai.request.model=gpt-4o)",
            ),
            click.option(
                "--token",
                metavar="TOKEN",
                help="the backend's API key or bearer token [default: $PHOENIX_API_KEY, "
                "$EVALTRACE_JAEGER_TOKEN or $EVALTRACE_TEMPO_TOKEN]; never printed",
            ),
            click.option(
                "--truncated-at",
                "truncated_at",
                multiple=True,
                type=click.IntRange(min=1),
                metavar="BYTES",
                help="treat content attributes of exactly BYTES as truncated "
                "[default: 2048, Tempo's limit]",
            ),
        ]
    ):
        command = option(command)
    return command


def _selection(source: str, options: dict[str, object]) -> SelectionOptions:
    return SelectionOptions(source=source, **options)  # type: ignore[arg-type]


@cli.command(
    "score-spans",
    epilog=_SOURCE_HELP
    + """

\b
Examples:
  evaltrace score-spans traces.json -m json_valid
  evaltrace score-spans 'phoenix:http://localhost:6006#support-bot' \\
      -m 'criteria:polite=Is the answer polite?' --judge openai:gpt-4o --sample 0.1
  evaltrace score-spans 'jaeger:http://localhost:16686?service=support-bot' \\
      --since 24h -m answer_relevance --judge-base-url http://127.0.0.1:8080/v1""",
)
@click.argument("source")
@click.option(
    "--metric",
    "-m",
    "metrics",
    multiple=True,
    required=True,
    metavar="NAME",
    help="a metric to score with (repeatable): " + ", ".join(METRIC_NAMES),
)
@click.option("--judge", metavar="PROVIDER:MODEL", help="the judge model of LLM-judge metrics")
@click.option("--judge-base-url", metavar="URL", help="the judge is an OpenAI-compatible server")
@_selection_options
@click.option(
    "--no-write-back",
    is_flag=True,
    help="do not write the scores into the recorded traces (nor Phoenix annotations)",
)
@click.option(
    "--rescore", is_flag=True, help="score calls again even if the source holds their scores"
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    metavar="N",
    help="calls scored at once",
)
@click.option("--name", help="the run's name [default: score-spans]")
@_result_file_options
@_debug_option
def score_spans(
    source: str,
    metrics: tuple[str, ...],
    judge: str | None,
    judge_base_url: str | None,
    no_write_back: bool,
    rescore: bool,
    concurrency: int,
    name: str | None,
    output: str,
    results_jsonl: str | None,
    **selection: object,
) -> int:
    """Score GenAI calls already recorded in OTLP files or a tracing backend.

    Each recorded chat span becomes a case (its prompt messages in, its
    response out); spans without captured or with truncated content are
    skipped and counted. Each score is written back as a gen_ai.evaluation.result
    event on a new span under the call, in its own trace (through the OTLP
    exporters of the OTEL_* variables), and as a span annotation for Phoenix.
    A second run over the same calls scores nothing twice.
    """
    return cmd_score_spans(
        _selection(source, selection),
        metrics=metrics,
        judge=judge,
        judge_base_url=judge_base_url,
        concurrency=concurrency,
        name=name,
        output=Path(output),
        results_jsonl=_path(results_jsonl),
        write_back=not no_write_back,
        rescore=rescore,
    )


@cli.command(
    "export-cases",
    epilog=_SOURCE_HELP
    + """

\b
Examples:
  evaltrace export-cases traces.json -o cases.jsonl
  evaltrace export-cases 'phoenix:http://localhost:6006#support-bot' --limit 200 -o cases.jsonl""",
)
@click.argument("source")
@_selection_options
@click.option(
    "--output",
    "-o",
    default="cases.jsonl",
    show_default=True,
    metavar="PATH",
    help="where to write the cases (JSON lines, readable by 'evaltrace run')",
)
@_debug_option
def export_cases(source: str, output: str, **selection: object) -> int:
    """Write recorded GenAI calls as a dataset, for offline regression runs.

    Each line is a case: 'input' (the prompt messages), 'output' (the recorded
    response) and 'metadata' (model, provider, tokens, trace and span ids, service).
    """
    return cmd_export_cases(_selection(source, selection), output=Path(output))


_STORE_HELP = "the run store [default: $EVALTRACE_STORE, else .evaltrace/runs.db]"


@cli.group(
    invoke_without_command=True,
    short_help="The recorded runs; 'runs show REF' shows one.",
    epilog="""\b
Examples:
  evaltrace runs
  evaltrace runs --name qa --since 2026-01-01
  evaltrace runs --store postgresql://ci@db.internal/evals --commit 3f2c1a
  evaltrace runs show qa@latest
  evaltrace runs show 3b1f6c0e""",
)
@click.option("--name", help="only runs with this name")
@click.option("--dataset", metavar="FINGERPRINT", help="only runs of this dataset (a prefix)")
@click.option("--since", metavar="DATE", help="only runs started since DATE (2026-01-31, UTC)")
@click.option("--commit", metavar="COMMIT", help="only runs at this git commit (a prefix)")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    metavar="N",
    help="list at most N runs (0: all)",
)
@click.option("--store", metavar="URL", help=_STORE_HELP)
@_debug_option
@click.pass_context
def runs(
    context: click.Context,
    name: str | None,
    dataset: str | None,
    since: str | None,
    commit: str | None,
    limit: int,
    store: str | None,
) -> int | None:
    """The runs recorded in the run store, newest first; 'runs show REF' shows one.

    Every 'run' and 'demo' is recorded (unless --no-store or EVALTRACE_STORE=off).
    """
    if context.invoked_subcommand is not None:
        return None
    filters = RunFilters(name=name, dataset=dataset, since=_date(since), commit=commit)
    return commands.cmd_runs(store=store, filters=filters, limit=limit)


@runs.command(name="show")
@click.argument("ref", metavar="REF")
@click.option("--store", metavar="URL", help=_STORE_HELP)
@_debug_option
def runs_show(ref: str, store: str | None) -> int:
    """One recorded run: its origin, scores and usage.

    REF is a run id (or a unique prefix of one), NAME@latest (the newest complete
    run named NAME) or NAME@COMMIT (the newest complete run of NAME at that commit).
    """
    return commands.cmd_runs_show(ref, store=store)


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (2026-01-31 or 2026-01-31T12:00)", param_hint="--since"
        ) from None


@cli.command(
    "compare",
    epilog="""\b
Examples:
  evaltrace compare baseline.json candidate.json
  evaltrace compare baseline.json candidate.json --json > comparison.json
  evaltrace compare qa@latest results.json --fail-on-regression
  evaltrace compare baseline.json candidate.json --fail-on-regression \\
      --max-cost-increase 10 --max-latency-increase 20 --report compare.html
\b
Exit codes: 0 done, 2 bad input, 4 a metric regressed (--fail-on-regression),
5 a budget was exceeded (--max-cost-increase, --max-latency-increase).""",
)
@click.argument("baseline")
@click.argument("candidate")
@click.option(
    "--confidence",
    type=click.FloatRange(min=0.5, max=0.999),
    default=0.95,
    show_default=True,
    help="two-sided confidence of the intervals (the tests' level is 1 - it)",
)
@click.option("--json", "as_json", is_flag=True, help="print the comparison as one JSON object")
@click.option(
    "--fail-on-regression",
    is_flag=True,
    help="exit with code 4 when a metric regressed significantly",
)
@click.option(
    "--max-cost-increase",
    type=click.FloatRange(min=0),
    metavar="PCT",
    help="exit with code 5 when the cost per case rose by more than PCT percent",
)
@click.option(
    "--max-latency-increase",
    type=click.FloatRange(min=0),
    metavar="PCT",
    help="exit with code 5 when the task calls' p95 latency rose by more than PCT percent",
)
@click.option("--report", metavar="PATH", help="also write a self-contained HTML comparison")
@click.option(
    "--moved",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    metavar="N",
    help="list the N cases that moved most",
)
@click.option(
    "--store",
    metavar="URL",
    help="the run store a run reference is read from "
    "[default: $EVALTRACE_STORE, else .evaltrace/runs.db]",
)
@_debug_option
def compare_command(baseline: str, candidate: str, **options: Any) -> int:
    """Compare a CANDIDATE run with a BASELINE run.

    Each is a results file (results.json, or a .cases.jsonl stream) or a run
    recorded in the run store: its id, NAME@latest or NAME@COMMIT.

    Per metric: the paired difference of means over matched cases with a
    bootstrap interval (trials of a case stay together), a t-test, an exact
    McNemar test for pass/fail, Holm's correction, and a verdict (improved,
    regressed, unchanged; with the minimum detectable effect when too small to
    tell). Then usage and cost by purpose and model, the cases added, removed
    or errored, and the cases that moved most. See docs/compare.md.
    """
    return commands.cmd_compare(commands.CompareOptions(baseline, candidate, **options))


def _path(value: str | None) -> Path | None:
    return None if value is None else Path(value)
