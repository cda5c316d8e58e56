"""The telemetry of the run the current code is part of (a context variable)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

from evaltrace.tracing._telemetry import Telemetry, telemetry_for_run

__all__ = ["current_telemetry", "use_telemetry"]

_current: ContextVar[Telemetry | None] = ContextVar("evaltrace_telemetry", default=None)
_outside_runs: dict[int, Telemetry] = {}


@contextmanager
def use_telemetry(telemetry: Telemetry) -> Iterator[None]:
    """Make ``telemetry`` current for this task and everything it starts."""
    token = _current.set(telemetry)
    try:
        yield
    finally:
        _current.reset(token)


def current_telemetry() -> Telemetry:
    """The running evaluation's telemetry; outside a run, the application's provider.

    Outside a run with no SDK provider installed, calls are traced into a
    provider with no exporter: nothing leaves the process.
    """
    telemetry = _current.get()
    if telemetry is not None:
        return telemetry
    provider = trace.get_tracer_provider()
    key = id(provider) if isinstance(provider, SdkTracerProvider) else 0
    if key not in _outside_runs:
        _outside_runs[key] = telemetry_for_run("outside-run", "none")
    return _outside_runs[key]
