"""``evaltrace``: run the offline demo, evaluate a dataset file, show a saved result.

Exit codes: 0 done, 1 unexpected error, 2 usage, configuration or dataset error,
130 interrupted (Ctrl-C). No error prints a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from evaltrace import EvaltraceError, __version__
from evaltrace.cli._commands import Interrupted, cmd_demo, cmd_run, cmd_show
from evaltrace.cli._metrics import METRIC_NAMES

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error already printed
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    args.debug = getattr(args, "debug", False)
    return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    handler = _configure_logging()
    try:
        return int(args.handler(args))
    except Interrupted as stop:
        _error(str(stop), kind="interrupted")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("evaltrace: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except EvaltraceError as error:
        if args.debug:
            raise
        _error(str(error))
        return EXIT_USAGE
    except Exception as error:
        if args.debug:
            raise
        _error(
            f"unexpected {type(error).__name__}: {error} (rerun with --debug to see the traceback)"
        )
        return EXIT_ERROR
    finally:
        logging.getLogger("evaltrace").removeHandler(handler)


def build_parser() -> argparse.ArgumentParser:
    """The ``evaltrace`` argument parser with its three subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show full tracebacks on errors",
    )
    parser = argparse.ArgumentParser(
        prog="evaltrace",
        parents=[common],
        description="Evaluate LLM applications; every model call is an OpenTelemetry span.",
        epilog="Exit codes: 0 done, 1 unexpected error, 2 usage/configuration/dataset error, "
        "130 interrupted.",
    )
    parser.set_defaults(command=None)  # not debug: the --debug action is shared (SUPPRESS)
    parser.add_argument("--version", action="version", version=f"evaltrace {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(commands, common)
    _add_run(commands, common)
    _add_show(commands, common)
    return parser


def _add_demo(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="offline demo: the embedded local model on 30 questions",
        description="Answer the bundled questions with the embedded local model "
        "(local:gemma-3-270m) and score the answers with semantic_similarity "
        "(all-MiniLM-L6-v2 embeddings), contains and exact_match. No network, no API key.",
    )
    demo.add_argument("--limit", type=int, metavar="N", help="evaluate only the first N cases")
    _add_output_options(demo)
    demo.set_defaults(handler=cmd_demo)


def _add_run(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    run = commands.add_parser(
        "run",
        parents=[common],
        help="evaluate a dataset file (.jsonl, .json or .csv)",
        description="Evaluate the cases of DATASET. Cases with no 'output' are answered by "
        "--task. Metrics: " + ", ".join(METRIC_NAMES) + ".",
    )
    run.add_argument("dataset", metavar="DATASET", help="a .jsonl, .json or .csv file of cases")
    run.add_argument(
        "--metric",
        "-m",
        action="append",
        metavar="NAME",
        help="a metric to score with (repeatable): " + ", ".join(METRIC_NAMES),
    )
    run.add_argument(
        "--task",
        metavar="PROVIDER:MODEL",
        help="the model that answers cases without an output, e.g. "
        "local:gemma-3-270m or openai:gpt-4o-mini",
    )
    run.add_argument(
        "--task-base-url",
        metavar="URL",
        help="answer with an OpenAI-compatible server at URL (its /v1 address); "
        "--task then names the server's model (default: 'default')",
    )
    run.add_argument(
        "--judge",
        metavar="PROVIDER:MODEL",
        help="the judge model for correctness, faithfulness, answer_relevance "
        "(and semantic_similarity, which otherwise compares embeddings)",
    )
    run.add_argument(
        "--judge-base-url", metavar="URL", help="the judge is an OpenAI-compatible server at URL"
    )
    run.add_argument("--name", help="the run's name (default: the dataset file's name)")
    run.add_argument(
        "--concurrency",
        type=int,
        default=8,
        metavar="N",
        help="cases evaluated at once (default: 8)",
    )
    _add_output_options(run)
    run.set_defaults(handler=cmd_run)


def _add_show(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    show = commands.add_parser(
        "show",
        parents=[common],
        help="print the tables of a saved result",
        description="Print the tables of a results.json written by 'demo' or 'run' (or of "
        "its case-by-case .jsonl stream, e.g. after an interrupted run).",
    )
    show.add_argument("results", metavar="RESULTS", help="results.json (or results.jsonl)")
    show.set_defaults(handler=cmd_show)


def _add_output_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--output",
        "-o",
        default="results.json",
        metavar="PATH",
        help="where to save the full result as JSON (default: results.json)",
    )
    command.add_argument(
        "--results-jsonl",
        metavar="PATH",
        help="where to stream finished cases as they finish (default: the "
        "output path with a .cases.jsonl suffix, e.g. results.cases.jsonl)",
    )
    command.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (it is also off when stderr is not a terminal)",
    )


def _configure_logging() -> logging.Handler:
    """Library warnings (slow collector, dropped spans) as plain lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.setLevel(logging.WARNING)
    handler.addFilter(_not_reported_by_cli)
    logger = logging.getLogger("evaltrace")
    logger.addHandler(handler)
    return handler


def _not_reported_by_cli(record: logging.LogRecord) -> bool:
    """Skip library warnings whose news the result carries (the CLI prints it in its own words).

    The library marks them with the ``evaltrace_reported_in_result`` record attribute.
    """
    return not getattr(record, "evaltrace_reported_in_result", False)


def _error(message: str, *, kind: str = "error") -> None:
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    print(f"evaltrace: {kind}: {line}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
