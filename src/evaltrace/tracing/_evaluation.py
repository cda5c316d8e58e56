"""``gen_ai.evaluation.result``: a score, told where the semantic conventions put it.

The conventions define the result as an event that SHOULD be parented to the
GenAI operation being evaluated, and otherwise carry ``gen_ai.response.id``;
a failed evaluation carries ``error.type``. Each score is emitted twice:

* as the log-based event (``event_name = gen_ai.evaluation.result``) through
  the run's logger provider, in the context of the evaluated call when the
  task was one model call, else of the case span;
* as a span event on the case span, for trace-only backends (Jaeger and
  Tempo store no logs).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    TraceFlags,
    set_span_in_context,
)

from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._telemetry import Telemetry

__all__ = ["EvaluatedCall", "Evaluation", "evaluation_attributes", "record_evaluation"]


class Evaluation(NamedTuple):
    """One score, as the event carries it. ``error_type`` is set when the evaluation failed."""

    name: str
    value: float | None = None
    label: str | None = None
    explanation: str = ""
    error_type: str | None = None


class EvaluatedCall(NamedTuple):
    """The model call a score evaluates: its ids, and its response id when known."""

    trace_id: int
    span_id: int
    response_id: str | None = None


def evaluation_attributes(evaluation: Evaluation, response_id: str | None = None) -> dict[str, Any]:
    """The event's attributes, as the conventions name them."""
    attributes: dict[str, Any] = {attr.EVALUATION_NAME: evaluation.name}
    if evaluation.value is not None:
        attributes[attr.EVALUATION_SCORE_VALUE] = evaluation.value
    if evaluation.label is not None:
        attributes[attr.EVALUATION_SCORE_LABEL] = evaluation.label
    if evaluation.explanation:
        attributes[attr.EVALUATION_EXPLANATION] = evaluation.explanation
    if evaluation.error_type is not None:
        attributes[attr.ERROR_TYPE] = evaluation.error_type
    if response_id is not None:
        attributes[attr.RESPONSE_ID] = response_id
    return attributes


def record_evaluation(
    telemetry: Telemetry,
    span: Span,
    evaluation: Evaluation,
    evaluated: EvaluatedCall | None = None,
) -> None:
    """Emit the score as a log event (under ``evaluated``, else ``span``) and a span event."""
    response_id = evaluated.response_id if evaluated is not None else None
    attributes = evaluation_attributes(evaluation, response_id)
    span.add_event(attr.EVALUATION_EVENT, attributes)
    if evaluated is None:
        context = set_span_in_context(span)
    else:
        flags = span.get_span_context().trace_flags
        parent = SpanContext(evaluated.trace_id, evaluated.span_id, False, TraceFlags(flags))
        context = set_span_in_context(NonRecordingSpan(parent))
    telemetry.events.emit(event_name=attr.EVALUATION_EVENT, attributes=attributes, context=context)
