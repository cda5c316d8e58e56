"""Results streamed to a JSONL file as cases finish, so nothing finished is lost."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from evaltrace._schema import upgrade_case
from evaltrace.records import CaseResult
from evaltrace.results import EvaluationResult

__all__ = ["ResultsWriter", "read_case_results", "read_results_stream"]


class ResultsWriter:
    """Appends one ``{"type": "case", ...}`` line per finished case, flushed at once.

    The last line is ``{"type": "summary", ...}`` when the run ends, complete
    or not; a file with no summary line is a run that crashed.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file: IO[str] = self.path.open("w", encoding="utf-8")

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def case(self, result: CaseResult) -> None:
        """Write one finished case, with its interactions (a stream line stands alone)."""
        record = result.model_dump(mode="json")
        record["interactions"] = [i.model_dump(mode="json") for i in result.interactions]
        self._write({"type": "case", **record})

    def summary(self, summary: dict[str, object]) -> None:
        """Write the run's summary line and close the file."""
        self._write({"type": "summary", **summary})
        self.close()

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def _write(self, record: dict[str, object]) -> None:
        line = json.dumps(record, ensure_ascii=False)
        with self._lock:
            if self._file.closed:
                return
            self._file.write(line + "\n")
            self._file.flush()


def read_case_results(path: str | Path) -> list[CaseResult]:
    """The finished cases recorded in a results JSONL file (a torn last line is skipped)."""
    results = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.pop("type", None) == "case":
            results.append(CaseResult.model_validate(upgrade_case(record)))
    return results


def read_results_stream(path: str | Path) -> EvaluationResult:
    """The result a results JSONL file holds: whole when it has its summary line, else partial.

    A stream without a summary line (a run that crashed) gives its finished
    cases, ``complete`` False. Raises ``ValueError`` when it holds no case and
    no summary, and as ``EvaluationResult.from_saved`` does.
    """
    source = Path(path)
    cases = read_case_results(source)
    summary = _summary_line(source)
    if not cases and summary is None:
        raise ValueError(f"{source} holds no finished cases")
    interactions = [i for case in cases for i in case.interactions]
    if summary is not None:
        return EvaluationResult.from_saved(
            {
                **summary,
                "cases": cases,
                "interactions": sorted(interactions, key=lambda i: i.timestamp),
            },
            source,
        )
    times = sorted(i.timestamp for i in interactions) or [datetime.now(UTC)]
    return EvaluationResult.build(
        name=source.stem,
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
