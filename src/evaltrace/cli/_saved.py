"""Read a saved result: ``results.json`` (``EvaluationResult.save``) or a run's JSONL stream."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from evaltrace import ConfigurationError, EvaluationResult
from evaltrace._jsonl import read_results_stream
from evaltrace.history import is_results_path, load_run_result

__all__ = ["load_result", "load_result_or_run"]


def load_result_or_run(arg: str, *, store: str | None = None) -> EvaluationResult:
    """A results file, or a recorded run: ``results.json``, ``qa@latest``, ``qa@3f2c1a``, an id.

    An existing file, or a name ending in ``.json``/``.jsonl`` or holding a
    ``/``, is read as a results file (``load_result``); anything else is a
    run reference, resolved in ``store`` (default: ``$EVALTRACE_STORE``, else
    ``.evaltrace/runs.db``) and loaded with ``evaltrace.history.load_run_result``.
    Errors are one line (``ConfigurationError``, ``StoreError``).
    """
    if is_results_path(arg):
        return load_result(Path(arg))
    return load_run_result(arg, store)


def load_result(path: Path) -> EvaluationResult:
    """The result in ``path``; a ``.jsonl`` stream gives the cases it holds (maybe partial)."""
    if not path.is_file():
        reason = "it is a directory" if path.is_dir() else "no such file"
        raise ConfigurationError(f"cannot read {path}: {reason}")
    try:
        if path.suffix.lower() == ".jsonl":
            return read_results_stream(path)
        return EvaluationResult.load(path)
    except ValidationError as exc:
        raise ConfigurationError(
            f"{path} is not an evaltrace results file: {_first_problem(exc)}"
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{path}:{exc.lineno}: is not an evaltrace results file: Invalid JSON: {exc.msg} "
            f"(column {exc.colno})"
        ) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from None
    except ValueError as exc:  # a newer schema version, a stream with no case
        raise ConfigurationError(str(exc)) from None


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    count = error.error_count()
    more = f" (and {count - 1} more problems)" if count > 1 else ""
    return f"{where + ': ' if where else ''}{problem['msg']}{more}"
