"""The recipe of a run: what a process needs to run its cases, as data that pickles.

The driver's ``CaseEnvironment`` holds live things (telemetry, the sink, built
models). A worker in another process rebuilds its own from the recipe: its
telemetry from its own ``OTEL_*`` settings (or the tracer provider its setup
installed), and its models from the specs the user gave (a ``"provider:model"``
string, a provider, a ``Model``), so API keys come from the worker's
environment. Providers pickle without their keys (see ``providers``).
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from evaltrace._tasks import TaskFn, as_task
from evaltrace.providers import Model, as_model
from evaltrace.runner._case import CaseEnvironment
from evaltrace.runner._plan import RunRecipe
from evaltrace.tracing import Telemetry, telemetry_for_run
from evaltrace.tracing._threads import thread_context_propagation

__all__ = ["environment_of", "open_environment"]


async def open_environment(
    recipe: RunRecipe, owned: AsyncExitStack, concurrency: int
) -> CaseEnvironment:
    """This process's environment for the recipe's cases, ``concurrency`` at a time.

    ``owned`` closes what was opened here (models built from strings, the
    run's sink) and flushes the telemetry when the run closes in this process.
    """
    judge = None
    if recipe.judge is not None:
        judge = as_model(
            recipe.judge,
            max_concurrency=concurrency * max(len(recipe.metrics), 1)
            if isinstance(recipe.judge, str)
            else None,
        )
        if isinstance(recipe.judge, str):
            owned.push_async_callback(judge.aclose)
    task_fn, task_model = as_task(recipe.task, concurrency)
    if task_model is not None:
        owned.push_async_callback(task_model.aclose)
    telemetry = telemetry_for_run(recipe.name, recipe.run_id)
    owned.push_async_callback(telemetry.flush)
    owned.enter_context(thread_context_propagation(recipe.propagate_context_to_threads))
    return environment_of(recipe, telemetry, owned, task=task_fn, judge=judge)


def environment_of(
    recipe: RunRecipe,
    telemetry: Telemetry,
    owned: AsyncExitStack,
    *,
    task: TaskFn | None,
    judge: Model | None,
    keep_recipe: bool = False,
) -> CaseEnvironment:
    """The recipe's environment over ``telemetry`` and the models built for this process.

    Opens the run's sink in the telemetry's collector (closed by ``owned``).
    ``keep_recipe``: the environment carries the recipe, for an executor that
    rebuilds it in other processes (the driver's).
    """
    sink = telemetry.collector.open_run(recipe.run_id, keep_spans=recipe.trace_cases)
    owned.callback(telemetry.collector.close_run, recipe.run_id)
    return CaseEnvironment(
        run_id=recipe.run_id,
        telemetry=telemetry,
        sink=sink,
        metrics=recipe.metrics,
        task=task,
        judge=judge,
        embedder=recipe.embedder,
        keep_trajectory=recipe.keep_trajectory,
        recipe=recipe if keep_recipe else None,
    )
