"""Pure conversion of a finished span into an ``LLMInteraction``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode, format_span_id, format_trace_id

from evaltrace.records import LLMInteraction, Message
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import CallFields, read_call

__all__ = ["DEFAULT_PURPOSE", "render_messages", "span_to_interaction"]

#: Purpose of a call with no ``evaltrace.purpose`` on it or its ancestors: the
#: system under test.
DEFAULT_PURPOSE = "task"

_COPIED_ATTRIBUTES = {
    attr.SERVER_ADDRESS: "server_address",
    attr.SERVER_PORT: "server_port",
    attr.REQUEST_TEMPERATURE: "temperature",
    attr.REQUEST_MAX_TOKENS: "max_tokens",
    attr.RUN_ID: "run_id",
    attr.METRIC_NAME: "metric",
    attr.ATTEMPT: "attempt",
}


def span_to_interaction(
    span: ReadableSpan,
    *,
    purpose: str | None = None,
    case_id: str | None = None,
    content: tuple[Sequence[Message], Sequence[Message]] | None = None,
) -> LLMInteraction:
    """Turn a finished GenAI inference span into an ``LLMInteraction``.

    ``content`` (input and output messages) replaces what the span recorded;
    evaltrace passes it for its own calls, whose exported spans carry content
    only when the user opts in. ``purpose`` and ``case_id`` are the values
    inherited from the span's ancestors; the span's own attributes win.
    """
    attributes = span.attributes or {}
    call = read_call(attributes, span.events)
    if content is not None:
        call.input_messages, call.output_messages = list(content[0]), list(content[1])
    start, end = span.start_time or 0, span.end_time or span.start_time or 0
    context = span.get_span_context()
    input_tokens, output_tokens = call.input_tokens, call.output_tokens
    return LLMInteraction(
        prompt=render_messages(call.input_messages),
        response="\n".join(m.content for m in call.output_messages),
        model=call.model,
        tokens_used=(input_tokens or 0) + (output_tokens or 0),
        latency=max(end - start, 0) / 1e9,
        timestamp=datetime.fromtimestamp(start / 1e9, UTC),
        purpose=str(attributes.get(attr.PURPOSE) or purpose or DEFAULT_PURPOSE),
        metadata=_metadata(span, call, content is not None),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        provider=call.provider,
        operation=call.operation,
        trace_id=format_trace_id(context.trace_id) if context else "",
        span_id=format_span_id(context.span_id) if context else "",
        case_id=_opt_str(attributes.get(attr.CASE_ID)) or case_id,
        error=_error(span),
    )


def render_messages(messages: Sequence[Message]) -> str:
    """A readable prompt: the text alone for one user message, else ``role: text`` lines."""
    if len(messages) == 1 and messages[0].role == "user":
        return messages[0].content
    return "\n\n".join(f"{m.role}: {m.content}" for m in messages)


def _metadata(span: ReadableSpan, call: CallFields, own_call: bool) -> dict[str, Any]:
    attributes = span.attributes or {}
    metadata: dict[str, Any] = {
        "span_name": span.name,
        "span_kind": span.kind.name,
        "convention": call.convention,
        "content_captured": own_call or call.content_captured,
        "messages": [m.model_dump() for m in call.input_messages],
    }
    if span.instrumentation_scope is not None:
        metadata["instrumentation"] = span.instrumentation_scope.name
    if span.parent is not None:
        metadata["parent_span_id"] = format_span_id(span.parent.span_id)
    optional = {
        "response_model": call.response_model,
        "response_id": call.response_id,
        "finish_reasons": call.finish_reasons or None,
    }
    metadata.update({k: v for k, v in optional.items() if v is not None})
    for key, name in _COPIED_ATTRIBUTES.items():
        if key in attributes:
            metadata[name] = attributes[key]
    return metadata


def _error(span: ReadableSpan) -> str | None:
    if span.status.status_code is not StatusCode.ERROR:
        return None
    error_type = (span.attributes or {}).get(attr.ERROR_TYPE)
    description = span.status.description
    if error_type and description:
        return f"{error_type}: {description}"
    return str(error_type or description or "error")


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
