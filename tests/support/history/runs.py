"""Run-history checks through ``evaluate`` itself, for both backends (SQLite and PostgreSQL).

Worker functions are at module level so ``multiprocessing``'s spawn start method can
import them in a fresh interpreter.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path

from evaltrace import Case, EvaluationResult, ExactMatch, evaluate_sync
from evaltrace._values import dataset_fingerprint
from evaltrace.history import RunStatus, load_run_result, open_store

__all__ = [
    "check_concurrent_evaluations",
    "check_killed_evaluation_reads_incomplete",
    "cases_for",
    "evaluate_runs",
    "evaluate_until_killed",
]

#: Seconds a worker process may take before the test calls it hung (a guard, not a measure).
JOIN_TIMEOUT = 600.0
_CASES = 4


def cases_for(worker: int, index: int) -> list[Case]:
    """Cases of which ``(worker + index) % 5`` are answered right (the others' outputs differ)."""
    right = (worker + index) % (_CASES + 1)
    return [
        Case(
            id=f"c{n}",
            input=f"worker {worker} run {index} question {n}",
            output="yes" if n < right else "no",
            expected="yes",
        )
        for n in range(_CASES)
    ]


def evaluate_runs(
    url: str, worker: int, count: int, barrier: Barrier, done: Queue[tuple[str, str, float]]
) -> None:
    """Wait for the other workers, then evaluate ``count`` runs into the store at ``url``."""
    barrier.wait()
    for index in range(count):
        result = evaluate_sync(
            cases_for(worker, index), [ExactMatch()], name=f"worker-{worker}", store=url
        )
        assert result.warnings == [], result.warnings
        mean = result.metrics["exact_match"].mean
        assert mean is not None
        done.put((result.run_id, result.name, mean))


def evaluate_until_killed(url: str, results_path: str, begun: Event) -> None:
    """Evaluate cases whose second one never finishes; say so once the first one has."""

    def task(question: object) -> str:
        if str(question).endswith("0"):
            return "answer"
        begun.set()
        time.sleep(JOIN_TIMEOUT)
        return "never"

    evaluate_sync(
        [Case(id=f"q{n}", input=f"question {n}", expected="answer") for n in range(3)],
        [ExactMatch()],
        task=task,
        name="doomed",
        store=url,
        results_path=results_path,
        max_concurrency=1,
    )


def check_concurrent_evaluations(url: str, *, workers: int = 2, runs_each: int = 6) -> None:
    """Processes evaluating into one store at once: every run there, complete, with its scores."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    done: Queue[tuple[str, str, float]] = context.Queue()
    processes = [
        context.Process(target=evaluate_runs, args=(url, worker, runs_each, barrier, done))
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    reported = [done.get(timeout=JOIN_TIMEOUT) for _ in range(workers * runs_each)]
    for process in processes:
        process.join(JOIN_TIMEOUT)
        assert process.exitcode == 0, process.exitcode
    with open_store(url) as store:
        runs = {run.run_id: run for run in store.list_runs(limit=None)}
    assert set(runs) == {run_id for run_id, _, _ in reported}
    for run_id, name, mean in reported:
        run = runs[run_id]
        assert (run.name, run.status) == (name, RunStatus.COMPLETE)
        assert [(m.metric, m.mean, m.count) for m in run.metrics] == [("exact_match", mean, 4)]
    fingerprints = {
        dataset_fingerprint(cases_for(w, i)) for w in range(workers) for i in range(runs_each)
    }
    assert {run.dataset_fingerprint for run in runs.values()} == fingerprints


def check_killed_evaluation_reads_incomplete(url: str, tmp_path: Path) -> None:
    """An evaluation SIGKILLed mid-way: its run reads ``incomplete``; its stream still loads."""
    context = multiprocessing.get_context("spawn")
    begun = context.Event()
    stream = tmp_path / "doomed.cases.jsonl"
    process = context.Process(target=evaluate_until_killed, args=(url, str(stream), begun))
    process.start()
    try:
        assert begun.wait(JOIN_TIMEOUT), "the evaluation never reached its second case"
        with open_store(url) as store:
            [live] = store.list_runs(name="doomed")
        assert live.status is RunStatus.RUNNING and live.pid == process.pid
    finally:
        process.kill()
        process.join(JOIN_TIMEOUT)
    assert process.exitcode == -9
    with open_store(url) as store:
        [dead] = store.list_runs(name="doomed")
        assert dead.status is RunStatus.INCOMPLETE
        assert dead.metrics == () and dead.finished_at is None
        assert dead.results_path == str(stream.absolute())
        partial: EvaluationResult = load_run_result(dead.run_id, store)
    assert not partial.complete
    assert [c.case_id for c in partial.cases] == ["q0"]
