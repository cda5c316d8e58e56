"""The plain span record: one shape for every span evaltrace reads, wherever it came from.

A span that just ended in this process (``ReadableSpan``), one of evaltrace's
own model calls, and a span decoded from OTLP JSON, Jaeger, Tempo or Phoenix
each become a ``SpanRecord`` through their own small reader. Everything past
that point (the converter to ``LLMInteraction``, the inheritance of run, case
and purpose from ancestors, a case's span tree) reads records only, so a
span read from a backend and a live one cannot be told apart.

Records are immutable named tuples of plain values: ids as integers,
times as integer nanoseconds since the epoch, attributes as a read-only
mapping of OpenTelemetry attribute values. They pickle, so they cross
process boundaries by value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

__all__ = [
    "EMPTY_ATTRIBUTES",
    "SPAN_KINDS",
    "STATUS_CODES",
    "CallContent",
    "SpanEvent",
    "SpanLink",
    "SpanRecord",
]

#: ``SpanRecord.kind`` values, as OpenTelemetry names them (lower case).
SPAN_KINDS = ("internal", "server", "client", "producer", "consumer")
#: ``SpanRecord.status`` values.
STATUS_CODES = ("unset", "ok", "error")

EMPTY_ATTRIBUTES: Mapping[str, Any] = {}


class SpanEvent(NamedTuple):
    """One event of a span: its name, time (ns since the epoch) and attributes."""

    name: str
    timestamp: int
    attributes: Mapping[str, Any] = EMPTY_ATTRIBUTES


class SpanLink(NamedTuple):
    """A link from a span to another span (of any trace)."""

    trace_id: int
    span_id: int
    attributes: Mapping[str, Any] = EMPTY_ATTRIBUTES


class CallContent(NamedTuple):
    """Message content of a model call known besides its span's attributes.

    evaltrace's own calls hand their messages to the collector directly:
    interactions always carry content, exported spans only when the user
    opts in. ``outputs`` is the reply's messages, or ``text`` the reply's
    text when the call has it as one string; ``reasoning`` the model's
    reasoning text kept apart from the answer.
    """

    inputs: Sequence[Any]
    outputs: Sequence[Any] = ()
    reasoning: str | None = None
    tool_calls: Sequence[Any] = ()
    text: str | None = None


class SpanRecord(NamedTuple):
    """One finished span as plain data.

    ``parent_span_id`` is None for a root span; ``parent_is_remote`` is True
    when the parent lives in another process (a worker's case span under the
    driver's run). ``scope`` is the instrumentation scope's name,
    ``resource`` the resource's attributes (``service.name``...).
    ``content`` carries what an own call knows besides its attributes.
    """

    trace_id: int
    span_id: int
    name: str
    start_time: int
    end_time: int
    attributes: Mapping[str, Any] = EMPTY_ATTRIBUTES
    parent_span_id: int | None = None
    kind: str = "internal"
    status: str = "unset"
    status_message: str | None = None
    events: Sequence[SpanEvent] = ()
    links: Sequence[SpanLink] = ()
    scope: str | None = None
    resource: Mapping[str, Any] = EMPTY_ATTRIBUTES
    parent_is_remote: bool = False
    content: CallContent | None = None

    @property
    def duration(self) -> float:
        """Seconds between start and end (0 for a span that ends before it starts)."""
        return max(self.end_time - self.start_time, 0) / 1e9

    @property
    def trace_hex(self) -> str:
        """The trace id as 32 lower-case hex digits."""
        return f"{self.trace_id:032x}"

    @property
    def span_hex(self) -> str:
        """The span id as 16 lower-case hex digits."""
        return f"{self.span_id:016x}"
