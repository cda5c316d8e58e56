"""Readers that turn a span in hand into a ``SpanRecord``: an SDK span, or an own call's span.

``ReadableSpan.attributes`` is a read-only view of the SDK's
``BoundedAttributes``, whose ``get`` is the generic ``Mapping.get``: a
missing key raises and catches a ``KeyError`` inside the SDK. The collector
probes keys most spans do not have (``evaltrace.case.id`` on every model-call
span); in a busy run those failed lookups took 6.6 of the 9.5 µs spent routing
each call (docs/benchmarks.md, P1 fourth round). ``span_attributes`` returns
the plain dict the SDK keeps inside when it is there, and a copy otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from evaltrace.tracing._record import (
    EMPTY_ATTRIBUTES,
    CallContent,
    SpanEvent,
    SpanLink,
    SpanRecord,
)

__all__ = ["live_record", "own_record", "span_attributes"]

_KINDS = {kind: kind.name.lower() for kind in SpanKind}
_STATUSES = {StatusCode.UNSET: "unset", StatusCode.OK: "ok", StatusCode.ERROR: "error"}


def span_attributes(span: ReadableSpan) -> Mapping[str, Any]:
    """The span's attributes as a plain mapping, for reading only.

    The SDK's own dict when its ``BoundedAttributes`` keeps one (no copy: do
    not mutate it), else a copy of ``span.attributes``.
    """
    inner = getattr(getattr(span, "_attributes", None), "_dict", None)
    if type(inner) is dict:
        return inner
    attributes = span.attributes
    return dict(attributes) if attributes else EMPTY_ATTRIBUTES


def live_record(span: ReadableSpan, content: CallContent | None = None) -> SpanRecord:
    """The record of a span that ended in this process (any instrumentation's)."""
    return _record(span, span_attributes(span), content, _events(span), _links(span))


def own_record(
    span: ReadableSpan, attributes: Mapping[str, Any], content: CallContent
) -> SpanRecord:
    """The record of one of evaltrace's own call spans, from the attributes it was given.

    The call keeps the attribute dicts it gave its span and its content is in
    hand, so neither the SDK's attribute mapping nor its event and link lists
    (copied under a lock on every read: a third of the record's cost) are read.
    """
    return _record(span, attributes, content, (), ())


def _record(
    span: ReadableSpan,
    attributes: Mapping[str, Any],
    content: CallContent | None,
    events: tuple[SpanEvent, ...],
    links: tuple[SpanLink, ...],
) -> SpanRecord:
    context = span.context
    parent = span.parent
    start = span.start_time or 0
    scope = span.instrumentation_scope
    status = span.status
    resource = span.resource
    return SpanRecord(  # positional, in field order: one record per span ended
        context.trace_id if context is not None else 0,
        context.span_id if context is not None else 0,
        span.name,
        start,
        span.end_time or start,
        attributes,
        parent.span_id if parent is not None else None,
        _KINDS.get(span.kind, "internal"),
        _STATUSES[status.status_code],
        status.description,
        events,
        links,
        scope.name if scope is not None else None,
        resource.attributes if resource is not None else EMPTY_ATTRIBUTES,
        parent.is_remote if parent is not None else False,
        content,
    )


def _events(span: ReadableSpan) -> tuple[SpanEvent, ...]:
    events = span.events
    if not events:
        return ()
    return tuple(SpanEvent(e.name, e.timestamp, e.attributes or EMPTY_ATTRIBUTES) for e in events)


def _links(span: ReadableSpan) -> tuple[SpanLink, ...]:
    links = span.links
    if not links:
        return ()
    return tuple(
        SpanLink(link.context.trace_id, link.context.span_id, link.attributes or EMPTY_ATTRIBUTES)
        for link in links
    )
