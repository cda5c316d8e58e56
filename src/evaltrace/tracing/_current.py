"""The telemetry of the run the current code is part of.

It rides in the OpenTelemetry context, so it follows the trace wherever the
context goes: into asyncio tasks, into threads (with context propagation on),
into callbacks that re-attach a captured context.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

from evaltrace.tracing._telemetry import Telemetry, telemetry_for_run, telemetry_variables

_Variables = tuple[str | None, str | None]

__all__ = ["current_telemetry", "use_telemetry"]

_KEY = otel_context.create_key("evaltrace-telemetry")


class _Outside(NamedTuple):
    """The telemetry of calls made outside any run, and what it was made for."""

    provider: trace.TracerProvider | None  # the application's SDK provider, or None: our own
    variables: _Variables
    telemetry: Telemetry


#: One at a time: a new global provider or new capture variables replace it (an
#: own provider replaced is flushed and shut down), so nothing piles up.
_outside: _Outside | None = None
_lock = threading.Lock()


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
    provider built from the ``OTEL_*`` variables, flushed when the process
    exits (or when a new provider or new capture variables replace it).
    """
    global _outside
    telemetry = otel_context.get_value(_KEY)
    if isinstance(telemetry, Telemetry):
        return telemetry
    global_provider = trace.get_tracer_provider()
    provider = global_provider if isinstance(global_provider, SdkTracerProvider) else None
    # A telemetry reads the capture variables once: a change of them gets a new one.
    variables = telemetry_variables()
    with _lock:
        current = _outside
        if current is not None and current.provider is provider and current.variables == variables:
            return current.telemetry
        _outside = _Outside(provider, variables, telemetry_for_run("outside-run", "none"))
    if current is not None:
        current.telemetry.shutdown()  # only an own provider: the application's stays up
    return _outside.telemetry


@atexit.register
def _flush_at_exit() -> None:
    """Export what evaltrace's own outside-run provider still holds."""
    with _lock:
        current = _outside
    if current is not None:
        current.telemetry.shutdown()
