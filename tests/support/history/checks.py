"""Shared pieces of the run-store tests: sample runs, worker processes, and the checks both
backends must pass (``tests/unit/test_history_sqlite.py``, ``tests/integration/
test_history_postgres.py``).

Worker functions live here, at module level, so ``multiprocessing``'s spawn start method
can import them in a fresh interpreter.
"""

from __future__ import annotations

import multiprocessing
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier, Event
from typing import Any

import pytest

from evaltrace.history import (
    SCHEMA_VERSION,
    AmbiguousRunRefError,
    MetricRecord,
    RunNotFoundError,
    RunRecord,
    RunRefError,
    RunStatus,
    StoreError,
    StoreSchemaError,
    UsageRecord,
    open_store,
)

#: Runs SQL (``?`` placeholders) straight on a store's database, bypassing the store,
#: in a transaction of its own; returns the rows of a query (none for other statements).
Execute = Callable[[str, Sequence[object]], list[tuple[object, ...]]]

__all__ = [
    "FAILING_RESULT_TRIGGER",
    "JOIN_TIMEOUT",
    "V1_DDL",
    "Execute",
    "begin_and_wait",
    "check_concurrent_writers",
    "check_failed_finish_leaves_run_running",
    "check_failed_migration_changes_nothing",
    "check_killed_run_reads_incomplete",
    "check_list_filters",
    "check_write_rules",
    "check_migrates_v1",
    "check_newer_store_refused",
    "check_resolve",
    "check_round_trip",
    "finished",
    "started",
    "write_runs",
]

#: Seconds a worker process may take before the test calls it hung (a guard, not a measure).
JOIN_TIMEOUT = 600.0
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# The schema that evaltrace's history store version 1 wrote, verbatim, per backend.
V1_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL,"
        " host TEXT NOT NULL, pid INTEGER NOT NULL, git_commit TEXT, dataset_fingerprint TEXT,"
        " task_models TEXT NOT NULL, judge_models TEXT NOT NULL, results_path TEXT,"
        " trace_id TEXT, trace_url TEXT, started_at TEXT NOT NULL, finished_at TEXT,"
        " git_dirty INTEGER)",
        "CREATE TABLE metrics (run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,"
        " metric TEXT NOT NULL, mean REAL, count INTEGER NOT NULL, failures INTEGER NOT NULL,"
        " pass_rate REAL, PRIMARY KEY (run_id, metric))",
        "CREATE TABLE usage (run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,"
        " purpose TEXT NOT NULL, model TEXT NOT NULL, calls INTEGER NOT NULL,"
        " errors INTEGER NOT NULL, tokens INTEGER NOT NULL, cost_usd REAL, latency_p50 REAL,"
        " latency_p95 REAL, PRIMARY KEY (run_id, purpose, model))",
    ),
    "postgresql": (
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL,"
        " host TEXT NOT NULL, pid INTEGER NOT NULL, git_commit TEXT, dataset_fingerprint TEXT,"
        " task_models TEXT NOT NULL, judge_models TEXT NOT NULL, results_path TEXT,"
        " trace_id TEXT, trace_url TEXT, started_at TIMESTAMPTZ NOT NULL,"
        " finished_at TIMESTAMPTZ, git_dirty BOOLEAN)",
        "CREATE TABLE metrics (run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,"
        " metric TEXT NOT NULL, mean DOUBLE PRECISION, count INTEGER NOT NULL,"
        " failures INTEGER NOT NULL, pass_rate DOUBLE PRECISION, PRIMARY KEY (run_id, metric))",
        "CREATE TABLE usage (run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,"
        " purpose TEXT NOT NULL, model TEXT NOT NULL, calls INTEGER NOT NULL,"
        " errors INTEGER NOT NULL, tokens BIGINT NOT NULL, cost_usd DOUBLE PRECISION,"
        " latency_p50 DOUBLE PRECISION, latency_p95 DOUBLE PRECISION,"
        " PRIMARY KEY (run_id, purpose, model))",
    ),
}


# A trigger that makes every insert into run_results fail (the last write of ``finish``).
FAILING_RESULT_TRIGGER: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE TRIGGER no_results BEFORE INSERT ON run_results "
        "BEGIN SELECT RAISE(ABORT, 'results refused'); END",
    ),
    "postgresql": (
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'results refused'; END $$",
        "CREATE TRIGGER no_results BEFORE INSERT ON run_results "
        "FOR EACH ROW EXECUTE FUNCTION refuse()",
    ),
}


def started(
    run_id: str,
    *,
    name: str = "qa",
    at: datetime = T0,
    commit: str | None = None,
    dataset: str | None = "ab12",
) -> RunRecord:
    """A run as ``begin`` takes it (this process, no git lookup)."""
    return RunRecord(
        run_id=run_id,
        name=name,
        started_at=at,
        git_commit=commit,
        git_dirty=None if commit is None else False,
        dataset_fingerprint=dataset,
        task_models=("task-model",),
        judge_models=("judge-model",),
    )


def finished(run: RunRecord, *, seed: int = 1) -> RunRecord:
    """``run`` with its end, metric summaries and usage (values derived from ``seed``)."""
    return run.model_copy(
        update={
            "status": RunStatus.COMPLETE,
            "finished_at": run.started_at + timedelta(seconds=seed),
            "metrics": (
                MetricRecord(metric="accuracy", mean=seed / 100, count=seed, failures=0),
                MetricRecord(
                    metric="faithfulness",
                    mean=None,
                    count=0,
                    failures=seed,
                    pass_rate=0.5,
                    ci_low=0.25,
                    ci_high=0.75,
                ),
            ),
            "usage": (
                UsageRecord(
                    purpose="semantic_evaluation",
                    model="judge-model",
                    calls=seed,
                    errors=1,
                    tokens=10 * seed,
                    cost_usd=None,
                    latency_p50=0.5,
                    latency_p95=None,
                ),
                UsageRecord(
                    purpose="task",
                    model=f"model-{seed}",
                    calls=2 * seed,
                    errors=0,
                    tokens=1000 * seed,
                    cost_usd=0.001 * seed,
                    latency_p50=0.25,
                    latency_p95=1.5,
                ),
            ),
            "results_path": f"/results/{run.run_id}.json",
            "trace_id": f"{seed:032x}",
        }
    )


# -- worker processes (spawned) ------------------------------------------------------------


def write_runs(url: str, worker: int, count: int, barrier: Barrier) -> None:
    """Open the store, wait for the other workers, then begin and finish ``count`` runs."""
    barrier.wait()
    with open_store(url) as store:
        for index in range(count):
            seed = worker * 1000 + index + 1
            run = started(f"w{worker}-r{index}", name=f"worker-{worker}", at=T0)
            store.begin(run)
            store.finish(run.run_id, finished(run, seed=seed), RunStatus.COMPLETE)


def begin_and_wait(url: str, run_id: str, begun: Event) -> None:
    """Begin a run, say so, then wait to be killed."""
    with open_store(url) as store:
        store.begin(RunRecord(run_id=run_id, name="doomed", started_at=datetime.now(UTC)))
    begun.set()
    time.sleep(JOIN_TIMEOUT)


# -- checks both backends run --------------------------------------------------------------


def check_concurrent_writers(url: str, *, workers: int = 4, runs_each: int = 15) -> None:
    """Several processes write at once (opening a new store together): no run lost or mixed."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    processes = [
        context.Process(target=write_runs, args=(url, worker, runs_each, barrier))
        for worker in range(workers)
    ]
    _run_all(processes)
    with open_store(url) as store:
        runs = store.list_runs(limit=None)
    assert len(runs) == workers * runs_each
    assert {r.run_id for r in runs} == {
        f"w{w}-r{i}" for w in range(workers) for i in range(runs_each)
    }
    for run in runs:
        worker, index = (int(n) for n in re.findall(r"\d+", run.run_id))
        expected = finished(
            started(run.run_id, name=f"worker-{worker}"), seed=worker * 1000 + index + 1
        )
        assert run.status is RunStatus.COMPLETE
        assert run.name == expected.name
        assert run.metrics == expected.metrics
        assert run.usage == expected.usage


def check_killed_run_reads_incomplete(url: str) -> None:
    """A process that began a run and was SIGKILLed leaves a run that reads ``incomplete``."""
    context = multiprocessing.get_context("spawn")
    begun = context.Event()
    process = context.Process(target=begin_and_wait, args=(url, "doomed-1", begun))
    process.start()
    try:
        assert begun.wait(JOIN_TIMEOUT), "the worker never began its run"
        with open_store(url) as store:
            live = store.get("doomed-1")
            assert live is not None and live.status is RunStatus.RUNNING
            assert live.pid == process.pid
    finally:
        process.kill()
        process.join(JOIN_TIMEOUT)
    assert process.exitcode == -9
    with open_store(url) as store:
        dead = store.get("doomed-1")
        listed = store.list_runs(name="doomed")
    assert dead is not None and dead.status is RunStatus.INCOMPLETE
    assert [r.status for r in listed] == [RunStatus.INCOMPLETE]
    assert dead.metrics == () and dead.finished_at is None


def _run_all(processes: Sequence[Any]) -> None:
    for process in processes:
        process.start()
    for process in processes:
        process.join(JOIN_TIMEOUT)
    for process in processes:
        if process.is_alive():
            process.kill()
    assert [p.exitcode for p in processes] == [0] * len(processes)


def check_round_trip(url: str) -> None:
    """begin, then finish with the full result: every field reads back as written."""
    run = started("run-1", at=datetime.now(UTC), commit="c0ffee" * 6 + "beef")
    with open_store(url) as store:
        store.begin(run)
        assert store.get("run-1") == run
        done = finished(run, seed=7)
        store.finish("run-1", done, RunStatus.COMPLETE, result_json='{"name": "qa ✓"}')
        assert store.get("run-1") == done.model_copy(update={"has_result": True})
        assert store.load_result("run-1") == '{"name": "qa ✓"}'
        assert store.get("missing") is None
        assert store.schema_version() == SCHEMA_VERSION


def check_write_rules(url: str) -> None:
    """Twice begun, twice finished, finished as running, finished never begun."""
    run = started("run-2")
    with open_store(url) as store:
        store.begin(run)
        with pytest.raises(StoreError, match="already recorded"):
            store.begin(run)
        with pytest.raises(StoreError, match="cannot be 'running'"):
            store.finish("run-2", run, RunStatus.RUNNING)
        with pytest.raises(StoreError, match="of run 'run-2'"):
            store.finish("other", run, RunStatus.COMPLETE)
        store.finish("run-2", finished(run), RunStatus.INTERRUPTED)
        with pytest.raises(StoreError, match="already finished"):
            store.finish("run-2", finished(run), RunStatus.COMPLETE)
        got = store.get("run-2")
        assert got is not None and got.status is RunStatus.INTERRUPTED
        assert store.load_result("run-2") is None
        never_begun = finished(started("run-3"), seed=3)
        store.finish("run-3", never_begun, RunStatus.COMPLETE)
        assert store.get("run-3") == never_begun
        with pytest.raises(RunNotFoundError):
            store.load_result("nope")


def check_failed_finish_leaves_run_running(url: str, execute: Execute, backend: str) -> None:
    """A finish whose last write fails writes nothing: the run stays running, no summaries."""
    run = started("run-4", at=datetime.now(UTC))
    with open_store(url) as store:
        store.begin(run)
        for statement in FAILING_RESULT_TRIGGER[backend]:
            execute(statement, ())
        with pytest.raises(StoreError, match="results refused"):
            store.finish("run-4", finished(run), RunStatus.COMPLETE, result_json="{}")
        assert store.get("run-4") == run
        store.finish("run-4", finished(run), RunStatus.COMPLETE)  # without the result: fine
        assert store.get("run-4") == finished(run)


def check_list_filters(url: str) -> None:
    """list_runs: newest first, by name, dataset prefix, since, commit prefix, limit."""
    runs = [
        started("a1", name="qa", at=T0, commit="aaaa1111", dataset="d0d0"),
        started("a2", name="qa", at=T0 + timedelta(hours=1), commit="bbbb2222", dataset="d0d0"),
        started("b1", name="rag", at=T0 + timedelta(hours=2), commit="aaaa1111", dataset="e1e1"),
        started("b2", name="rag", at=T0 + timedelta(hours=3), commit=None, dataset=None),
    ]
    with open_store(url) as store:
        for run in runs:
            store.begin(run)
            store.finish(run.run_id, finished(run), RunStatus.COMPLETE)

        def ids(**filters: Any) -> list[str]:
            return [r.run_id for r in store.list_runs(**filters)]

        assert ids() == ["b2", "b1", "a2", "a1"]
        assert ids(name="qa") == ["a2", "a1"]
        assert ids(dataset="d0") == ["a2", "a1"]
        assert ids(dataset="E1E1") == ["b1"]
        assert ids(commit="aaaa") == ["b1", "a1"]
        assert ids(commit="bbbb2222", name="qa") == ["a2"]
        assert ids(since=T0 + timedelta(hours=2)) == ["b2", "b1"]
        assert ids(since=(T0 + timedelta(hours=1)).replace(tzinfo=None)) == ["b2", "b1", "a2"]
        assert ids(limit=2) == ["b2", "b1"]
        assert ids(name="nobody") == []
        assert store.list_runs()[0] == finished(runs[3])


def check_resolve(url: str) -> None:
    """Run ids, unique prefixes, NAME@latest and NAME@COMMIT; clear errors otherwise."""
    with open_store(url) as store:
        for run_id, at, commit in (
            ("5f3a0001", 0, "aaaa1111"),
            ("5f3a0002", 1, "aaaa1111"),
            ("77b00003", 2, "abcd2222"),
        ):
            run = started(run_id, at=T0 + timedelta(hours=at), commit=commit * 5)
            store.begin(run)
            store.finish(run_id, finished(run), RunStatus.COMPLETE)
        store.begin(started("99990004", at=T0 + timedelta(hours=9), commit="abcd2222" * 5))
        assert store.resolve("5f3a0001").run_id == "5f3a0001"
        assert store.resolve("77b").run_id == "77b00003"
        assert store.resolve("qa@latest").run_id == "77b00003"  # the newer one is running
        assert store.resolve("qa@aaaa").run_id == "5f3a0002"  # newest of two at that commit
        assert store.resolve("qa@ABCD2222").run_id == "77b00003"
        with pytest.raises(AmbiguousRunRefError, match="5f3a0002, 5f3a0001"):
            store.resolve("5f3a")
        with pytest.raises(AmbiguousRunRefError, match="aaaa1111aaaa, abcd2222abcd"):
            store.resolve("qa@a")
        with pytest.raises(RunNotFoundError, match="no run with id 'zzz'"):
            store.resolve("zzz")
        with pytest.raises(RunNotFoundError, match="'rag'"):
            store.resolve("rag@latest")
        with pytest.raises(RunNotFoundError, match="at commit 'eeee'"):
            store.resolve("qa@eeee")
        with pytest.raises(RunRefError, match="not 'latest' or a commit"):
            store.resolve("qa@main")
        with pytest.raises(RunRefError, match="expected NAME@latest"):
            store.resolve("@latest")


def check_migrates_v1(url: str, execute: Execute, backend: str) -> None:
    """A store written by schema version 1 opens migrated to the current one, data intact."""
    for statement in V1_DDL[backend]:
        execute(statement, ())
    execute("INSERT INTO schema_version (version) VALUES (?)", (1,))
    execute(
        "INSERT INTO runs (run_id, name, status, host, pid, git_commit, dataset_fingerprint,"
        " task_models, judge_models, results_path, trace_id, trace_url, started_at,"
        " finished_at, git_dirty) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "old-1",
            "qa",
            "complete",
            "ci-7",
            4242,
            "feed" * 10,
            "ab12",
            '["t"]',
            '["j"]',
            "/r/old.json",
            "0" * 32,
            None,
            *_v1_times(backend),
            True,
        ),
    )
    execute(
        "INSERT INTO metrics (run_id, metric, mean, count, failures, pass_rate)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        ("old-1", "accuracy", 0.75, 4, 1, None),
    )
    execute(
        "INSERT INTO usage (run_id, purpose, model, calls, errors, tokens, cost_usd,"
        " latency_p50, latency_p95) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("old-1", "task", "t", 4, 0, 400, 0.5, 0.1, 0.2),
    )
    with open_store(url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        old = store.get("old-1")
        assert old is not None
        assert (old.status, old.host, old.pid, old.git_dirty) == (
            RunStatus.COMPLETE,
            "ci-7",
            4242,
            True,
        )
        assert (old.started_at, old.finished_at) == (T0, T0 + timedelta(minutes=5))
        assert old.metrics == (MetricRecord(metric="accuracy", mean=0.75, count=4, failures=1),)
        assert old.usage[0].tokens == 400 and old.usage[0].cost_usd == 0.5
        assert (old.task_models, old.judge_models, old.has_result) == (("t",), ("j",), False)
        assert store.resolve("qa@feed").run_id == "old-1"
        run = started("new-1", at=T0 + timedelta(days=1))
        store.begin(run)
        store.finish("new-1", finished(run), RunStatus.COMPLETE, result_json="{}")
        assert [r.run_id for r in store.list_runs()] == ["new-1", "old-1"]
    with open_store(url) as again:  # already current: opens as it is
        assert again.schema_version() == SCHEMA_VERSION and again.load_result("new-1") == "{}"


def check_failed_migration_changes_nothing(
    url: str, execute: Execute, backend: str, driver_error: type[Exception]
) -> None:
    """A migration that fails part-way is rolled back whole: the store stays at version 1."""
    for statement in V1_DDL[backend]:
        execute(statement, ())
    execute("INSERT INTO schema_version (version) VALUES (?)", (1,))
    execute("CREATE INDEX runs_commit ON runs (git_commit)", ())  # migration 2's third index
    with pytest.raises(StoreError, match="migrating") as failed:
        open_store(url)
    assert "\n" not in str(failed.value)
    assert execute("SELECT version FROM schema_version", ()) == [(1,)]
    with pytest.raises(driver_error):  # migration 2's ALTER TABLE was rolled back
        execute("SELECT ci_low FROM metrics", ())
    execute("CREATE TABLE run_results (x INTEGER)", ())  # and so was its CREATE TABLE
    execute("DROP TABLE run_results", ())
    execute("DROP INDEX runs_commit", ())
    with open_store(url) as store:
        assert store.schema_version() == SCHEMA_VERSION


def check_newer_store_refused(url: str, execute: Execute) -> None:
    """A store at a later schema version is refused with one clear line, and left alone."""
    with open_store(url) as store:
        store.begin(started("run-9"))
    execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreSchemaError) as refused:
        open_store(url)
    message = str(refused.value)
    assert "\n" not in message
    assert f"schema version {SCHEMA_VERSION + 1}" in message and "newer evaltrace" in message
    assert "upgrade evaltrace" in message
    execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
    with open_store(url) as store:
        assert store.get("run-9") is not None


def _v1_times(backend: str) -> tuple[object, object]:
    end = T0 + timedelta(minutes=5)
    if backend == "sqlite":
        return T0.isoformat(timespec="microseconds"), end.isoformat(timespec="microseconds")
    return T0, end
