"""Reading a span's attributes without the SDK's per-lookup cost.

``ReadableSpan.attributes`` is a read-only view of the SDK's
``BoundedAttributes``, whose ``get`` is the generic ``Mapping.get``: a
missing key raises and catches a ``KeyError`` inside the SDK. The collector
probes keys most spans do not have (``evaltrace.case.id`` on every model-call
span); in a busy run those failed lookups took 6.6 of the 9.5 µs spent routing
each call (docs/benchmarks.md, P1 fourth round). ``span_attributes`` returns
the plain dict the SDK keeps inside when it is there, and a copy otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["span_attributes"]

_EMPTY: Mapping[str, Any] = {}


def span_attributes(span: ReadableSpan) -> Mapping[str, Any]:
    """The span's attributes as a plain mapping, for reading only.

    The SDK's own dict when its ``BoundedAttributes`` keeps one (no copy: do
    not mutate it), else a copy of ``span.attributes``.
    """
    inner = getattr(getattr(span, "_attributes", None), "_dict", None)
    if type(inner) is dict:
        return inner
    attributes = span.attributes
    return dict(attributes) if attributes else _EMPTY
