"""evaltrace's own model-call spans, opened with one attribute dict and closed with one more.

``opentelemetry-util-genai`` builds two ~50-field data objects per call, merges
them field by field at the end and probes every optional attribute; for the
calls evaltrace makes itself, whose attributes are all known, that was most of
the tracing cost (docs/benchmarks.md, P1). ``OwnCall`` emits the same span the
util's ``InferenceInvocation`` emits in ``NO_CONTENT`` mode without events:

* name ``{operation} {model}``, kind CLIENT (INTERNAL in-process: the util
  handler's tracer), ``gen_ai.operation.name``, ``gen_ai.provider.name``,
  ``gen_ai.request.model`` and ``server.*`` when the span starts; request
  parameters, response, usage and ``evaltrace.*`` attributes when it ends;
* ERROR status with the message and ``error.type`` on failure;
* ``gen_ai.client.operation.duration`` and ``gen_ai.client.token.usage`` on the
  util handler's own instruments, with the util's metric attributes;
* the util's inference context entry, so an instrumentation built on the util
  running inside the call (the OTel openai instrumentation around our SDK
  call) publishes into this span instead of opening a second one; what it
  publishes fills the attributes evaltrace did not set, as the util's
  ``enrich_from_context`` does.

Capture modes that put content on spans or events go through the util itself
(``Telemetry.calls`` returns None then).
"""

from __future__ import annotations

import timeit
from collections.abc import Callable, Sequence
from dataclasses import MISSING, fields
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry.metrics import Histogram, NoOpHistogram
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, set_span_in_context
from opentelemetry.util.genai.invocation import CLIENT_INFERENCE_CONTEXT_KEY, InferenceData

from evaltrace.records import Message
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._kind import unwrap_kind

if TYPE_CHECKING:
    from evaltrace.tracing.processor import InteractionCollector

__all__ = ["CallTracer", "OwnCall", "OwnCallRecord"]

_INPUT = "input"
_OUTPUT = "output"
# Typed fields an inner util-genai instrumentation may publish, and their attributes.
_PUBLISHED_FIELDS = (
    ("conversation_id", attr.CONVERSATION_ID),
    ("request_temperature", attr.REQUEST_TEMPERATURE),
    ("request_top_p", attr.REQUEST_TOP_P),
    ("request_top_k", attr.REQUEST_TOP_K),
    ("request_frequency_penalty", attr.REQUEST_FREQUENCY_PENALTY),
    ("request_presence_penalty", attr.REQUEST_PRESENCE_PENALTY),
    ("request_max_tokens", attr.REQUEST_MAX_TOKENS),
    ("request_stop_sequences", attr.REQUEST_STOP_SEQUENCES),
    ("request_seed", attr.REQUEST_SEED),
    ("request_choice_count", attr.REQUEST_CHOICE_COUNT),
    ("output_type", attr.OUTPUT_TYPE),
    ("response_finish_reasons", attr.RESPONSE_FINISH_REASONS),
    ("response_model", attr.RESPONSE_MODEL),
    ("response_id", attr.RESPONSE_ID),
    ("usage_input_tokens", attr.USAGE_INPUT_TOKENS),
    ("usage_output_tokens", attr.USAGE_OUTPUT_TOKENS),
    ("usage_cache_read_input_tokens", attr.USAGE_CACHE_READ_INPUT_TOKENS),
    ("usage_reasoning_output_tokens", attr.USAGE_REASONING_OUTPUT_TOKENS),
)


def _data_factory() -> Callable[[], InferenceData]:
    """A cheap ``InferenceData()``: only its two ``default_factory`` fields set.

    A dataclass keeps each plain default as a class attribute, so an instance
    without the instance attribute reads the default; the util reads and
    writes the fields by name (``getattr``/``setattr``), never through
    ``vars()``. Falls back to the constructor if the class stops being that.
    """
    plain = [f for f in fields(InferenceData) if f.default is not MISSING]
    factories = [
        (f.name, f.default_factory)
        for f in fields(InferenceData)
        if f.default_factory is not MISSING
    ]
    unusual = hasattr(InferenceData, "__post_init__") or hasattr(InferenceData, "__slots__")
    if unusual or any(getattr(InferenceData, f.name, MISSING) is not f.default for f in plain):
        return InferenceData

    def new() -> InferenceData:
        data = object.__new__(InferenceData)
        for name, factory in factories:
            setattr(data, name, factory())
        return data

    return new


_new_data = _data_factory()


class OwnCallRecord:
    """What the collector needs besides the finished span to make the interaction.

    ``start`` and ``end`` are the attribute dicts the span was given (plain
    dicts: reading them costs nothing, unlike the SDK's locked mapping);
    ``messages`` and ``reply`` are the call's content, which spans carry only
    when the user opts in.
    """

    __slots__ = ("end", "messages", "reply", "start")

    def __init__(
        self,
        start: dict[str, Any],
        end: dict[str, Any],
        messages: Sequence[Message],
        reply: str,
    ) -> None:
        self.start = start
        self.end = end
        self.messages = messages
        self.reply = reply


class CallTracer:
    """Starts ``OwnCall``s with a util handler's tracer and instruments."""

    def __init__(
        self,
        tracer: Tracer,
        duration: Histogram,
        tokens: Histogram,
        sink: InteractionCollector,
    ) -> None:
        #: The SDK tracer itself and the kind to pass it (one call less per span).
        self.tracer, self.kind = unwrap_kind(tracer, SpanKind.CLIENT)
        self.duration = duration
        self.tokens = tokens
        self.sink = sink
        #: False when the meter provider is a no-op one: no metric attributes to build.
        self.metrics = not (
            isinstance(duration, NoOpHistogram) and isinstance(tokens, NoOpHistogram)
        )

    def start(
        self,
        provider: str,
        model: str,
        operation: str,
        server_address: str | None,
        server_port: int | None,
    ) -> OwnCall:
        """Open the call's span and make it current; finish it with ``stop`` or ``fail``."""
        start: dict[str, Any] = {
            attr.OPERATION_NAME: operation,
            attr.PROVIDER_NAME: provider,
            attr.REQUEST_MODEL: model,
        }
        if server_address is not None:
            start[attr.SERVER_ADDRESS] = server_address
        if server_port is not None:
            start[attr.SERVER_PORT] = server_port
        return OwnCall(self, start, f"{operation} {model}" if model else operation)


class OwnCall:
    """One of evaltrace's model calls in flight: its span, attached as the current one."""

    __slots__ = ("_calls", "_context", "_data", "_started", "_token", "span", "start")

    def __init__(self, calls: CallTracer, start: dict[str, Any], name: str) -> None:
        self._calls = calls
        self.start = start
        self.span: Span = calls.tracer.start_span(name, kind=calls.kind, attributes=start)
        self._data = _new_data()
        self._context = otel_context.set_value(
            CLIENT_INFERENCE_CONTEXT_KEY, self._data, set_span_in_context(self.span)
        )
        self._token = otel_context.attach(self._context)
        self._started = timeit.default_timer()

    def stop(
        self,
        end: dict[str, Any],
        messages: Sequence[Message],
        reply: str,
        response_model: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
    ) -> None:
        """End the span with the ``end`` attributes (request, response, usage, evaltrace.*)."""
        self._finish(end, messages, reply, response_model, input_tokens, output_tokens, None)

    def fail(
        self, end: dict[str, Any], messages: Sequence[Message], error_type: str, message: str
    ) -> None:
        """End the span with ERROR status, ``message`` and ``error.type``."""
        self.span.set_status(Status(StatusCode.ERROR, message))
        end[attr.ERROR_TYPE] = error_type
        self._finish(end, messages, "", None, None, None, error_type)

    def _finish(
        self,
        end: dict[str, Any],
        messages: Sequence[Message],
        reply: str,
        response_model: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        error_type: str | None,
    ) -> None:
        calls, span = self._calls, self.span
        try:
            for key in self.start:  # start attributes stay as they were (as in the util)
                end.pop(key, None)
            data = self._data
            if data.provider_name is not None or data.attributes:
                response_model = _enrich(end, data) or response_model
            span.set_attributes(end)
            if calls.metrics:
                self._record_metrics(response_model, input_tokens, output_tokens, error_type)
            calls.sink.attach_own(
                span.get_span_context().span_id, OwnCallRecord(self.start, end, messages, reply)
            )
        finally:
            otel_context.detach(self._token)
            span.end()

    def _record_metrics(
        self,
        response_model: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        error_type: str | None,
    ) -> None:
        """``gen_ai.client.operation.duration`` and ``.token.usage``, attributed as by the util."""
        calls, context = self._calls, self._context
        metric = dict(self.start)
        if response_model is not None:
            metric[attr.RESPONSE_MODEL] = response_model
        if error_type is not None:
            metric[attr.ERROR_TYPE] = error_type
        calls.duration.record(max(timeit.default_timer() - self._started, 0.0), metric, context)
        if input_tokens is not None:
            calls.tokens.record(input_tokens, {**metric, attr.TOKEN_TYPE: _INPUT}, context)
        if output_tokens is not None:
            calls.tokens.record(output_tokens, {**metric, attr.TOKEN_TYPE: _OUTPUT}, context)


def _enrich(end: dict[str, Any], data: InferenceData) -> str | None:
    """Fill the attributes evaltrace did not set from what an inner instrumentation published.

    evaltrace's own values win (the util's ``merge(overwrite=False)``). Returns
    the response model the span ends with.
    """
    for name, key in _PUBLISHED_FIELDS:
        value = getattr(data, name)
        if value is not None and key not in end:
            end[key] = list(value) if isinstance(value, list | tuple) else value
    for key, value in data.attributes.items():
        end.setdefault(key, value)
    model = end.get(attr.RESPONSE_MODEL)
    return model if isinstance(model, str) else None
