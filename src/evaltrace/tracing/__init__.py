"""Tracing: spans, the interaction collector, a case's span tree, and export from ``OTEL_*``."""

from evaltrace.tracing._content import content_mode
from evaltrace.tracing._convert import interaction_of, span_to_interaction
from evaltrace.tracing._current import current_telemetry, use_telemetry
from evaltrace.tracing._inherit import Inherited, inherit, inherit_all
from evaltrace.tracing._install import install_tracer_provider
from evaltrace.tracing._node import SpanNode
from evaltrace.tracing._query import SpanQuery, validate_query
from evaltrace.tracing._record import CallContent, SpanEvent, SpanLink, SpanRecord
from evaltrace.tracing._telemetry import FLUSH_DEADLINE, Telemetry, telemetry_for_run
from evaltrace.tracing._trajectory import Step
from evaltrace.tracing._tree import CaseTrace
from evaltrace.tracing.processor import InteractionCollector, RunSink

__all__ = [
    "FLUSH_DEADLINE",
    "CallContent",
    "CaseTrace",
    "Inherited",
    "InteractionCollector",
    "RunSink",
    "SpanEvent",
    "SpanLink",
    "SpanNode",
    "SpanQuery",
    "SpanRecord",
    "Step",
    "Telemetry",
    "content_mode",
    "current_telemetry",
    "inherit",
    "inherit_all",
    "install_tracer_provider",
    "interaction_of",
    "span_to_interaction",
    "telemetry_for_run",
    "use_telemetry",
    "validate_query",
]
