"""Backfill and online evaluation of calls already recorded in a tracing backend.

``score_spans(source, metrics, judge=...)`` reads recorded GenAI calls from
OTLP files, Phoenix, Jaeger or Tempo (``evaltrace.sources``), scores them
with ``evaluate``, and writes each score back into the call's own trace
(see docs/score-spans.md). ``read_recorded_cases`` gives the cases alone
(``evaltrace export-cases``).
"""

from evaltrace.backfill._calls import TRUNCATION_LIMITS, RecordedCall, SkippedSpan
from evaltrace.backfill._recorded import (
    FileSpans,
    JaegerSpans,
    PhoenixSpans,
    RecordedSource,
    TempoSpans,
    open_source,
)
from evaltrace.backfill._score import (
    RecordedCases,
    ScoredSpans,
    read_recorded_cases,
    score_spans,
    score_spans_sync,
)
from evaltrace.backfill._writeback import WriteBack
from evaltrace.sources._select import SpanSelection, in_sample, parse_filters

__all__ = [
    "FileSpans",
    "JaegerSpans",
    "PhoenixSpans",
    "RecordedCall",
    "RecordedCases",
    "RecordedSource",
    "ScoredSpans",
    "SkippedSpan",
    "SpanSelection",
    "TRUNCATION_LIMITS",
    "TempoSpans",
    "WriteBack",
    "in_sample",
    "open_source",
    "parse_filters",
    "read_recorded_cases",
    "score_spans",
    "score_spans_sync",
]
