"""What ``evaltrace score-spans`` and ``export-cases`` do, on the public API only."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from evaltrace import (
    ConfigurationError,
    RecordedCases,
    ScoredSpans,
    SpanSelection,
    read_recorded_cases,
    score_spans,
)
from evaltrace.backfill import TRUNCATION_LIMITS, open_source, parse_filters
from evaltrace.cli._commands import Io, report
from evaltrace.cli._exit import EXIT_OK
from evaltrace.cli._metrics import build_metrics
from evaltrace.cli._task import model_spec

__all__ = ["SelectionOptions", "cmd_export_cases", "cmd_score_spans", "parse_moment"]

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SHOWN_PROBLEMS = 20


def parse_moment(text: str, now: dt.datetime, option: str) -> dt.datetime:
    """An ISO 8601 time (UTC when it names no zone) or a duration ago (``30m``, ``2h``, ``7d``).

    Raises:
        ConfigurationError: neither.
    """
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = float(relative[1]), _UNITS[relative[2]]
        return now - dt.timedelta(**{unit: amount})
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigurationError(
            f"{option} {text!r}: give an ISO 8601 time (2025-05-01T10:00:00Z) "
            "or a duration ago (30m, 2h, 7d)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class SelectionOptions:
    """The options both commands share: which recorded calls, and the backend's credential."""

    source: str
    sample: float | None
    limit: int | None
    since: str | None
    until: str | None
    filters: tuple[str, ...]
    token: str | None
    truncated_at: tuple[int, ...]

    def selection(self, now: dt.datetime | None = None) -> SpanSelection:
        """The selection these options name (relative times are from ``now``)."""
        now = now or dt.datetime.now(dt.UTC)
        return SpanSelection(
            since=None if self.since is None else parse_moment(self.since, now, "--since"),
            until=None if self.until is None else parse_moment(self.until, now, "--until"),
            filters=parse_filters(self.filters),
            sample=1.0 if self.sample is None else self.sample,
            limit=self.limit,
        )

    @property
    def limits(self) -> tuple[int, ...]:
        """The attribute sizes taken as truncation."""
        return self.truncated_at or TRUNCATION_LIMITS


def cmd_score_spans(
    options: SelectionOptions,
    *,
    metrics: Sequence[str],
    judge: str | None,
    judge_base_url: str | None,
    concurrency: int,
    name: str | None,
    output: Path,
    results_jsonl: Path | None,
    write_back: bool,
    rescore: bool,
) -> int:
    """``evaltrace score-spans SOURCE``: score recorded calls, write each score into its trace."""
    built = build_metrics(metrics, judge=bool(judge or judge_base_url))
    selection = options.selection()
    stream = results_jsonl or output.with_suffix(".cases.jsonl")
    source = open_source(options.source, token=options.token)

    async def run() -> ScoredSpans:
        try:
            return await score_spans(
                source,
                built,
                judge=model_spec(judge, judge_base_url),
                selection=selection,
                name=name or "score-spans",
                write_back=write_back,
                rescore=rescore,
                max_concurrency=concurrency,
                results_path=stream,
                truncation_limits=options.limits,
            )
        finally:
            await source.aclose()

    scored = asyncio.run(run())
    io = Io.standard(progress=False)
    _summary(scored.read, source.description, io, scored=scored)
    for index, result in enumerate(scored.results):
        report(result, io, exporting=True)
        path = output if index == 0 else output.with_name(f"{output.stem}.{index + 1}.json")
        io.out.print(f"results: {result.save(path)}  (case by case: {stream})", soft_wrap=True)
    return EXIT_OK


def cmd_export_cases(options: SelectionOptions, *, output: Path) -> int:
    """``evaltrace export-cases SOURCE -o cases.jsonl``: the recorded calls as a dataset."""
    if not output.parent.is_dir():
        raise ConfigurationError(f"cannot write {output}: directory {output.parent} does not exist")
    source = open_source(options.source, token=options.token)

    async def read() -> RecordedCases:
        try:
            return await read_recorded_cases(
                source, options.selection(), truncation_limits=options.limits
            )
        finally:
            await source.aclose()

    found = asyncio.run(read())
    with output.open("w", encoding="utf-8") as file:
        for case in found.cases:
            row = case.model_dump(mode="json", exclude_none=True)
            file.write(json.dumps(row, ensure_ascii=False) + "\n")
    io = Io.standard(progress=False)
    _summary(found, source.description, io)
    io.out.print(f"cases: {output} ({len(found.calls)})", soft_wrap=True)
    return EXIT_OK


def _summary(
    read: RecordedCases, description: str, io: Io, *, scored: ScoredSpans | None = None
) -> None:
    """What was read, scored, skipped (by reason), and every problem met (the first few)."""
    parts = [f"{len(read.calls) + read.already_scored} recorded calls selected from {description}"]
    if scored is not None:
        parts.append(f"{scored.scored} scored")
        parts.append(f"{read.already_scored} already scored")
        parts.append(f"{scored.evaluation_spans} evaluation spans written")
        if scored.backend_scores:
            parts.append(f"{scored.backend_scores} annotations written")
    io.out.print("; ".join(parts), soft_wrap=True, markup=False)
    if read.skipped:
        io.out.print(
            f"skipped {len(read.skipped)}: {_counts(read.skipped_by_reason())}", markup=False
        )
    for skip in read.skipped[:_SHOWN_PROBLEMS]:
        io.err.print(f"evaltrace: skipped: {skip}", soft_wrap=True, markup=False)
    for problem in read.problems[:_SHOWN_PROBLEMS]:
        io.err.print(f"evaltrace: warning: {problem}", soft_wrap=True, markup=False)
    hidden = max(len(read.problems) - _SHOWN_PROBLEMS, 0)
    if hidden:
        io.err.print(f"evaltrace: warning: ... and {hidden} more problems", markup=False)


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{kind}: {count}" for kind, count in sorted(counts.items()))
