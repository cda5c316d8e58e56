"""The ``evaltrace`` commands and their options (click); the work is in ``_commands``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from evaltrace import __version__
from evaltrace.cli import _commands as commands
from evaltrace.cli._metrics import METRIC_NAMES
from evaltrace.cli._show import ShowFilters

__all__ = ["cli"]

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


_F = TypeVar("_F", bound=Callable[..., Any])


def _debug_option(command: _F) -> _F:
    """``--debug`` on every command (read by ``main`` from the raw arguments)."""
    return click.option(
        "--debug", is_flag=True, expose_value=False, help="show full tracebacks on errors"
    )(command)


def _output_options(command: _F) -> _F:
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
            click.option(
                "--report",
                metavar="PATH",
                help="also write a self-contained HTML report (works offline)",
            ),
            click.option(
                "--no-progress",
                is_flag=True,
                help="no progress bar (it is also off when stderr is not a terminal)",
            ),
        ]
    ):
        command = option(command)
    return command


@click.group(
    context_settings=_CONTEXT,
    epilog="Exit codes: 0 done, 1 unexpected error, 2 usage/configuration/dataset error, "
    "3 a --fail-under threshold missed, 130 interrupted.",
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
    """


@cli.command(
    epilog="""\b
Examples:
  evaltrace demo
  evaltrace demo --limit 5 --report demo.html"""
)
@click.option("--limit", type=int, metavar="N", help="evaluate only the first N questions")
@_output_options
@_debug_option
def demo(
    limit: int | None, output: str, results_jsonl: str | None, report: str | None, no_progress: bool
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


def _path(value: str | None) -> Path | None:
    return None if value is None else Path(value)
