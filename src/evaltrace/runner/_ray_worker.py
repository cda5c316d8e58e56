"""The Ray worker: an actor that runs case jobs through ``run_case`` with its own telemetry.

It imports nothing of Ray, so it is a plain class here; the executor makes it
a Ray actor. Each run it sees is opened once per worker process from the
run's recipe (models built here, telemetry from this process's ``OTEL_*``
settings or the tracer provider ``setup`` installed) and closed when the
driver says the run is over (spans flushed, models closed).

The driver sends jobs in batches (one actor call for several cases) and the
worker streams back, each time cases finish, every outcome ready since its
last report: under load a report carries many cases, so the per-call cost of
Ray is shared. Each report also says how many calls (and what cost) each
case still running here has made so far: if the worker dies, that is what
the driver saw of the attempts it lost.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any, NamedTuple

from evaltrace.results import UsageSummary
from evaltrace.runner._case import CaseEnvironment, CaseOutcome, run_case
from evaltrace.runner._plan import CaseJob, CaseKey, RunRecipe
from evaltrace.runner._recipe import open_environment
from evaltrace.tracing import use_telemetry

__all__ = ["CaseWorker", "Progress", "Report"]


class Progress(NamedTuple):
    """A case still running on the worker: the calls it has made so far and their cost."""

    calls: int
    cost_usd: float | None


class Report(NamedTuple):
    """What a worker streams back: finished outcomes (by index in their batch), and progress.

    ``running`` covers every case of the run in progress on this worker, from
    any batch, that has made a call.
    """

    finished: list[tuple[int, CaseOutcome]]
    running: dict[CaseKey, Progress]


class CaseWorker:
    """Runs case jobs of any number of runs, ``concurrency`` at a time in all."""

    def __init__(self, setup: Callable[[], object] | None, concurrency: int) -> None:
        if setup is not None:
            setup()  # the user's worker setup: e.g. install a TracerProvider of their own
        self._concurrency = concurrency
        #: Cases run at once here, over all runs (the driver also sends jobs to wait here).
        self._slots = asyncio.Semaphore(concurrency)
        self._runs: dict[str, tuple[CaseEnvironment, AsyncExitStack]] = {}
        self._opening = asyncio.Lock()
        #: The cases in progress here, by run: their last progress reported.
        self._running: dict[str, dict[CaseKey, Progress]] = {}
        #: Runs being stopped (a call of theirs was cancelled or failed): no job of theirs starts.
        self._stopping: set[str] = set()

    def where(self) -> tuple[str, int]:
        """This worker's node address and process id."""
        ray: Any = importlib.import_module("ray")
        try:
            address = ray.util.get_node_ip_address()
        except Exception:  # not inside Ray (a unit test calls the class directly)
            address = socket.gethostname()
        return address, os.getpid()

    async def run(
        self,
        run_id: str,
        recipe: Sequence[Awaitable[RunRecipe] | RunRecipe],
        jobs: Sequence[CaseJob],
    ) -> AsyncIterator[Report]:
        """Run a batch of jobs of run ``run_id`` at once; report outcomes as they finish.

        The run's first batch here opens it from ``recipe[0]``, which comes boxed
        in a list so Ray hands over its reference unfetched: it is fetched once
        per run and worker, not once per batch. An error of ``run_case`` itself
        (not of the task or a metric: those are data) ends the stream with it,
        after the outcomes that finished before it.
        """
        opened = self._runs.get(run_id)
        environment = opened[0] if opened is not None else await self._open(run_id, recipe[0])
        running = self._running.setdefault(run_id, {})
        ready: asyncio.Queue[asyncio.Task[CaseOutcome]] = asyncio.Queue()
        with use_telemetry(environment.telemetry):
            tasks = {
                asyncio.create_task(self._run_case(run_id, job, environment, running)): i
                for i, job in enumerate(jobs)
            }
        for task in tasks:
            task.add_done_callback(ready.put_nowait)
        completed = False
        try:
            left = len(tasks)
            while left:
                done = [await ready.get()]
                while not ready.empty():
                    done.append(ready.get_nowait())
                left -= len(done)
                errors = [e for e in (task.exception() for task in done) if e is not None]
                finished = [(tasks[t], t.result()) for t in done if t.exception() is None]
                yield Report(finished, _progress(environment, running))
                if errors:
                    raise errors[0]
            completed = True
        finally:
            if not completed:  # the driver is stopping the run: its queued jobs must not start
                self._stopping.add(run_id)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_case(
        self,
        run_id: str,
        job: CaseJob,
        environment: CaseEnvironment,
        running: dict[CaseKey, Progress],
    ) -> CaseOutcome:
        """Run the job once a slot is free (unless its run is stopping); in ``running`` then."""
        async with self._slots:
            if run_id in self._stopping:
                raise asyncio.CancelledError  # its call's cancellation is on its way
            running[job.key] = Progress(0, 0.0)
            try:
                return await run_case(job, environment)
            finally:
                running.pop(job.key, None)

    async def close_run(self, run_id: str) -> int:
        """Flush and close the run in this process; the spans its exporters dropped."""
        opened = self._runs.pop(run_id, None)
        self._running.pop(run_id, None)
        self._stopping.discard(run_id)
        if opened is None:
            return 0
        environment, owned = opened
        await owned.aclose()
        return environment.telemetry.dropped_spans

    async def _open(self, run_id: str, recipe: Awaitable[RunRecipe] | RunRecipe) -> CaseEnvironment:
        async with self._opening:
            opened = self._runs.get(run_id)
            if opened is None:
                if not isinstance(recipe, RunRecipe):
                    recipe = await recipe  # a Ray object reference
                owned = AsyncExitStack()
                environment = await open_environment(recipe, owned, self._concurrency)
                opened = self._runs[run_id] = (environment, owned)
            return opened[0]


def _progress(
    environment: CaseEnvironment, running: dict[CaseKey, Progress]
) -> dict[CaseKey, Progress]:
    """The cases in ``running`` that have made calls, each with its calls and cost so far.

    A case's cost is priced again only when its number of calls has changed.
    """
    reported: dict[CaseKey, Progress] = {}
    for key, last in running.items():
        calls = environment.sink.peek_case(key.case_id, key.trial)
        if not calls:
            continue
        if len(calls) != last.calls:
            last = running[key] = Progress(len(calls), UsageSummary.of(calls).cost_usd)
        reported[key] = last
    return reported
