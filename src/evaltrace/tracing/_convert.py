"""The one converter: a finished model-call span record into an ``LLMInteraction``.

Pure: a ``SpanRecord`` (from a live span, one of evaltrace's own calls, or a
backend) and what the span inherited from its ancestors in, an interaction
out. ``span_to_interaction`` is the same for an SDK span in hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from sys import intern
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from evaltrace._interaction import CallShape, LLMInteraction, Message, render_prompt
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import CallFields, read_call
from evaltrace.tracing._inherit import NOTHING_INHERITED, Inherited
from evaltrace.tracing._read import live_record
from evaltrace.tracing._record import CallContent, SpanRecord

__all__ = ["DEFAULT_PURPOSE", "interaction_of", "span_to_interaction"]

#: Purpose of a call with no ``evaltrace.purpose`` on it or its ancestors: the
#: system under test.
DEFAULT_PURPOSE = "task"
_CONVERSATION = "conversation_id"


def interaction_of(record: SpanRecord, inherited: Inherited = NOTHING_INHERITED) -> LLMInteraction:
    """The interaction of a finished inference span; ``inherited`` from its ancestors.

    The span's own ``evaltrace.*`` attributes win over inherited ones. When
    the record carries ``content`` (evaltrace's own calls), it is the
    call's messages; otherwise they are read from the span's attributes and
    events in whatever convention it uses.
    """
    get = record.attributes.get
    content = record.content
    call = read_call(record.attributes, record.events, messages=content is None)
    if content is None:
        response = "\n".join([m.content for m in call.output_messages])
    else:
        response = _take_content(call, content)
    prompt, layout = render_prompt(call.input_messages)
    input_tokens, output_tokens = call.input_tokens, call.output_tokens
    case_id = get(attr.CASE_ID)
    trial = get(attr.TRIAL)
    conversation = get(attr.CONVERSATION_ID)
    start = record.start_time
    return LLMInteraction.trusted(
        prompt=prompt,
        response=response,
        shape=_shape(record, call, layout, inherited.purpose),
        tokens_used=(input_tokens or 0) + (output_tokens or 0),
        latency=max(record.end_time - start, 0) / 1e9,
        timestamp=datetime.fromtimestamp(start / 1e9, UTC),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        trace_id=_trace_hex(record.trace_id),
        span_id=f"{record.span_id:016x}",
        case_id=inherited.case_id if case_id is None else intern(str(case_id)),
        trial=inherited.trial if trial is None else _opt_int(trial),
        response_id=call.response_id,
        error=None if record.status != "error" else _error(record),
        reasoning=call.reasoning,
        tool_calls=tuple(call.tool_calls),
        metadata=None if conversation is None else {_CONVERSATION: str(conversation)},
    )


def span_to_interaction(
    span: ReadableSpan,
    *,
    purpose: str | None = None,
    case_id: str | None = None,
    content: tuple[Sequence[Message], Sequence[Message]] | None = None,
) -> LLMInteraction:
    """``interaction_of`` an SDK span, inheriting ``purpose`` and ``case_id``."""
    call_content = CallContent(*content) if content is not None else None
    inherited = Inherited(case_id=case_id, purpose=purpose)
    return interaction_of(live_record(span, call_content), inherited)


def _take_content(call: CallFields, content: CallContent) -> str:
    """Put the call's own content in ``call``; return the response text."""
    call.input_messages = content.inputs
    call.output_messages = content.outputs
    if content.reasoning is not None:
        call.reasoning = content.reasoning
    if content.tool_calls:
        call.tool_calls = content.tool_calls
    if content.text is not None:
        return content.text
    return "\n".join([m.content for m in content.outputs])


def _shape(
    record: SpanRecord, call: CallFields, layout: Any, inherited_purpose: str | None
) -> CallShape:
    """The call's shape, shared with identical ones; its strings are the shared shape's.

    Values of the expected type are taken as they are (most are), others converted.
    """
    get = record.attributes.get
    purpose = get(attr.PURPOSE) or inherited_purpose or DEFAULT_PURPOSE
    server, port = get(attr.SERVER_ADDRESS), get(attr.SERVER_PORT)
    attempt, metric = get(attr.ATTEMPT), get(attr.METRIC_NAME)
    temperature, max_tokens = get(attr.REQUEST_TEMPERATURE), get(attr.REQUEST_MAX_TOKENS)
    return CallShape(
        call.model,
        purpose if type(purpose) is str else str(purpose),
        call.provider or None,
        call.operation,
        server if server is None or type(server) is str else str(server),
        port if port is None or type(port) is int else _opt_int(port),
        call.response_model,
        call.finish_reasons if type(call.finish_reasons) is tuple else tuple(call.finish_reasons),
        layout,
        attempt if attempt is None or type(attempt) is int else _opt_int(attempt),
        metric if metric is None or type(metric) is str else str(metric),
        temperature
        if temperature is None or type(temperature) is float
        else _opt_float(temperature),
        max_tokens if max_tokens is None or type(max_tokens) is int else _opt_int(max_tokens),
        record.scope,
        call.convention,
        record.content is not None or call.content_captured,
    ).shared()


def _error(record: SpanRecord) -> str:
    """``error.type: description`` of a failed call."""
    error_type = record.attributes.get(attr.ERROR_TYPE)
    description = record.status_message
    if error_type and description:
        return f"{error_type}: {description}"
    return str(error_type or description or "error")


def _opt_int(value: Any) -> int | None:
    if value is None or type(value) is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _opt_float(value: Any) -> float | None:
    if value is None or type(value) is float:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=256)
def _trace_hex(trace_id: int) -> str:
    """One string per trace, shared by all of its interactions."""
    return f"{trace_id:032x}"
