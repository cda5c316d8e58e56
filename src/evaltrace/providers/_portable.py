"""Pickling providers and models as the recipe that built them, never their keys or clients.

A provider pickled for another process (a Ray worker) is rebuilt there from
its plain options: an API key is never part of the pickle, so the worker
reads its own (``OPENAI_API_KEY``...) from its environment; HTTP clients,
loaded model weights and semaphores are made again where they are used (an
in-process model loads once per worker process).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Rebuild", "rebuild", "rebuilt_as"]

Rebuild = tuple[Callable[..., Any], tuple[Any, ...]]


def rebuilt_as(cls: type, args: tuple[Any, ...], options: Mapping[str, Any]) -> Rebuild:
    """A ``__reduce__`` value: unpickling calls ``cls(*args, **options)``."""
    return rebuild, (cls, args, dict(options))


def rebuild(cls: type, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
    """Build ``cls(*args, **options)`` (what a ``rebuilt_as`` pickle calls when loaded)."""
    return cls(*args, **options)
