"""Arize Phoenix's span JSON (its REST API's own format, not OTLP) -> ``SpanRecord``.

One span of ``GET /v1/projects/{project}/spans`` looks like::

    {"id": "U3BhbjoxMg==", "name": "chat gpt-4o", "span_kind": "LLM",
     "context": {"trace_id": "<32 hex>", "span_id": "<16 hex>"},
     "parent_id": "<16 hex>" | null,
     "start_time": "2025-05-01T10:30:00.123456+00:00", "end_time": "...",
     "status_code": "OK" | "ERROR" | "UNSET", "status_message": "",
     "attributes": {"llm.model_name": "gpt-4o", ...},
     "events": [{"name": "exception", "timestamp": "...", "attributes": {...}}]}

Attributes may come flat (dotted keys, as Phoenix 8+ answers) or nested
(``{"llm": {"input_messages": [{"message": {...}}]}}``, as older releases and
Phoenix's own storage hold them); either way they become flat OTel keys:
``llm.input_messages.0.message.content``. As in Phoenix's own ``flatten``,
a list is indexed only when it holds objects; a list of plain values stays
one array attribute (a tuple). Null values are dropped.

Phoenix keeps the OpenInference kind (``span_kind``) and drops it from the
attributes; it is put back as ``openinference.span.kind`` (unless
``UNKNOWN``). Phoenix does not keep the OTel span kind, the instrumentation
scope or the resource: records read from it have kind ``internal``, no scope
and no resource attributes. Times are ISO 8601 (nanoseconds kept when given).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from evaltrace.sources._errors import DecodeError
from evaltrace.sources._otlp_json import status_name
from evaltrace.tracing._record import EMPTY_ATTRIBUTES, SpanEvent, SpanRecord

__all__ = ["OPENINFERENCE_SPAN_KIND", "flatten_attributes", "iso_to_ns", "phoenix_span"]

#: The attribute Phoenix moves into ``span_kind``.
OPENINFERENCE_SPAN_KIND = "openinference.span.kind"

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ISO = re.compile(
    r"^(?P<base>\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?)(?:\.(?P<frac>\d{1,9})\d*)?"
    r"(?P<zone>Z|z|[+-]\d\d(?::?\d\d)?)?$"
)
_MALFORMED = (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError)


def _hex_id(value: Any, size: int, what: str) -> int:
    if type(value) is not str or len(value) != 2 * size:
        raise DecodeError(f"{what} must be {2 * size} hex digits, got {value!r:.80}")
    try:
        number = int.from_bytes(bytes.fromhex(value), "big")
    except ValueError:
        raise DecodeError(f"{what} is not hex: {value!r:.80}") from None
    if number == 0:
        raise DecodeError(f"{what} is all zeros")
    return number


def iso_to_ns(value: Any) -> int:
    """Nanoseconds since the epoch from an ISO 8601 time (UTC when it has no zone)."""
    match = _ISO.match(value) if type(value) is str else None
    if match is None:
        raise DecodeError(f"not an ISO 8601 time: {value!r:.80}")
    zone = match["zone"] or "+00:00"
    moment = dt.datetime.fromisoformat(match["base"] + ("+00:00" if zone in "Zz" else zone))
    whole = (moment - _EPOCH) // dt.timedelta(seconds=1)
    fraction = (match["frac"] or "").ljust(9, "0")
    return whole * 1_000_000_000 + int(fraction)


def _flatten_into(out: dict[str, Any], prefix: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten_into(out, f"{prefix}.{key}" if prefix else str(key), inner)
    elif isinstance(value, list | tuple):
        if any(isinstance(item, Mapping) for item in value):
            for index, item in enumerate(value):
                _flatten_into(out, f"{prefix}.{index}", item)
        else:
            out[prefix] = tuple(item for item in value if item is not None)
    else:
        out[prefix] = value


def flatten_attributes(attributes: Any) -> Mapping[str, Any]:
    """Phoenix attributes (flat, nested, or both) as flat dotted OTel keys."""
    if not attributes:
        return EMPTY_ATTRIBUTES
    if not isinstance(attributes, Mapping):
        raise DecodeError(f"attributes must be an object, got {type(attributes).__name__}")
    out: dict[str, Any] = {}
    _flatten_into(out, "", attributes)
    return out


def _events(events: Any) -> tuple[SpanEvent, ...]:
    if not events:
        return ()
    if type(events) is not list:
        raise DecodeError(f"events must be a list, got {type(events).__name__}")
    return tuple(
        SpanEvent(
            str(event.get("name") or ""),
            iso_to_ns(event["timestamp"]),
            flatten_attributes(event.get("attributes")),
        )
        for event in events
    )


def _with_kind(attributes: Mapping[str, Any], span_kind: Any) -> Mapping[str, Any]:
    if not span_kind or span_kind == "UNKNOWN" or OPENINFERENCE_SPAN_KIND in attributes:
        return attributes
    return {**attributes, OPENINFERENCE_SPAN_KIND: str(span_kind)}


def _record(span: dict[str, Any]) -> SpanRecord:
    context = span["context"]
    parent = span.get("parent_id")
    message = span.get("status_message")
    return SpanRecord(
        trace_id=_hex_id(context["trace_id"], 16, "context.trace_id"),
        span_id=_hex_id(context["span_id"], 8, "context.span_id"),
        name=str(span.get("name") or ""),
        start_time=iso_to_ns(span["start_time"]),
        end_time=iso_to_ns(span["end_time"]),
        attributes=_with_kind(flatten_attributes(span.get("attributes")), span.get("span_kind")),
        parent_span_id=_hex_id(parent, 8, "parent_id") if parent else None,
        status=status_name(span.get("status_code") or "UNSET"),
        status_message=str(message) if message else None,
        events=_events(span.get("events")),
    )


def phoenix_span(span: Any) -> SpanRecord:
    """One span of Phoenix's REST API as a ``SpanRecord``.

    Raises:
        DecodeError: not a Phoenix span (names its trace and span id).
    """
    try:
        if type(span) is not dict:
            raise DecodeError(f"a Phoenix span must be an object, got {type(span).__name__}")
        return _record(span)
    except _MALFORMED as exc:  # DecodeError is a ValueError
        if isinstance(exc, DecodeError):
            reason = exc.reason
        else:
            reason = f"malformed Phoenix span ({exc!r:.200})"
        context = span.get("context") if type(span) is dict else None
        ids = context if type(context) is dict else {}
        raise DecodeError(
            reason, trace_id=_shown(ids.get("trace_id")), span_id=_shown(ids.get("span_id"))
        ) from None


def _shown(value: Any) -> str | None:
    return None if value is None else f"{value!s:.64}"
