"""Finished spans as plain JSON records (the agent span fixtures), and an outline for reading."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["outline", "span_record"]


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: _plain(value) for key, value in (attributes or {}).items()}


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """One span: name, kind, ids as hex, parent id, times, status, attributes, events, scope."""
    context = span.get_span_context()
    assert context is not None
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "status": span.status.status_code.name,
        "attributes": _attributes(span.attributes),
        "events": [
            {
                "name": event.name,
                "timestamp": event.timestamp,
                "attributes": _attributes(event.attributes),
            }
            for event in span.events
        ],
        "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
    }


def outline(records: Sequence[Mapping[str, Any]], *, width: int = 100) -> str:
    """The span tree as indented lines (name, then every attribute, values cut at ``width``)."""
    children: dict[str | None, list[Mapping[str, Any]]] = {}
    for record in sorted(records, key=lambda r: int(r["start_time"] or 0)):
        children.setdefault(record["parent_span_id"], []).append(record)
    known = {record["span_id"] for record in records}
    roots = [r for parent, rs in children.items() if parent not in known for r in rs]
    lines: list[str] = []

    def walk(record: Mapping[str, Any], depth: int) -> None:
        pad = "  " * depth
        lines.append(f"{pad}{record['name']}  [{record['kind']}, {record['scope']}]")
        for key, value in record["attributes"].items():
            lines.append(f"{pad}    {key} = {str(value)[:width]}")
        for event in record["events"]:
            lines.append(f"{pad}    event {event['name']}: {str(event['attributes'])[:width]}")
        for child in children.get(record["span_id"], []):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return "\n".join(lines)
