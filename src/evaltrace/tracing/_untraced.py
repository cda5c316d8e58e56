"""Noticing calls that go nowhere: an instrumentation active while no SDK provider is installed.

An application instrumented the way an instrumentation's README says
(``OpenAIInstrumentor().instrument()``, no tracer provider of its own) makes
its spans with the global tracer provider. While that is still the API's
proxy (or a no-op one), those spans record nothing, and the calls they trace
never reach ``result.interactions``. evaltrace never sets the global provider
on its own; it says so instead, once per kind of problem, and flags the result.
"""

from __future__ import annotations

import logging
import threading

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

__all__ = ["untraced_instrumentation_warning"]

_log = logging.getLogger("evaltrace")
#: Instrumentors that make no spans of their own (evaltrace enables this one itself).
_SPANLESS = frozenset({"ThreadingInstrumentor"})
_warned: set[tuple[str, ...]] = set()
_lock = threading.Lock()


def untraced_instrumentation_warning() -> str | None:
    """The warning for this run, if an instrumentation traces into the no-op global provider.

    Logged the first time a set of instrumentations is found; returned every time.
    """
    if isinstance(trace.get_tracer_provider(), SdkTracerProvider):
        return None
    names = active_instrumentors()
    if not names:
        return None
    listed = ", ".join(names)
    message = (
        f"{listed} {'is' if len(names) == 1 else 'are'} instrumented, but no OpenTelemetry SDK "
        "TracerProvider is installed globally: their spans go nowhere, and the calls they trace "
        "are missing from result.interactions. Call evaltrace.install_tracer_provider() (or "
        "install your own SDK TracerProvider) before the run."
    )
    key = tuple(names)
    with _lock:
        first = key not in _warned
        _warned.add(key)
    if first:
        _log.warning("evaltrace: %s", message)
    return message


def active_instrumentors() -> list[str]:
    """The names of the OpenTelemetry instrumentors that are instrumenting now (sorted)."""
    try:
        from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
            BaseInstrumentor,
        )
    except ImportError:  # no instrumentation package: no instrumentor either
        return []
    found: set[str] = set()
    pending = list(BaseInstrumentor.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        instance = cls.__dict__.get("_instance")
        if instance is not None and getattr(instance, "_is_instrumented_by_opentelemetry", False):
            if cls.__name__ not in _SPANLESS:
                found.add(cls.__name__)
    return sorted(found)
