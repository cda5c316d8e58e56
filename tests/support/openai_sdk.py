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

__all__ = ["pristine_openai_sdk"]


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
