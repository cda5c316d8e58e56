"""The system under test: turn whatever the user passed as ``task`` into one async call."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from evaltrace.exceptions import ConfigurationError
from evaltrace.providers import Model, Provider, as_model

__all__ = ["TaskFn", "TaskSpec", "as_task"]

TaskFn = Callable[[str], Awaitable[str]]
TaskSpec = str | Provider | Model | Callable[[str], Any]


def as_task(
    spec: TaskSpec | None, concurrency: int | None = None
) -> tuple[TaskFn | None, Model | None]:
    """An async ``input -> output`` function for ``spec``, and the Model to close with the run.

    Only a Model built here from a ``"provider:model"`` string is returned to
    close: a provider or Model the caller passed stays theirs.

    A ``"provider:model"`` string, provider or Model answers the input as a user
    message. A sync callable runs in a worker thread (with the caller's context,
    so its spans stay in the case's trace); an async callable is awaited.
    """
    if spec is None:
        return None, None
    if isinstance(spec, str | Model) or isinstance(spec, Provider):
        model = as_model(spec, max_concurrency=concurrency if isinstance(spec, str) else None)

        async def ask(question: str) -> str:
            return (await model.complete(question, purpose="task")).text

        return ask, (model if isinstance(spec, str) else None)  # close only what we built
    if not callable(spec):
        raise ConfigurationError(
            f"task must be a callable, a provider or 'provider:model', not {type(spec).__name__}"
        )
    return _wrap_callable(spec), None


def _wrap_callable(fn: Callable[[str], Any]) -> TaskFn:
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
    ):

        async def call_async(question: str) -> str:
            return _text(await fn(question))

        return call_async

    async def call_in_thread(question: str) -> str:
        result = await asyncio.to_thread(fn, question)
        if inspect.isawaitable(result):
            result = await result
        return _text(result)

    return call_in_thread


def _text(value: Any) -> str:
    if value is None:
        raise TypeError("the task returned None; it must return the output text")
    return value if isinstance(value, str) else str(value)
