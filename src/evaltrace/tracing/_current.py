"""The telemetry of the run the current code is part of.

It rides in the OpenTelemetry context, so it follows the trace wherever the
context goes: into asyncio tasks, into threads (with context propagation on),
into callbacks that re-attach a captured context.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

from evaltrace.tracing._telemetry import Telemetry, telemetry_for_run, telemetry_variables

__all__ = ["current_telemetry", "use_telemetry"]

_KEY = otel_context.create_key("evaltrace-telemetry")
_outside_runs: dict[tuple[int, tuple[str | None, str | None]], Telemetry] = {}


@contextmanager
def use_telemetry(telemetry: Telemetry) -> Iterator[None]:
    """Make ``telemetry`` current for this block and everything it starts."""
    token = otel_context.attach(otel_context.set_value(_KEY, telemetry))
    try:
        yield
    finally:
        otel_context.detach(token)


def current_telemetry() -> Telemetry:
    """The running evaluation's telemetry; outside a run, the application's provider.

    Outside a run with no SDK provider installed, calls are traced into a
    provider built from the ``OTEL_*`` variables (no exporter: nothing leaves
    the process).
    """
    telemetry = otel_context.get_value(_KEY)
    if isinstance(telemetry, Telemetry):
        return telemetry
    provider = trace.get_tracer_provider()
    # A telemetry reads the capture variables once: a change of them gets a new one.
    key = (id(provider) if isinstance(provider, SdkTracerProvider) else 0, telemetry_variables())
    if key not in _outside_runs:
        _outside_runs[key] = telemetry_for_run("outside-run", "none")
    return _outside_runs[key]
