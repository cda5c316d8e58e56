"""``evaltrace``: the offline demo, evaluate a dataset file, show or report a saved result.

Exit codes: 0 done, 1 unexpected error, 2 usage, configuration or dataset error,
3 a ``--fail-under`` threshold was missed, 4 ``compare --fail-on-regression``: a
metric regressed, 5 ``compare``: a budget gate was exceeded, 130 interrupted (Ctrl-C). No error
prints a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import click

from evaltrace import EvaltraceError
from evaltrace.cli._commands import CliSession, Interrupted
from evaltrace.cli._exit import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_THRESHOLD, EXIT_USAGE
from evaltrace.cli._group import cli

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_THRESHOLD",
    "EXIT_USAGE",
    "CliSession",
    "cli",
    "console_main",
    "main",
]


def main(argv: Sequence[str] | None = None, *, owns_process: bool = False) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return the exit code.

    ``owns_process`` is for the installed ``evaltrace`` command: the process is
    the CLI's, so ``run`` and ``demo`` install the global tracer provider and
    every instrumentation of the task traces into the run. Called from other
    code (a test, a notebook), ``main`` leaves the process's globals alone.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    handler = _configure_logging()
    try:
        return _invoke(args, debug=debug, session=CliSession(owns_process=owns_process))
    finally:
        logging.getLogger("evaltrace").removeHandler(handler)


def console_main() -> None:
    """The ``evaltrace`` console script: the CLI owns this process."""
    sys.exit(main(owns_process=True))


def _invoke(args: list[str], *, debug: bool, session: CliSession) -> int:
    try:
        code = cli.main(args=args, prog_name="evaltrace", standalone_mode=False, obj=session)
    except click.exceptions.NoArgsIsHelpError as no_command:
        click.echo(no_command.ctx.get_help() if no_command.ctx else "", err=True)
        return EXIT_USAGE
    except click.ClickException as usage:
        _error(_usage_line(usage, args))
        return EXIT_USAGE
    except (click.exceptions.Abort, KeyboardInterrupt):
        print("evaltrace: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Interrupted as stop:
        _error(str(stop), kind="interrupted")
        return EXIT_INTERRUPTED
    except EvaltraceError as error:
        if debug:
            raise
        _error(str(error))
        return EXIT_USAGE
    except Exception as error:
        if debug:
            raise
        _error(
            f"unexpected {type(error).__name__}: {error} (rerun with --debug to see the traceback)"
        )
        return EXIT_ERROR
    return EXIT_OK if code is None else int(code)


def _usage_line(usage: click.ClickException, args: Sequence[str]) -> str:
    """A click usage error as one line, with where to read the command's help."""
    context = getattr(usage, "ctx", None)
    if context is not None:
        command = context.command_path
    else:  # some parser errors carry no context: the first command name given
        named = next((a for a in args if a in cli.commands), None)
        command = f"evaltrace {named}" if named else "evaltrace"
    return f"{usage.format_message()} (see: {command} --help)"


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
    console_main()
