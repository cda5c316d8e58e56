"""A tracer provider view whose spans are all INTERNAL.

``opentelemetry-util-genai`` starts every inference span as CLIENT; a model run
in-process is not a remote call, so its spans must be INTERNAL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

__all__ = ["InternalKindTracerProvider", "unwrap_kind"]


class _InternalKindTracer(trace.Tracer):
    def __init__(self, inner: trace.Tracer) -> None:
        self._inner = inner

    def start_span(  # type: ignore[override]
        self, name: str, context: Any = None, kind: SpanKind = SpanKind.INTERNAL, **kwargs: Any
    ) -> Span:
        return self._inner.start_span(name, context, SpanKind.INTERNAL, **kwargs)

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self, name: str, context: Any = None, kind: SpanKind = SpanKind.INTERNAL, **kwargs: Any
    ) -> Iterator[Span]:
        with self._inner.start_as_current_span(name, context, SpanKind.INTERNAL, **kwargs) as span:
            yield span


class InternalKindTracerProvider(trace.TracerProvider):
    """Wraps a tracer provider so every span its tracers start is INTERNAL."""

    def __init__(self, inner: trace.TracerProvider) -> None:
        self._inner = inner

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> trace.Tracer:
        return _InternalKindTracer(
            self._inner.get_tracer(
                instrumenting_module_name, instrumenting_library_version, schema_url, attributes
            )
        )


def unwrap_kind(tracer: trace.Tracer, kind: SpanKind) -> tuple[trace.Tracer, SpanKind]:
    """The tracer under an INTERNAL-kind view and the kind its spans get (else as given)."""
    if isinstance(tracer, _InternalKindTracer):
        return tracer._inner, SpanKind.INTERNAL  # noqa: SLF001 - our own wrapper
    return tracer, kind
