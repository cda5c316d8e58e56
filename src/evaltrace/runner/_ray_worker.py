"""The Ray worker: an actor that runs case jobs through ``run_case`` with its own telemetry.

It imports nothing of Ray, so it is a plain class here; the executor makes it
a Ray actor. Each run it sees is opened once per worker process from the
run's recipe (models built here, telemetry from this process's ``OTEL_*``
settings or the tracer provider ``setup`` installed) and closed when the
driver says the run is over (spans flushed, models closed).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

from evaltrace.runner._case import CaseEnvironment, CaseOutcome, run_case
from evaltrace.runner._plan import CaseJob, RunRecipe
from evaltrace.runner._recipe import open_environment
from evaltrace.tracing import use_telemetry

__all__ = ["CaseWorker"]


class CaseWorker:
    """Runs case jobs of any number of runs, ``concurrency`` at a time (the actor's limit)."""

    def __init__(self, setup: Callable[[], object] | None, concurrency: int) -> None:
        if setup is not None:
            setup()  # the user's worker setup: e.g. install a TracerProvider of their own
        self._concurrency = concurrency
        self._runs: dict[str, tuple[CaseEnvironment, AsyncExitStack]] = {}
        self._opening = asyncio.Lock()

    def where(self) -> tuple[str, int]:
        """This worker's node address and process id."""
        ray: Any = importlib.import_module("ray")
        try:
            address = ray.util.get_node_ip_address()
        except Exception:  # not inside Ray (a unit test calls the class directly)
            address = socket.gethostname()
        return address, os.getpid()

    async def run(
        self, run_id: str, recipe: Sequence[Awaitable[RunRecipe] | RunRecipe], job: CaseJob
    ) -> CaseOutcome:
        """Run one job of run ``run_id``; its first job here opens the run from ``recipe[0]``.

        The recipe comes boxed in a list so Ray hands over its reference
        unfetched: it is fetched once per run and worker, not once per job.
        """
        opened = self._runs.get(run_id)
        environment = opened[0] if opened is not None else await self._open(run_id, recipe[0])
        with use_telemetry(environment.telemetry):
            return await run_case(job, environment)

    async def close_run(self, run_id: str) -> int:
        """Flush and close the run in this process; the spans its exporters dropped."""
        opened = self._runs.pop(run_id, None)
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
