"""The system under test: turn whatever the user passed as ``task`` into one async call.

A task gets the case's input as it was given (a string, an object, a
conversation...) and may return any JSON value. A task whose first parameter
asks for the case (annotated ``Case``, or named ``case``) gets the whole
``Case``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from evaltrace._values import as_text, conversation
from evaltrace.exceptions import ConfigurationError
from evaltrace.providers import Model, Provider, as_model
from evaltrace.records import Case, Message

__all__ = ["TaskFn", "TaskSpec", "as_task"]

TaskFn = Callable[[Case], Awaitable[Any]]
TaskSpec = str | Provider | Model | Callable[..., Any]


def as_task(
    spec: TaskSpec | None, concurrency: int | None = None
) -> tuple[TaskFn | None, Model | None]:
    """An async ``case -> output`` function for ``spec``, and the Model to close with the run.

    A ``"provider:model"`` string, provider or Model answers the input: a
    conversation as its messages, anything else as one user message. A sync
    callable runs in a worker thread (with the caller's context, so its spans
    stay in the case's trace); an async callable is awaited. Only a Model
    built here from a ``"provider:model"`` string is returned to close: a
    provider or Model the caller passed stays theirs.
    """
    if spec is None:
        return None, None
    if isinstance(spec, str | Model) or isinstance(spec, Provider):
        model = as_model(spec, max_concurrency=concurrency if isinstance(spec, str) else None)

        async def ask(case: Case) -> str:
            return (await model.complete(model_prompt(case.input), purpose="task")).text

        return ask, (model if isinstance(spec, str) else None)
    if not callable(spec):
        raise ConfigurationError(
            f"task must be a callable, a provider or 'provider:model', not {type(spec).__name__}"
        )
    return _wrap_callable(spec), None


def model_prompt(value: Any) -> str | list[Message]:
    """A case's input as a model's prompt: a conversation's messages, else its text."""
    messages = conversation(value)
    if messages is None:
        return as_text(value)
    return [Message(role=role, content=as_text(content)) for role, content in messages]


def _wrap_callable(fn: Callable[..., Any]) -> TaskFn:
    argument = _argument_of(fn)
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
    ):

        async def call_async(case: Case) -> Any:
            return json_output(await fn(argument(case)))

        return call_async

    async def call_in_thread(case: Case) -> Any:
        result = await asyncio.to_thread(fn, argument(case))
        if inspect.isawaitable(result):
            result = await result
        return json_output(result)

    return call_in_thread


def _argument_of(fn: Callable[..., Any]) -> Callable[[Case], Any]:
    """What ``fn`` is called with: the whole case when its first parameter asks for it."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin with no signature: give it the input
        return _input_of
    if not parameters:
        return _input_of
    first = parameters[0]
    annotation = first.annotation
    wants_case = first.name == "case" or annotation is Case or annotation == "Case"
    return _case_itself if wants_case else _input_of


def _input_of(case: Case) -> Any:
    return case.input


def _case_itself(case: Case) -> Case:
    return case


def json_output(value: Any) -> Any:
    """The task's result as a JSON value (pydantic models and dataclasses as their fields)."""
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(
        f"the task returned a {type(value).__name__}: return a string or another JSON value "
        "(number, boolean, null, list, dict)"
    )
