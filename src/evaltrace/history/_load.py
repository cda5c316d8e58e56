"""A recorded run's result: the one the store kept, else the one in its results file."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from evaltrace._jsonl import read_results_stream
from evaltrace.history._errors import StoreError, StoreUnavailableError
from evaltrace.history._open import StoreTarget, open_store
from evaltrace.history._record import RunRecord
from evaltrace.history._store import RunStore
from evaltrace.history._url import store_url
from evaltrace.results import EvaluationResult

__all__ = ["RESULT_SUFFIXES", "is_results_path", "load_run_result", "resolve_run"]


def resolve_run(ref: str, store: StoreTarget | None = None) -> RunRecord:
    """The run ``ref`` names (an id or id prefix, ``NAME@latest``, ``NAME@COMMIT``).

    ``store`` defaults to the CLI's: ``$EVALTRACE_STORE``, else
    ``.evaltrace/runs.db`` under the working directory. Raises ``StoreError``
    subclasses (one line, no password): ``RunNotFoundError``,
    ``AmbiguousRunRefError``, ``StoreURLError``, ``StoreUnavailableError``.
    """
    if isinstance(store, RunStore):
        return store.resolve(ref)
    with open_store(_url(store), create=False) as opened:
        return opened.resolve(ref)


#: Names that are files, never run references (a typo in a path must not read as a run id).
RESULT_SUFFIXES = (".json", ".jsonl")


def is_results_path(arg: str) -> bool:
    """``arg`` names a results file, not a run reference.

    An existing file, a name ending in ``.json``/``.jsonl``, or one holding a
    path separator; anything else (``qa@latest``, ``qa@3f2c1a``, a run id) is
    a reference to a recorded run.
    """
    return Path(arg).exists() or arg.lower().endswith(RESULT_SUFFIXES) or "/" in arg or "\\" in arg


def load_run_result(ref: str, store: StoreTarget | None = None) -> EvaluationResult:
    """The ``EvaluationResult`` of the run ``ref`` names, for comparing runs.

    The full result the store kept (``keep_result``, ``--store-result``), else
    the one in the run's recorded results file (JSON or JSONL). ``store`` as
    for ``resolve_run``. Raises ``StoreError`` (one line) when the run is
    unknown or ambiguous, or neither its kept result nor its file can be read.
    """
    if isinstance(store, RunStore):
        return _result_of(store, store.resolve(ref))
    with open_store(_url(store), create=False) as opened:
        return _result_of(opened, opened.resolve(ref))


def _url(store: str | None) -> str:
    url = store_url(store, default_enabled=True)
    if url is None:
        raise StoreUnavailableError("no run store: recording is off (EVALTRACE_STORE=off)")
    return url


def _result_of(store: RunStore, run: RunRecord) -> EvaluationResult:
    kept = store.load_result(run.run_id)
    where = f"run {run.run_id} ({run.name})"
    if kept is not None:
        try:
            return EvaluationResult.from_saved(json.loads(kept), where)
        except ValueError as error:  # also pydantic's ValidationError and JSONDecodeError
            raise StoreError(f"{where}: its kept result cannot be read: {_line(error)}") from None
    if run.results_path is None:
        raise StoreError(f"{where} kept no result and recorded no results file")
    return _from_file(Path(run.results_path), where)


def _from_file(path: Path, where: str) -> EvaluationResult:
    if not path.is_file():
        raise StoreError(f"{where} kept no result, and its results file {path} is gone")
    try:
        if path.suffix.lower() == ".jsonl":
            return read_results_stream(path)
        return EvaluationResult.load(path)
    except (ValueError, OSError) as error:
        raise StoreError(f"{where}: cannot read its results file {path}: {_line(error)}") from None


def _line(error: Exception) -> str:
    if isinstance(error, ValidationError):
        problem = error.errors()[0]
        return f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}"
    return " ".join(str(error).split())
