"""Undo whatever an instrumentation leaves patched, and say what it left.

Instrumentations patch framework classes and modules (wrapt wrappers,
replaced functions, registered trace processors). ``pristine_modules`` takes
a snapshot of the namespaces of every loaded module under some prefixes (and
of the classes they define) and, on exit, puts back every attribute that
changed (functions, methods and descriptors: module data such as caches is
left alone), listing it in ``leaks``: an instrumentation whose ``uninstrument``
is complete leaves that list empty.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["pristine_modules"]


def _owners(prefixes: tuple[str, ...]) -> list[Any]:
    modules = [
        module
        for name, module in list(sys.modules.items())
        if module is not None and name.startswith(prefixes)
    ]
    owners: list[Any] = list(modules)
    for module in modules:
        owners += [
            value
            for value in list(vars(module).values())
            # type(value), not isinstance: lazy proxies (openai's) load on __class__.
            if issubclass(type(value), type) and value.__module__ == module.__name__
        ]
    return owners


def _is_code(value: Any) -> bool:
    """Functions, methods and descriptors: what instrumentations patch (not data globals)."""
    # type(value), not isinstance: lazy proxies (openai's) load on __class__.
    return callable(value) or issubclass(type(value), (staticmethod, classmethod, property))


@contextmanager
def pristine_modules(*prefixes: str) -> Iterator[list[str]]:
    """Restore, on exit, the attributes of the modules under ``prefixes`` and their classes.

    Yields the list that, on exit, names each attribute that had to be restored.
    """
    saved = [(owner, dict(vars(owner))) for owner in _owners(prefixes)]
    leaks: list[str] = []
    try:
        yield leaks
    finally:
        for owner, attributes in saved:
            current = vars(owner)
            for name, value in attributes.items():
                if current.get(name) is value or not _is_code(value):
                    continue
                setattr(owner, name, value)
                leaks.append(f"{getattr(owner, '__qualname__', owner.__name__)}.{name}")
