"""Read a saved result: ``results.json`` (``EvaluationResult.save``) or a run's JSONL stream."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from evaltrace import ConfigurationError, EvaluationResult, read_case_results

__all__ = ["load_result"]


def load_result(path: Path) -> EvaluationResult:
    """The result in ``path``; a ``.jsonl`` stream gives the cases it holds (maybe partial)."""
    if not path.is_file():
        reason = "it is a directory" if path.is_dir() else "no such file"
        raise ConfigurationError(f"cannot read {path}: {reason}")
    try:
        if path.suffix.lower() == ".jsonl":
            return _from_stream(path)
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
    except ValueError as exc:  # a newer schema version
        raise ConfigurationError(str(exc)) from None


def _from_stream(path: Path) -> EvaluationResult:
    cases = read_case_results(path)
    summary = _summary_line(path)
    if not cases and summary is None:
        raise ConfigurationError(f"{path} holds no finished cases")
    interactions = [i for case in cases for i in case.interactions]
    if summary is not None:
        return EvaluationResult.from_saved(
            {
                **summary,
                "cases": cases,
                "interactions": sorted(interactions, key=lambda i: i.timestamp),
            },
            path,
        )
    times = sorted(i.timestamp for i in interactions) or [datetime.now(UTC)]
    return EvaluationResult.build(
        name=path.stem,
        run_id="",
        trace_id=interactions[0].trace_id if interactions else "",
        started_at=times[0],
        finished_at=times[-1],
        cases=cases,
        interactions=interactions,
        complete=False,
    )


def _summary_line(path: Path) -> dict[str, object] | None:
    for line in reversed(path.read_text(encoding="utf-8").splitlines()):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("type") == "summary":
            record.pop("type")
            return record
    return None


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    count = error.error_count()
    more = f" (and {count - 1} more problems)" if count > 1 else ""
    return f"{where + ': ' if where else ''}{problem['msg']}{more}"
