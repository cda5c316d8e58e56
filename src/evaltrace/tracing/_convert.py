"""Pure conversion of a finished span into an ``LLMInteraction``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from sys import intern
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode, format_span_id, format_trace_id

from evaltrace.records import (
    LLMInteraction,
    Message,
    MessageLayout,
    PackedMetadata,
    StringList,
    pack_metadata,
    split_response_id,
    with_response_id,
)
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import CallFields, read_call
from evaltrace.tracing._read import span_attributes
from evaltrace.tracing._span import OwnCallRecord

__all__ = ["DEFAULT_PURPOSE", "own_call_to_interaction", "render_messages", "span_to_interaction"]

_CURRENT_CONVENTION = "gen_ai"

#: Purpose of a call with no ``evaltrace.purpose`` on it or its ancestors: the
#: system under test.
DEFAULT_PURPOSE = "task"

_COPIED_ATTRIBUTES = {
    attr.SERVER_ADDRESS: "server_address",
    attr.SERVER_PORT: "server_port",
    attr.REQUEST_TEMPERATURE: "temperature",
    attr.REQUEST_MAX_TOKENS: "max_tokens",
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
    attributes = span_attributes(span)
    call = read_call(attributes, span.events, messages=content is None)
    if content is not None:
        call.input_messages, call.output_messages = list(content[0]), list(content[1])
    start, end = span.start_time or 0, span.end_time or span.start_time or 0
    context = span.get_span_context()
    input_tokens, output_tokens = call.input_tokens, call.output_tokens
    return LLMInteraction(
        prompt=render_messages(call.input_messages),
        response="\n".join(m.content for m in call.output_messages),
        model=intern(call.model),
        tokens_used=(input_tokens or 0) + (output_tokens or 0),
        latency=max(end - start, 0) / 1e9,
        timestamp=datetime.fromtimestamp(start / 1e9, UTC),
        purpose=intern(str(attributes.get(attr.PURPOSE) or purpose or DEFAULT_PURPOSE)),
        metadata=_metadata(span, attributes, call, content is not None),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        provider=intern(call.provider) if call.provider else None,
        operation=intern(call.operation),
        trace_id=_trace_hex(context.trace_id) if context else "",
        span_id=format_span_id(context.span_id) if context else "",
        case_id=_case_id(attributes.get(attr.CASE_ID), case_id),
        error=_error(span, attributes),
    )


def own_call_to_interaction(
    span: ReadableSpan, record: OwnCallRecord, *, purpose: str | None, case_id: str | None
) -> LLMInteraction:
    """``span_to_interaction`` for a span evaltrace opened itself (``OwnCall``): same result.

    The attributes are read from the two plain dicts the span was given and
    the content from the call, so nothing is parsed or probed; times, ids,
    status and scope come from the finished span.
    """
    start, end, messages = record.start, record.end, record.messages
    started = span.start_time or 0
    finished = span.end_time or started
    context = span.context
    input_tokens = end.get(attr.USAGE_INPUT_TOKENS)
    output_tokens = end.get(attr.USAGE_OUTPUT_TOKENS)
    provider = start.get(attr.PROVIDER_NAME)
    prompt, layout = _render_with_layout(messages)
    return LLMInteraction._trusted(  # noqa: SLF001 - every value is built here, typed
        prompt,
        record.reply,
        intern(str(start.get(attr.REQUEST_MODEL) or end.get(attr.RESPONSE_MODEL) or "")),
        (input_tokens or 0) + (output_tokens or 0),
        max(finished - started, 0) / 1e9,
        datetime.fromtimestamp(started / 1e9, UTC),
        intern(str(end.get(attr.PURPOSE) or purpose or DEFAULT_PURPOSE)),
        _own_metadata(span, start, end, layout),
        input_tokens,
        output_tokens,
        intern(str(provider)) if provider else None,
        intern(str(start.get(attr.OPERATION_NAME) or "chat")),
        _trace_hex(context.trace_id) if context else "",
        format_span_id(context.span_id) if context else "",
        _case_id(end.get(attr.CASE_ID), case_id),
        _error(span, end),
    )


def _render_with_layout(messages: Sequence[Message]) -> tuple[str, MessageLayout | None]:
    """``render_messages`` and the prompt's ``MessageLayout`` (None for one user message)."""
    if len(messages) == 2:  # a system prompt and a question: most of evaluate's calls
        first, last = messages
        prompt = f"{first.role}: {first.content}\n\n{last.role}: {last.content}"
        return prompt, _layout((first.role, len(first.content), last.role))
    if len(messages) == 1 and messages[0].role == "user":
        return messages[0].content, None
    items: list[Any] = []
    for message in messages:
        items += (message.role, len(message.content))
    return render_messages(messages), _layout(tuple(items[:-1]))


@lru_cache(maxsize=256)
def _layout(items: tuple[Any, ...]) -> MessageLayout:
    """One layout object per distinct layout (a judge's system prompt: one for all its calls)."""
    return MessageLayout(intern(item) if type(item) is str else item for item in items)


def render_messages(messages: Sequence[Message]) -> str:
    """A readable prompt: the text alone for one user message, else ``role: text`` lines."""
    if len(messages) == 1 and messages[0].role == "user":
        return messages[0].content
    return "\n\n".join(f"{m.role}: {m.content}" for m in messages)


def message_offsets(messages: Sequence[Message]) -> list[list[Any]]:
    """``[role, start, end]`` per message: where its text sits in ``render_messages(messages)``.

    The structure of the messages without a second copy of their text.
    """
    offsets: list[list[Any]] = []
    position = 0
    for index, message in enumerate(messages):
        if index:
            position += 2  # the blank line between messages
        start = position + len(message.role) + 2  # "role: "
        offsets.append([intern(message.role), start, start + len(message.content)])
        position = start + len(message.content)
    return offsets


def _metadata(
    span: ReadableSpan, attributes: Mapping[str, Any], call: CallFields, own_call: bool
) -> dict[str, Any]:
    """What else a user needs to know about the call, kept small: many interactions are held.

    Repeated strings are interned (one copy for the whole run). When the
    prompt is more than one user message, ``messages`` records each message's
    role and where its text sits in the prompt (``LLMInteraction.messages``
    turns that, or the lone user message, back into ``Message`` objects).
    """
    metadata: dict[str, Any] = {"content_captured": own_call or call.content_captured}
    if call.convention != _CURRENT_CONVENTION:
        metadata["convention"] = intern(call.convention)
    if span.instrumentation_scope is not None:
        metadata["instrumentation"] = intern(span.instrumentation_scope.name)
    if not (len(call.input_messages) == 1 and call.input_messages[0].role == "user"):
        metadata["messages"] = message_offsets(call.input_messages)
    if call.response_model is not None:
        metadata["response_model"] = intern(call.response_model)
    if call.response_id is not None:
        metadata["response_id"] = call.response_id
    if call.finish_reasons:
        metadata["finish_reasons"] = list(call.finish_reasons)
    for key, name in _COPIED_ATTRIBUTES.items():
        value = attributes.get(key)
        if value is not None:
            metadata[name] = intern(value) if isinstance(value, str) else value
    return metadata


def _own_metadata(
    span: ReadableSpan,
    start: dict[str, Any],
    end: dict[str, Any],
    layout: MessageLayout | None,
) -> PackedMetadata:
    """``_metadata`` for an own call, packed: the same keys in the same order.

    The calls of one judge or task differ only in their response id, so the
    pack is looked up by the values it is made of (built the first time) and
    the response id put beside it. ``start`` is ``CallTracer.start``'s dict:
    of the copied attributes it can hold only ``server.*``.
    """
    scope = span.instrumentation_scope
    get = end.get
    response_model = get(attr.RESPONSE_MODEL)
    response_id = get(attr.RESPONSE_ID)
    finish_reasons = get(attr.RESPONSE_FINISH_REASONS)
    values = (  # in _OWN_METADATA_KEYS order; the response id's place holds whether there is one
        scope.name if scope is not None else None,
        layout,
        None if response_model is None else str(response_model),
        response_id is not None,
        StringList(finish_reasons) if finish_reasons else None,
        get(attr.SERVER_ADDRESS, start.get(attr.SERVER_ADDRESS)),
        get(attr.SERVER_PORT, start.get(attr.SERVER_PORT)),
        get(attr.REQUEST_TEMPERATURE),
        get(attr.REQUEST_MAX_TOKENS),
        get(attr.METRIC_NAME),
        get(attr.ATTEMPT),
    )
    own_id = None if response_id is None else str(response_id)
    try:
        signature = (values, tuple(map(type, values)))  # True == 1 == 1.0: types tell them apart
        common = _own_packs.get(signature)
    except TypeError:  # an unhashable attribute value: packed on its own
        return _pack_own_metadata(values, own_id)
    if common is None:
        common, _ = split_response_id(_pack_own_metadata(values, own_id))
        if len(_own_packs) >= _OWN_PACK_LIMIT:
            _own_packs.clear()
        _own_packs[signature] = common
    return with_response_id(common, own_id)


#: ``_metadata``'s keys after ``content_captured``, in its order, as an own call has them.
_OWN_METADATA_KEYS = (
    "instrumentation",
    "messages",
    "response_model",
    "response_id",
    "finish_reasons",
    *_COPIED_ATTRIBUTES.values(),
)
#: Packs of own calls by the values they are made of (see ``_own_metadata``); cleared when full.
_OWN_PACK_LIMIT = 1024
_own_packs: dict[tuple[Any, ...], PackedMetadata] = {}


def _pack_own_metadata(values: tuple[Any, ...], response_id: str | None) -> PackedMetadata:
    """The pack of ``_own_metadata``'s values, with the call's ``response_id`` in its place."""
    metadata: dict[str, Any] = {"content_captured": True}
    for name, value in zip(_OWN_METADATA_KEYS, values, strict=True):
        if name == "response_id":
            value = response_id
        if value is not None:
            metadata[name] = value
    return pack_metadata(metadata)


def _error(span: ReadableSpan, attributes: Mapping[str, Any]) -> str | None:
    if span.status.status_code is not StatusCode.ERROR:
        return None
    error_type = attributes.get(attr.ERROR_TYPE)
    description = span.status.description
    if error_type and description:
        return f"{error_type}: {description}"
    return str(error_type or description or "error")


def _case_id(own: Any, inherited: str | None) -> str | None:
    value = str(own) if own is not None else inherited
    return intern(value) if value is not None else None


@lru_cache(maxsize=64)
def _trace_hex(trace_id: int) -> str:
    """One string per trace, shared by all of its interactions."""
    return format_trace_id(trace_id)
