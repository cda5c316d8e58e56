"""Small helpers the backend clients share: trace ids, times, grouping by trace."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from evaltrace.exceptions import ConfigurationError
from evaltrace.tracing._record import SpanRecord

__all__ = [
    "as_text",
    "by_trace",
    "check_window",
    "rfc3339",
    "span_matches",
    "trace_hex",
    "unix_seconds",
]

_HEX = frozenset("0123456789abcdef")


def trace_hex(trace_id: str | int) -> str:
    """A trace id (int, or hex of up to 32 digits) as 32 lower-case hex digits.

    Raises:
        ConfigurationError: not a trace id.
    """
    if isinstance(trace_id, int) and not isinstance(trace_id, bool):
        if 0 < trace_id < 1 << 128:
            return f"{trace_id:032x}"
    elif isinstance(trace_id, str):
        text = trace_id.strip().lower()
        if 0 < len(text) <= 32 and set(text) <= _HEX and int(text, 16):
            return text.rjust(32, "0")
    raise ConfigurationError(f"not a trace id: {trace_id!r}")


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ConfigurationError(f"give times with a timezone (e.g. UTC), got {moment!r}")
    return moment.astimezone(dt.UTC)


def check_window(backend: str, start: dt.datetime, end: dt.datetime) -> None:
    """Both times timezone-aware, start before end.

    Raises:
        ConfigurationError: otherwise.
    """
    if not _utc(start) < _utc(end):
        raise ConfigurationError(f"{backend}: start ({start}) must be before end ({end})")


def rfc3339(moment: dt.datetime) -> str:
    """``2024-05-01T10:30:00.123456Z`` (RFC 3339 with fractional seconds, in UTC)."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unix_seconds(moment: dt.datetime, *, round_up: bool = False) -> int:
    """Whole seconds since the epoch (rounded up for the end of a window)."""
    seconds = _utc(moment).timestamp()
    whole = int(seconds)
    return whole + 1 if round_up and whole < seconds else whole


def by_trace(spans: Iterable[SpanRecord]) -> dict[int, list[SpanRecord]]:
    """Spans grouped by trace id, in first-seen order."""
    traces: dict[int, list[SpanRecord]] = {}
    for span in spans:
        traces.setdefault(span.trace_id, []).append(span)
    return traces


def as_text(value: Any) -> str:
    """An attribute value as text, the way Jaeger compares them (``true``, ``12``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def span_matches(span: SpanRecord, wanted: Mapping[str, Any]) -> bool:
    """Every wanted attribute equals the span's (or its resource's), compared as text."""
    for key, text in wanted.items():
        value = span.attributes.get(key, span.resource.get(key))
        if value is None or as_text(value) != as_text(text):
            return False
    return True
