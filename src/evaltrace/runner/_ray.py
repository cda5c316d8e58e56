"""``RayExecutor``: a run's cases on Ray actors, results streamed back by value as they finish.

Each worker is a Ray actor (``CaseWorker``) running ``run_case``, the same
per-case function as the local executor, with its own telemetry and models.
The driver keeps at most ``workers x concurrency_per_worker`` jobs in flight,
pulling the next job from the plan as each case finishes, so its memory
follows the cases in flight, not the dataset. A job whose worker died is run
again (at most ``max_attempts`` times in all) and its lost attempt is
reported; only the attempt that came back counts. Ray is imported lazily:
``pip install 'evaltrace[ray]'``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from evaltrace.exceptions import ConfigurationError
from evaltrace.providers._lazy import require
from evaltrace.records import CaseResult
from evaltrace.results import LostAttempt
from evaltrace.runner._case import CaseEnvironment, CaseOutcome, _unscored
from evaltrace.runner._executor import Deliver
from evaltrace.runner._plan import CaseJob, CaseKey
from evaltrace.runner._ray_worker import CaseWorker, Progress, Report

__all__ = ["RayExecutor"]

#: How long the driver waits for the workers to flush a run's spans when it ends.
CLOSE_DEADLINE = 10.0


class _Attempt(NamedTuple):
    """A job to send to a worker, with the attempts of it already lost."""

    job: CaseJob
    lost: tuple[LostAttempt, ...]


@dataclass
class _Call:
    """One actor call: a batch of jobs on one worker, its outcomes streaming back."""

    worker: int
    stream: Any  # Ray's ObjectRefGenerator of the worker's reports
    pending: dict[int, _Attempt]  # by index in the batch: the jobs not back yet


class RayExecutor:
    """Runs cases on ``workers`` Ray actors, ``concurrency_per_worker`` cases each at a time.

    ``address`` is the cluster's (``"auto"``, ``"127.0.0.1:6379"``,
    ``"ray://head:10001"``; None: the connected cluster, else ``auto``).
    Each actor takes ``num_cpus`` CPUs and spreads over the nodes.
    ``worker_setup`` runs once in each worker process before any case (e.g.
    to install a tracer provider); ``runtime_env`` and ``actor_options`` go
    to Ray as they are. Models built from ``"provider:model"`` strings get
    ``concurrency_per_worker`` (times the metrics, for a judge) calls in flight
    per worker: a provider's run-wide limit is split evenly over the workers.

    Each worker also holds up to ``queued_per_worker`` jobs waiting for a free
    slot (default: a quarter of ``concurrency_per_worker``, at least 1), so a
    slot that frees starts its next case at once instead of after a round trip
    to the driver; 0 sends a job only when a slot is free. A worker that dies
    loses the jobs queued there with those running: they are lost attempts too.

    Actors are made on first use; those made by a run are stopped when it
    ends, those made by ``start()`` stay until ``shutdown()`` (for several runs).
    """

    remote = True  # evaluate builds the models on the workers, not on the driver

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int = 2,
        concurrency_per_worker: int = 8,
        queued_per_worker: int | None = None,
        max_attempts: int = 3,
        num_cpus: float = 1.0,
        worker_setup: Callable[[], object] | None = None,
        runtime_env: Mapping[str, Any] | None = None,
        actor_options: Mapping[str, Any] | None = None,
    ) -> None:
        if workers < 1 or concurrency_per_worker < 1 or max_attempts < 1:
            raise ConfigurationError(
                "workers, concurrency_per_worker and max_attempts must be at least 1"
            )
        self.address = address
        self.workers = workers
        self.concurrency_per_worker = concurrency_per_worker
        if queued_per_worker is None:
            queued_per_worker = max(1, concurrency_per_worker // 4)
        if queued_per_worker < 0:
            raise ConfigurationError("queued_per_worker must be 0 or more")
        self.queued_per_worker = queued_per_worker
        self.max_attempts = max_attempts
        self.num_cpus = num_cpus
        self.worker_setup = worker_setup
        self.runtime_env = dict(runtime_env or {})
        self.actor_options = dict(actor_options or {})
        self._actors: list[Any] = []
        self._places: list[str] = []
        self._kept = False

    @property
    def concurrency(self) -> int:
        """Cases run at once over all workers."""
        return self.workers * self.concurrency_per_worker

    @property
    def jobs_per_worker(self) -> int:
        """Jobs a worker holds at a time: those running and those queued there."""
        return self.concurrency_per_worker + self.queued_per_worker

    async def start(self) -> None:
        """Connect to the cluster and start the workers; they stay until ``shutdown()``."""
        await self._ensure_actors()
        self._kept = True

    def shutdown(self) -> None:
        """Stop the workers (a run in progress on them loses its cases in flight)."""
        ray = _ray()
        for actor in self._actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)
        self._actors, self._places, self._kept = [], [], False

    async def locations(self) -> list[tuple[str, int]]:
        """Each worker's node address and process id (now: a restarted worker has a new one)."""
        await self._ensure_actors()
        return list(await asyncio.gather(*(a.where.remote() for a in self._actors)))

    async def execute(
        self, jobs: Iterator[CaseJob], environment: CaseEnvironment, deliver: Deliver
    ) -> None:
        """Run the jobs on the workers; the first case error stops the others and propagates."""
        recipe = environment.recipe
        if recipe is None:
            raise ConfigurationError("RayExecutor needs the run's recipe (use evaluate())")
        owned = not self._actors
        await self._ensure_actors()
        ray = _ray()
        box = [ray.put(recipe)]
        try:
            await _Dispatch(self, box, environment, deliver).run(jobs)
        finally:
            environment.telemetry.count_dropped_elsewhere(await self._close_run(recipe.run_id))
            if owned and not self._kept:
                self.shutdown()

    async def _ensure_actors(self) -> None:
        if self._actors:
            return
        ray = _ray()
        _connect(ray, self.address)
        actor_class = ray.remote(CaseWorker)
        options: dict[str, Any] = {
            "max_concurrency": self.jobs_per_worker + 2,  # + the control calls
            "max_restarts": -1,
            "max_task_retries": 0,  # a lost case is retried here, where it is counted
            "num_cpus": self.num_cpus,
            "scheduling_strategy": "SPREAD",
            **({"runtime_env": self.runtime_env} if self.runtime_env else {}),
            **self.actor_options,
        }
        actors = [
            actor_class.options(**options).remote(self.worker_setup, self.concurrency_per_worker)
            for _ in range(self.workers)
        ]
        places = await asyncio.gather(*(a.where.remote() for a in actors))
        self._actors = actors
        self._places = [f"{address} pid {pid}" for address, pid in places]

    async def _close_run(self, run_id: str) -> int:
        """Have every worker flush and close the run; the spans their exporters dropped.

        Bounded: a dead or hung worker is not waited for past ``CLOSE_DEADLINE``.
        """
        calls = [asyncio.ensure_future(_awaited(a.close_run.remote(run_id))) for a in self._actors]
        if not calls:
            return 0
        _, late = await asyncio.wait(calls, timeout=CLOSE_DEADLINE)
        for call in late:
            call.cancel()
        closed = await asyncio.gather(*calls, return_exceptions=True)
        return sum(dropped for dropped in closed if isinstance(dropped, int))


class _Dispatch:
    """One run's jobs over the workers: bounded in flight, in batches, lost attempts run again.

    Each worker takes ``concurrency_per_worker + queued_per_worker`` jobs at a
    time. Whenever some are back the driver sends their worker one call with as
    many new jobs, and reads the call's reports as they come: the places of
    cases that finished together are refilled together.
    """

    def __init__(
        self,
        executor: RayExecutor,
        box: list[Any],
        environment: CaseEnvironment,
        deliver: Deliver,
    ) -> None:
        self.executor = executor
        self.box = box
        self.environment = environment
        self.deliver = deliver
        self.run_id = environment.run_id
        self.free = dict.fromkeys(range(executor.workers), executor.jobs_per_worker)
        self.retry: deque[_Attempt] = deque()
        self.reading: dict[asyncio.Future[Report | None], _Call] = {}
        #: What each case in progress had made when its worker last reported.
        self.progress: dict[CaseKey, Progress] = {}
        #: Workers that lost a case: sent nothing until they answer again (retired: never).
        self.reviving: dict[asyncio.Future[int], int] = {}
        self.retired: set[int] = set()
        self.out: set[CaseKey] = set()  # the jobs sent and not back
        self.exhausted = False  # the plan has no more jobs

    async def run(self, jobs: Iterator[CaseJob]) -> None:
        """Submit, wait, deliver until no job is left; cancel what is in flight on the way out."""
        try:
            while True:
                self._submit(jobs)
                waiting_for_workers = bool(self.reviving) and (self.retry or not self.exhausted)
                if not self.reading and not waiting_for_workers:
                    for job, lost in self.retry:  # no worker came back to run them
                        self.deliver(_given_up(job, lost, self.environment))
                    return
                waiting: set[asyncio.Future[Any]] = {*self.reading, *self.reviving}
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    if future in self.reviving:
                        self._revived(self.reviving.pop(future), future)
                    else:
                        self._read(future)
        finally:
            self._cancel()

    def _submit(self, jobs: Iterator[CaseJob]) -> None:
        """Fill the free places of the workers that answer, dealt round, one call per worker."""
        unavailable = {*self.reviving.values(), *self.retired}
        free = {w: n for w, n in self.free.items() if n and w not in unavailable}
        batches: dict[int, list[_Attempt]] = {w: [] for w in free}
        places = (w for p in range(max(free.values(), default=0)) for w, n in free.items() if n > p)
        for worker in places:
            attempt = self._next(jobs)
            if attempt is None:
                break
            batches[worker].append(attempt)
        for worker, batch in batches.items():
            if batch:
                self._send(worker, batch)

    def _send(self, worker: int, batch: list[_Attempt]) -> None:
        self.free[worker] -= len(batch)
        self.out.update(a.job.key for a in batch)
        jobs = [a.job for a in batch]
        stream = self.executor._actors[worker].run.remote(self.run_id, self.box, jobs)
        self._follow(_Call(worker, stream, dict(enumerate(batch))))

    def _follow(self, call: _Call) -> None:
        """Read the call's next report."""
        self.reading[asyncio.ensure_future(_next_report(call.stream))] = call

    def _next(self, jobs: Iterator[CaseJob]) -> _Attempt | None:
        """A lost job to run again first, else the plan's next job (None: none left)."""
        if self.retry:
            return self.retry.popleft()
        job = next(jobs, None)
        if job is None:
            self.exhausted = True
            return None
        return _Attempt(job, ())

    def _read(self, future: asyncio.Future[Report | None]) -> None:
        call = self.reading.pop(future)
        try:
            report = future.result()
        except _lost_errors() as exc:
            self._lost(call, exc)
            return
        except _ray().exceptions.RayTaskError as exc:  # run_case raised: as it would locally
            raise exc.as_instanceof_cause() from None
        if report is None:  # the stream ended: every job of the call came back
            return
        self.progress.update((k, p) for k, p in report.running.items() if k in self.out)
        for index, outcome in report.finished:
            attempt = call.pending.pop(index)
            self.free[call.worker] += 1
            self.out.discard(attempt.job.key)
            self.progress.pop(attempt.job.key, None)
            if attempt.lost:
                outcome = CaseOutcome(
                    outcome.result, outcome.position, outcome.unrecorded_calls, attempt.lost
                )
            self.deliver(outcome)
        if call.pending:
            self._follow(call)

    def _revived(self, worker: int, answered: asyncio.Future[int]) -> None:
        """The worker answers again (its free slots are those not out), or it is retired."""
        if answered.exception() is not None:
            self.retired.add(worker)
            return
        out = sum(len(c.pending) for c in self.reading.values() if c.worker == worker)
        self.free[worker] = self.executor.jobs_per_worker - out

    def _lost(self, call: _Call, exc: BaseException) -> None:
        """Every job of the call still out is lost with its worker: run again or given up."""
        worker = call.worker
        if worker not in self.reviving.values():
            self.reviving[asyncio.ensure_future(_revive(self.executor, worker))] = worker
        place = f"worker {worker} ({self.executor._places[worker]})"
        for attempt in call.pending.values():
            job = attempt.job
            self.out.discard(job.key)
            seen = self.progress.pop(job.key, None)
            lost = (
                *attempt.lost,
                LostAttempt(
                    case_id=job.key.case_id,
                    trial=job.key.trial,
                    attempt=len(attempt.lost) + 1,
                    worker=place,
                    error=_first_line(exc),
                    calls=seen.calls if seen else None,
                    cost_usd=seen.cost_usd if seen else None,
                ),
            )
            if len(lost) < self.executor.max_attempts:
                self.retry.append(_Attempt(job, lost))
            else:
                self.deliver(_given_up(job, lost, self.environment))

    def _cancel(self) -> None:
        ray = _ray()
        for call in self.reading.values():
            with contextlib.suppress(Exception):
                ray.cancel(call.stream)
        futures: list[asyncio.Future[Any]] = [*self.reading, *self.reviving]
        for future in futures:
            future.cancel()


async def _next_report(stream: Any) -> Report | None:
    """The call's next report (None: the call is over); a lost worker raises here."""
    try:
        ref = await stream.__anext__()
    except StopAsyncIteration:
        return None
    report: Report = await ref
    return report


async def _revive(executor: RayExecutor, worker: int, patience: float = 120.0) -> int:
    """Wait until Ray has restarted ``worker`` (it answers); its new place is recorded."""
    actor, waited, pause = executor._actors[worker], 0.0, 0.1
    while True:
        try:
            address, pid = await actor.where.remote()
        except _lost_errors():
            if waited >= patience:
                raise
            await asyncio.sleep(pause)
            waited, pause = waited + pause, min(pause * 2, 2.0)
        else:
            executor._places[worker] = f"{address} pid {pid}"
            return worker


def _given_up(
    job: CaseJob, lost: tuple[LostAttempt, ...], environment: CaseEnvironment
) -> CaseOutcome:
    """The result of a case every attempt of which was lost: an error, as a failed task is."""
    error = f"WorkerLost: {len(lost)} attempts lost with their worker ({lost[-1].error})"
    result = CaseResult(
        case=job.case,
        case_id=job.key.case_id,
        output=None,
        scores=[_unscored(m.name, f"no output to score: {error}") for m in environment.metrics],
        interactions=[],
        error=error,
        duration=0.0,
        started_at=datetime.now(UTC),
        trial=job.key.trial,
    )
    return CaseOutcome(result, job.position, 0, lost)


def _connect(ray: Any, address: str | None) -> None:
    """Join the cluster at ``address`` unless this process already is connected to one."""
    if ray.is_initialized():
        return
    try:
        ray.init(address=address or "auto", namespace="evaltrace")
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError... with long texts
        raise ConfigurationError(
            f"cannot connect to the Ray cluster at {address or 'auto'}: {_first_line(exc)}"
        ) from None


async def _awaited(ref: Any) -> Any:
    return await ref


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


def _lost_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean the attempt died with its worker (not that the case failed)."""
    errors = _ray().exceptions
    return (errors.RayActorError, errors.ActorUnavailableError, errors.WorkerCrashedError)


def _ray() -> Any:
    return require("ray", "ray")
