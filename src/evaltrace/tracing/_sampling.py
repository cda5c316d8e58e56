"""Record every span of a run while exporting only what the application samples.

An application sampler may drop most traces. Interactions are built from
spans, so evaltrace's own spans must be recorded whatever the sampler says —
but exporting them must still follow the application's decision. evaltrace's
tracers therefore use the application's sampler wrapped so that DROP becomes
RECORD_ONLY: the span is recorded (processors see it, so the collector builds
its interaction) while its ``sampled`` flag stays off, so exporting processors
(Simple/BatchSpanProcessor and ours) skip it, and child spans sampled by a
parent-based sampler follow the same decision.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

__all__ = ["RecordingTracerProvider", "RecordWhenDropped"]


class RecordWhenDropped(Sampler):
    """The wrapped sampler's decision, except that DROP records without sampling."""

    def __init__(self, inner: Sampler) -> None:
        self._inner = inner

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        """Ask the application's sampler; turn DROP into RECORD_ONLY."""
        result = self._inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )
        if result.decision is Decision.DROP:
            # A span takes its attributes from the sampling result; DROP results carry none.
            kept = {**(attributes or {}), **(result.attributes or {})}
            return SamplingResult(Decision.RECORD_ONLY, kept, result.trace_state)
        return result

    def get_description(self) -> str:
        """Name of the wrapper and of the wrapped sampler."""
        return f"RecordWhenDropped{{{self._inner.get_description()}}}"


class RecordingTracerProvider(trace.TracerProvider):
    """A view of an SDK tracer provider whose tracers record every span (see module doc)."""

    def __init__(self, inner: trace.TracerProvider) -> None:
        self._inner = inner

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        """The inner provider's tracer, with its sampler wrapped."""
        tracer = self._inner.get_tracer(*args, **kwargs)
        if not isinstance(tracer, SdkTracer) or isinstance(tracer.sampler, RecordWhenDropped):
            return tracer
        recording = copy.copy(tracer)
        recording.sampler = RecordWhenDropped(tracer.sampler)
        return recording
