"""Undo what an OpenAI instrumentation did to the ``openai`` SDK, whatever its ``uninstrument``.

Some instrumentations (seen: OpenLLMetry 0.62) leave methods wrapped after
``uninstrument()``; later tests in the same process would then trace into a
finished test's provider. Tests instrument inside ``pristine_openai_sdk()``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai.resources

__all__ = ["instrumented_openai", "openai_instrumentor", "pristine_openai_sdk"]


def _resource_classes() -> list[type]:
    classes = []
    for info in pkgutil.walk_packages(openai.resources.__path__, "openai.resources."):
        module = importlib.import_module(info.name)
        classes += [
            c
            for c in vars(module).values()
            if inspect.isclass(c) and c.__module__ == module.__name__
        ]
    return classes


@contextmanager
def pristine_openai_sdk() -> Iterator[None]:
    """Restore every method of the SDK's resource classes on exit."""
    saved: list[tuple[type, dict[str, Any]]] = [(c, dict(vars(c))) for c in _resource_classes()]
    try:
        yield
    finally:
        for cls, attributes in saved:
            for name, value in attributes.items():
                if name not in ("__dict__", "__weakref__") and vars(cls).get(name) is not value:
                    setattr(cls, name, value)


def openai_instrumentor(name: str) -> Any:
    """The ``OpenAIInstrumentor`` of ``otel-genai``, ``openinference`` or ``openllmetry``."""
    if name == "otel-genai":
        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
    elif name == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor
    else:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    return OpenAIInstrumentor()


@contextmanager
def instrumented_openai(name: str, tracer_provider: Any) -> Iterator[None]:
    """The SDK instrumented by ``name`` into ``tracer_provider`` for the block, then pristine."""
    instrumentor = openai_instrumentor(name)
    with pristine_openai_sdk():
        instrumentor.instrument(tracer_provider=tracer_provider)
        try:
            yield
        finally:
            instrumentor.uninstrument()
