"""Tracing: spans, the interaction collector, and export from ``OTEL_*`` variables."""

from evaltrace.tracing._content import content_mode
from evaltrace.tracing._convert import span_to_interaction
from evaltrace.tracing._current import current_telemetry, use_telemetry
from evaltrace.tracing._install import install_tracer_provider
from evaltrace.tracing._telemetry import FLUSH_DEADLINE, Telemetry, telemetry_for_run
from evaltrace.tracing.processor import InteractionCollector, RunSink

__all__ = [
    "FLUSH_DEADLINE",
    "InteractionCollector",
    "RunSink",
    "Telemetry",
    "content_mode",
    "current_telemetry",
    "install_tracer_provider",
    "span_to_interaction",
    "telemetry_for_run",
    "use_telemetry",
]
