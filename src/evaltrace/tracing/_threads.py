"""Carry the OpenTelemetry context into worker threads while runs are open.

``loop.run_in_executor`` and ``ThreadPoolExecutor.submit`` do not copy
context variables, so spans started in those threads would start new traces
and fall out of their case. While at least one run is open, evaltrace enables
the OTel project's ``opentelemetry-instrumentation-threading`` (which only
propagates the trace context) unless the application already did, and
disables it again when the last run ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["thread_context_propagation"]

_lock = threading.Lock()
_open_runs = 0
_enabled_by_us = False


@contextmanager
def thread_context_propagation(enabled: bool = True) -> Iterator[None]:
    """Propagate the trace context into threads for the duration of the block."""
    if not enabled:
        yield
        return
    _acquire()
    try:
        yield
    finally:
        _release()


def _acquire() -> None:
    global _open_runs, _enabled_by_us
    from opentelemetry.instrumentation.threading import ThreadingInstrumentor

    with _lock:
        instrumentor = ThreadingInstrumentor()
        if _open_runs == 0 and not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
            _enabled_by_us = True
        _open_runs += 1


def _release() -> None:
    global _open_runs, _enabled_by_us
    from opentelemetry.instrumentation.threading import ThreadingInstrumentor

    with _lock:
        _open_runs -= 1
        if _open_runs == 0 and _enabled_by_us:
            ThreadingInstrumentor().uninstrument()
            _enabled_by_us = False
