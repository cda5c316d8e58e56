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
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.metrics import Histogram, NoOpHistogram
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, set_span_in_context
from opentelemetry.util.genai._conversation_context import get_ambient_conversation_id
from opentelemetry.util.genai.invocation import CLIENT_INFERENCE_CONTEXT_KEY, InferenceData

from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._call import (
    CallRequest,
    CallResult,
    CallTarget,
    call_content,
    request_attributes,
    response_attributes,
)
from evaltrace.tracing._kind import unwrap_kind
from evaltrace.tracing.processor import InteractionCollector

__all__ = ["CallTracer", "OwnCall"]

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


class _PublishedData(InferenceData):
    """Where an inner util-based instrumentation publishes what it knows of our call.

    Reads like a new ``InferenceData``: a dataclass keeps each plain default
    as a class attribute, so only its two mutable fields need their own
    values. ``InferenceData()`` sets all 50 fields: 3.8 µs per call, an eighth
    of a bare SDK span (docs/design.md, "Own call spans"). A test checks that
    every field still reads its default.
    """

    def __init__(self) -> None:  # the dataclass __init__ is skipped on purpose
        self.attributes = {}
        self.metric_attributes = {}


class CallTracer:
    """Starts ``OwnCall``s with a util handler's tracer and instruments."""

    def __init__(
        self,
        tracer: Tracer,
        duration: Histogram,
        tokens: Histogram,
        collector: InteractionCollector,
    ) -> None:
        #: The SDK tracer itself and the kind to pass it (one call less per span).
        self.tracer, self.kind = unwrap_kind(tracer, SpanKind.CLIENT)
        self.duration = duration
        self.tokens = tokens
        self.collector = collector
        #: False when the meter provider is a no-op one: no metric attributes to build.
        self.metrics = not (
            isinstance(duration, NoOpHistogram) and isinstance(tokens, NoOpHistogram)
        )


class OwnCall:
    """One of evaltrace's model calls in flight: its span, attached as the current one.

    Everything that can fail before the call is made (the attributes) is
    built before the span opens, so a span never opens without an end.
    """

    __slots__ = (
        "_calls",
        "_context",
        "_data",
        "_end",
        "_request",
        "_start",
        "_started",
        "_token",
        "span",
    )

    def __init__(self, calls: CallTracer, request: CallRequest) -> None:
        self._calls = calls
        self._request = request
        self._start = start = _start_attributes(request)
        self._end = request_attributes(request)
        target = request.target
        name = f"{target.operation} {target.model}" if target.model else target.operation
        self.span: Span = calls.tracer.start_span(name, kind=calls.kind, attributes=start)
        self._data = _PublishedData()
        self._context = otel_context.set_value(
            CLIENT_INFERENCE_CONTEXT_KEY, self._data, set_span_in_context(self.span)
        )
        self._token = otel_context.attach(self._context)
        self._started = timeit.default_timer()

    def succeed(self, result: CallResult) -> None:
        """End the span with the reply's response and usage attributes."""
        end = response_attributes(result, self._end)
        self._finish(end, result, result.response_model, None)

    def fail(
        self,
        error_type: str,
        message: str,
        exception: BaseException | None = None,
        partial: CallResult | None = None,
    ) -> None:
        """End the span with ERROR status, ``message`` and ``error.type``."""
        span = self.span
        if exception is not None:
            span.record_exception(exception)
        span.set_status(Status(StatusCode.ERROR, message))
        end = self._end if partial is None else response_attributes(partial, self._end)
        end[attr.ERROR_TYPE] = error_type
        response_model = None if partial is None else partial.response_model
        self._finish(end, partial, response_model, error_type)

    @contextmanager
    def activate(self) -> Iterator[None]:
        """Make the span current inside the block (it already is until it ends)."""
        token = otel_context.attach(self._context)
        try:
            yield
        finally:
            otel_context.detach(token)

    def chunk(self) -> None:
        """Streams go through the util (``UtilCall``); nothing to record here."""

    def _finish(
        self,
        end: dict[str, Any],
        result: CallResult | None,
        response_model: str | None,
        error_type: str | None,
    ) -> None:
        calls, span = self._calls, self.span
        starting = self._start
        try:
            for key in starting:  # start attributes stay as they were (as in the util)
                end.pop(key, None)
            data = self._data
            if data.provider_name is not None or data.attributes:
                response_model = _enrich(end, data) or response_model
            span.set_attributes(end)
            if calls.metrics:
                self._record_metrics(end, response_model, result, error_type)
            calls.collector.attach(
                span.get_span_context().span_id,
                call_content(self._request, result),
                {**end, **starting},
            )
        finally:
            otel_context.detach(self._token)
            span.end()

    def _record_metrics(
        self,
        end: dict[str, Any],
        response_model: str | None,
        result: CallResult | None,
        error_type: str | None,
    ) -> None:
        """``gen_ai.client.operation.duration`` and ``.token.usage``, attributed as by the util."""
        calls, context = self._calls, self._context
        metric = dict(self._start)
        metric.pop(attr.CONVERSATION_ID, None)  # a span attribute, not a metric dimension
        if response_model is not None:
            metric[attr.RESPONSE_MODEL] = response_model
        if error_type is not None:
            metric[attr.ERROR_TYPE] = error_type
        calls.duration.record(max(timeit.default_timer() - self._started, 0.0), metric, context)
        input_tokens = end.get(attr.USAGE_INPUT_TOKENS)
        output_tokens = end.get(attr.USAGE_OUTPUT_TOKENS)
        if input_tokens is not None:
            calls.tokens.record(input_tokens, {**metric, attr.TOKEN_TYPE: _INPUT}, context)
        if output_tokens is not None:
            calls.tokens.record(output_tokens, {**metric, attr.TOKEN_TYPE: _OUTPUT}, context)


def _start_attributes(request: CallRequest) -> dict[str, Any]:
    """What the span starts with: operation, provider, model, server, the ambient conversation.

    The target's part is one dict per model, only read afterwards.
    """
    start = _target_attributes(request.target)
    conversation_id = get_ambient_conversation_id()  # set by an agent framework around the call
    if conversation_id is not None:
        start = {**start, attr.CONVERSATION_ID: conversation_id}
    return start


@lru_cache(maxsize=256)
def _target_attributes(target: CallTarget) -> dict[str, Any]:
    start: dict[str, Any] = {
        attr.OPERATION_NAME: target.operation,
        attr.PROVIDER_NAME: target.provider,
        attr.REQUEST_MODEL: target.model,
    }
    if target.server_address is not None:
        start[attr.SERVER_ADDRESS] = target.server_address
    if target.server_port is not None:
        start[attr.SERVER_PORT] = target.server_port
    return start


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
