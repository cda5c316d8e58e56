"""``score_spans``: evaluate calls already recorded in a tracing backend, and write the scores back.

The flow: the source reads the window's spans; each inference span becomes
a recorded call and a case (or is skipped, with its reason); the selection
samples and filters them; the scores the source already holds are read back
(idempotency key ``<span id>:<metric>``) and not computed again; ``evaluate``
scores the rest (the judge's calls in the run's own trace, each case linked
to its recorded span); each score is written back as an evaluation span in
the original trace, and, for Phoenix, as a span annotation.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

from evaltrace.backfill._calls import TRUNCATION_LIMITS, RecordedCall, SkippedSpan, recorded_calls
from evaltrace.backfill._recorded import RecordedSource, evaluation_key, open_source
from evaltrace.backfill._writeback import WriteBack
from evaltrace.exceptions import ConfigurationError
from evaltrace.metrics import Metric
from evaltrace.providers import Model, Provider
from evaltrace.records import Case, CaseResult
from evaltrace.results import EvaluationResult
from evaltrace.runner import evaluate
from evaltrace.sources._select import SpanSelection
from evaltrace.tracing._batch import BoundedBatchSpanProcessor
from evaltrace.tracing._record import SpanRecord
from evaltrace.tracing.export import build_resource, build_span_exporters

__all__ = ["RecordedCases", "ScoredSpans", "read_recorded_cases", "score_spans", "score_spans_sync"]


@dataclass
class RecordedCases:
    """What a source yielded for a selection: the calls to score and what was left out."""

    calls: list[RecordedCall]
    skipped: list[SkippedSpan]
    problems: list[str]
    #: Calls left out because every requested metric already scored them.
    already_scored: int = 0

    @property
    def cases(self) -> list[Case]:
        """The calls as cases."""
        return [call.case() for call in self.calls]

    def skipped_by_reason(self) -> dict[str, int]:
        """How many spans were skipped, per reason kind."""
        return dict(Counter(skip.kind for skip in self.skipped))


@dataclass
class ScoredSpans:
    """What ``score_spans`` did: results (one per set of metrics run), skips, write-back."""

    read: RecordedCases
    results: list[EvaluationResult] = field(default_factory=list)
    #: Evaluation spans written into the recorded traces.
    evaluation_spans: int = 0
    #: Scores written to the backend's own store (Phoenix annotations).
    backend_scores: int = 0

    @property
    def scored(self) -> int:
        """Recorded calls scored by this run."""
        return sum(len(result.cases) for result in self.results)


async def read_recorded_cases(
    source: RecordedSource | str,
    selection: SpanSelection | None = None,
    *,
    truncation_limits: Sequence[int] = TRUNCATION_LIMITS,
) -> RecordedCases:
    """The recorded calls a source holds for a selection (limit applied), in start order."""
    selection = selection or SpanSelection()
    owned = isinstance(source, str)
    recorded = open_source(source) if isinstance(source, str) else source
    try:
        read, _ = await _read(recorded, selection, truncation_limits)
    finally:
        if owned:
            await recorded.aclose()
    read.calls = read.calls[: selection.limit]
    return read


async def _read(
    source: RecordedSource, selection: SpanSelection, limits: Sequence[int]
) -> tuple[RecordedCases, list[SpanRecord]]:
    spans = await source.read(selection)
    found = list(recorded_calls(spans, wanted=selection.wants, truncation_limits=limits))
    calls = [item for item in found if isinstance(item, RecordedCall)]
    calls.sort(key=lambda call: (call.record.start_time, call.record.span_id))
    skipped = [item for item in found if isinstance(item, SkippedSpan)]
    return RecordedCases(calls, skipped, list(source.problems)), spans


async def score_spans(
    source: RecordedSource | str,
    metrics: Sequence[Metric],
    *,
    judge: str | Provider | Model | None = None,
    selection: SpanSelection | None = None,
    name: str = "score-spans",
    write_back: bool = True,
    rescore: bool = False,
    tracer_provider: trace.TracerProvider | None = None,
    max_concurrency: int = 8,
    results_path: str | Path | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
    truncation_limits: Sequence[int] = TRUNCATION_LIMITS,
) -> ScoredSpans:
    """Score the recorded calls of ``source`` with ``metrics``; write each score back.

    ``source`` is a ``RecordedSource`` or a SOURCE string (``open_source``).
    Calls whose every metric the source already holds a score for are left
    out (``rescore=True`` scores them again). Scores go back as evaluation
    spans through ``tracer_provider`` (default: the global SDK provider, else
    one built from the ``OTEL_*`` variables), and, for Phoenix, as span
    annotations. ``results_path`` streams the cases as they finish.

    Raises:
        ConfigurationError: no metrics, or a bad selection or source.
        SourceError: the source could not be read at all.
    """
    if not metrics:
        raise ConfigurationError("score_spans needs at least one metric")
    selection = selection or SpanSelection()
    recorded = open_source(source) if isinstance(source, str) else source
    provider, owned_provider = _provider(tracer_provider)
    try:
        read, spans = await _read(recorded, selection, truncation_limits)
        done = set() if rescore else await _scored(recorded, spans, read)
        groups = _groups(read, metrics, done, selection.limit)
        scored = ScoredSpans(read)
        for index, (group, cases) in enumerate(groups.items()):
            writer = WriteBack(provider, backend=recorded.write_scores) if write_back else None
            try:
                result = await evaluate(
                    cases,
                    [m for m in metrics if m.name in group],
                    judge=judge,
                    name=name,
                    max_concurrency=max_concurrency,
                    results_path=_nth_path(results_path, index),
                    on_case=_both(writer, on_case),
                    tracer_provider=provider,
                )
            finally:  # the scores of finished cases reach the backend whatever happens
                if writer is not None:
                    scored.evaluation_spans += writer.written
                    scored.backend_scores += await writer.drain()
                    read.problems += writer.problems
            scored.results.append(result)
        return scored
    finally:
        if isinstance(source, str):
            await recorded.aclose()
        if owned_provider and isinstance(provider, SdkTracerProvider):
            provider.shutdown()


def score_spans_sync(*args: Any, **kwargs: Any) -> ScoredSpans:
    """``score_spans`` for scripts: runs the event loop itself (same arguments)."""
    return asyncio.run(score_spans(*args, **kwargs))


async def _scored(
    source: RecordedSource, spans: Sequence[SpanRecord], read: RecordedCases
) -> set[str]:
    ids = [call.record.span_hex for call in read.calls]
    return await source.scored(spans, ids) if ids else set()


def _groups(
    read: RecordedCases, metrics: Sequence[Metric], done: set[str], limit: int | None
) -> dict[tuple[str, ...], list[Case]]:
    """The cases to score, by the metrics each still needs (usually one group)."""
    groups: dict[tuple[str, ...], list[Case]] = {}
    kept: list[RecordedCall] = []
    for call in read.calls:
        span_id = call.record.span_hex
        missing = tuple(m.name for m in metrics if evaluation_key(span_id, m.name) not in done)
        if not missing:
            read.already_scored += 1
            continue
        if limit is not None and len(kept) >= limit:
            continue
        kept.append(call)
        groups.setdefault(missing, []).append(call.case())
    read.calls = kept
    return groups


def _both(
    writer: WriteBack | None, on_case: Callable[[CaseResult], None] | None
) -> Callable[[CaseResult], None] | None:
    if writer is None:
        return on_case

    def each(result: CaseResult) -> None:
        writer.case_done(result)
        if on_case is not None:
            on_case(result)

    return each


def _provider(given: trace.TracerProvider | None) -> tuple[trace.TracerProvider, bool]:
    """The user's provider (given or global SDK), else one from ``OTEL_*`` owned by the call."""
    if given is not None:
        return given, False
    current = trace.get_tracer_provider()
    if isinstance(current, SdkTracerProvider):
        return current, False
    provider = SdkTracerProvider(resource=build_resource(), shutdown_on_exit=False)
    for exporter in build_span_exporters():
        provider.add_span_processor(BoundedBatchSpanProcessor(exporter))
    return provider, True


def _nth_path(path: str | Path | None, index: int) -> Path | None:
    if path is None:
        return None
    path = Path(path)
    return path if index == 0 else path.with_name(f"{path.stem}.{index + 1}{path.suffix}")
