"""What a span inherits from its ancestors: run, case, trial, purpose, and whether it is in a call.

A model call made inside a case belongs to that case, and to the purpose of
the nearest ancestor that names one (a judge call under a metric span is the
metric's). ``inherit`` is the one rule, applied parent first: the live
collector applies it as spans start, ``inherit_all`` to any list of finished
spans (a case's tree, spans read back from a backend).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import is_inference
from evaltrace.tracing._record import SpanRecord

__all__ = ["NOTHING_INHERITED", "Inherited", "inherit", "inherit_all"]


class Inherited(NamedTuple):
    """What a span carries from itself and its ancestors.

    ``in_call`` is True when the span or an ancestor is a model call: a model
    call inside another one (an SDK's span under evaltrace's span of the same
    request) is the same request, counted once.
    """

    run_id: str | None = None
    case_id: str | None = None
    trial: int | None = None
    purpose: str | None = None
    in_call: bool = False


NOTHING_INHERITED = Inherited()


def inherit(parent: Inherited, attributes: Mapping[str, Any]) -> Inherited:
    """What a span with ``attributes`` under a span that carries ``parent`` carries."""
    get = attributes.get
    run_id = get(attr.RUN_ID)
    case_id = get(attr.CASE_ID)
    trial = get(attr.TRIAL)
    purpose = get(attr.PURPOSE)
    if run_id is None and case_id is None and trial is None and purpose is None:
        if parent.in_call or not is_inference(attributes):
            return parent  # most spans: nothing of their own to carry
        return Inherited(parent.run_id, parent.case_id, parent.trial, parent.purpose, True)
    return Inherited(
        parent.run_id if run_id is None else str(run_id),
        parent.case_id if case_id is None else str(case_id),
        parent.trial if trial is None else _trial(trial),
        parent.purpose if purpose is None else str(purpose),
        parent.in_call or is_inference(attributes),
    )


def inherit_all(
    spans: Iterable[SpanRecord], roots: Mapping[int, Inherited] | None = None
) -> dict[int, Inherited]:
    """What each span inherits, by span id, for spans in any order.

    A span whose parent is not among ``spans`` starts from ``roots[parent]``
    when given (what the missing parent carried), else from nothing.
    """
    by_id = {span.span_id: span for span in spans}
    found: dict[int, Inherited] = {}
    for span in by_id.values():
        _resolve(span, by_id, found, roots or {})
    return found


def _resolve(
    span: SpanRecord,
    by_id: Mapping[int, SpanRecord],
    found: dict[int, Inherited],
    roots: Mapping[int, Inherited],
) -> Inherited:
    """``span``'s inheritance, resolving its ancestors first (iteratively: trees may be deep)."""
    chain: list[SpanRecord] = []
    seen: set[int] = set()
    current: SpanRecord | None = span
    while current is not None and current.span_id not in found and current.span_id not in seen:
        chain.append(current)
        seen.add(current.span_id)  # a cycle in bad data stops here
        parent_id = current.parent_span_id
        current = by_id.get(parent_id) if parent_id is not None else None
    for record in reversed(chain):
        parent_id = record.parent_span_id
        base = found.get(parent_id) if parent_id is not None else None
        if base is None:
            base = roots.get(parent_id, NOTHING_INHERITED) if parent_id else NOTHING_INHERITED
        found[record.span_id] = inherit(base, record.attributes)
    return found[span.span_id]


def _trial(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
