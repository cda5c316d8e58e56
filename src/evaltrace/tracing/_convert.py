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
    attributes = record.attributes
    content = record.content
    call = read_call(attributes, record.events, messages=content is None)
    if content is not None:
        _take_content(call, content)
    prompt, layout = render_prompt(call.input_messages)
    input_tokens, output_tokens = call.input_tokens, call.output_tokens
    conversation = attributes.get(attr.CONVERSATION_ID)
    return LLMInteraction.trusted(
        prompt=prompt,
        response="\n".join(m.content for m in call.output_messages),
        shape=_shape(record, call, layout, inherited.purpose),
        tokens_used=(input_tokens or 0) + (output_tokens or 0),
        latency=max(record.end_time - record.start_time, 0) / 1e9,
        timestamp=datetime.fromtimestamp(record.start_time / 1e9, UTC),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        trace_id=_trace_hex(record.trace_id),
        span_id=f"{record.span_id:016x}",
        case_id=_own_or_inherited(attributes.get(attr.CASE_ID), inherited.case_id),
        trial=_trial(attributes.get(attr.TRIAL), inherited.trial),
        response_id=call.response_id,
        error=_error(record),
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


def _take_content(call: CallFields, content: CallContent) -> None:
    call.input_messages = list(content.inputs)
    call.output_messages = list(content.outputs)
    if content.reasoning is not None:
        call.reasoning = content.reasoning
    if content.tool_calls:
        call.tool_calls = list(content.tool_calls)


def _shape(
    record: SpanRecord, call: CallFields, layout: Any, inherited_purpose: str | None
) -> CallShape:
    attributes = record.attributes
    get = attributes.get
    own_content = record.content is not None
    return CallShape(
        model=intern(call.model),
        purpose=intern(str(get(attr.PURPOSE) or inherited_purpose or DEFAULT_PURPOSE)),
        provider=intern(call.provider) if call.provider else None,
        operation=intern(call.operation),
        server_address=_opt_str(get(attr.SERVER_ADDRESS)),
        server_port=_opt_int(get(attr.SERVER_PORT)),
        response_model=_opt_str(call.response_model),
        finish_reasons=tuple(call.finish_reasons),
        layout=layout,
        attempt=_opt_int(get(attr.ATTEMPT)),
        metric=_opt_str(get(attr.METRIC_NAME)),
        temperature=_opt_float(get(attr.REQUEST_TEMPERATURE)),
        max_tokens=_opt_int(get(attr.REQUEST_MAX_TOKENS)),
        instrumentation=_opt_str(record.scope),
        convention=intern(call.convention),
        content_captured=own_content or call.content_captured,
    ).shared()


def _error(record: SpanRecord) -> str | None:
    if record.status != "error":
        return None
    error_type = record.attributes.get(attr.ERROR_TYPE)
    description = record.status_message
    if error_type and description:
        return f"{error_type}: {description}"
    return str(error_type or description or "error")


def _own_or_inherited(own: Any, inherited: str | None) -> str | None:
    value = str(own) if own is not None else inherited
    return intern(value) if value is not None else None


def _trial(own: Any, inherited: int | None) -> int | None:
    return _opt_int(own) if own is not None else inherited


def _opt_str(value: Any) -> str | None:
    return None if value is None else intern(str(value))


def _opt_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _opt_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=256)
def _trace_hex(trace_id: int) -> str:
    """One string per trace, shared by all of its interactions."""
    return f"{trace_id:032x}"
