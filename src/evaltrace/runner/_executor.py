"""Executors: how a run's case jobs are run. The local one is an asyncio pool in this process.

Every executor runs each job through ``run_case`` and hands each outcome to
``deliver`` as the case finishes, so the assembler streams results the same
way whoever ran the case.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from evaltrace.exceptions import ConfigurationError
from evaltrace.runner._case import CaseEnvironment, CaseOutcome, run_case
from evaltrace.runner._plan import CaseJob

__all__ = ["DEFAULT_CONCURRENCY", "Executor", "LocalExecutor"]

#: Cases evaluated at once unless ``max_concurrency`` says otherwise.
DEFAULT_CONCURRENCY = 8

Deliver = Callable[[CaseOutcome], None]


@runtime_checkable
class Executor(Protocol):
    """Runs a run's case jobs and delivers each outcome as its case finishes."""

    @property
    def concurrency(self) -> int:
        """How many cases run at once, in all (sizes the models' own limits)."""
        ...

    async def execute(
        self, jobs: Iterator[CaseJob], environment: CaseEnvironment, deliver: Deliver
    ) -> None:
        """Run every job in ``jobs``; ``environment`` is this process's (the driver's)."""
        ...


@dataclass(frozen=True)
class LocalExecutor:
    """Runs cases in this process, ``max_concurrency`` at a time.

    A fixed pool of workers pulls the next job as each one finishes, so the
    pending work is the job iterator, not one task per case.
    """

    max_concurrency: int = DEFAULT_CONCURRENCY

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1")

    @property
    def concurrency(self) -> int:
        """Cases run at once."""
        return self.max_concurrency

    async def execute(
        self, jobs: Iterator[CaseJob], environment: CaseEnvironment, deliver: Deliver
    ) -> None:
        """Run the jobs with the pool; the first error stops the others and propagates."""

        async def work() -> None:
            for job in jobs:  # next() runs to completion before any await: safe to share
                deliver(await run_case(job, environment))

        workers = [asyncio.create_task(work()) for _ in range(self.max_concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
