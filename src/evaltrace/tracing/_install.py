"""``install_tracer_provider``: when you want evaltrace to set up global tracing for you."""

from __future__ import annotations

import atexit
import weakref

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

from evaltrace.tracing._batch import BoundedBatchSpanProcessor
from evaltrace.tracing.export import build_resource, build_span_exporters

__all__ = ["install_tracer_provider", "installed_exporters"]

#: The exporting processors of the providers ``install_tracer_provider`` made,
#: so a run through one can count what they dropped.
_exporters: weakref.WeakKeyDictionary[SdkTracerProvider, list[BoundedBatchSpanProcessor]] = (
    weakref.WeakKeyDictionary()
)


def install_tracer_provider(service_name: str | None = None) -> SdkTracerProvider:
    """Install a global SDK tracer provider built from the ``OTEL_*`` variables, and return it.

    evaltrace never sets the global provider on its own. Call this when the
    code under test is instrumented by libraries that trace to the global
    provider (OpenTelemetry/OpenInference instrumentations) and your
    application sets up no tracing itself: their calls then become
    interactions too. If an SDK provider is already installed, it is returned
    unchanged.
    """
    current = trace.get_tracer_provider()
    if isinstance(current, SdkTracerProvider):
        return current
    resource = build_resource()
    if service_name:
        resource = resource.merge(type(resource).create({"service.name": service_name}))
    provider = SdkTracerProvider(resource=resource, shutdown_on_exit=False)
    processors = [BoundedBatchSpanProcessor(e) for e in build_span_exporters()]
    for processor in processors:
        provider.add_span_processor(processor)
    _exporters[provider] = processors
    atexit.register(provider.shutdown)
    trace.set_tracer_provider(provider)
    return provider


def installed_exporters(provider: SdkTracerProvider) -> list[BoundedBatchSpanProcessor] | None:
    """The exporting processors of a provider ``install_tracer_provider`` made; None for others."""
    return _exporters.get(provider)
