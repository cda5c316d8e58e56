"""The SQL the store runs, and the mapping between rows and ``RunRecord``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from evaltrace.history._backends import Backend, Row
from evaltrace.history._record import MetricRecord, RunRecord, UsageRecord

__all__ = [
    "INSERT_METRIC",
    "INSERT_RESULT",
    "INSERT_RUN",
    "INSERT_USAGE",
    "SELECT_METRICS",
    "SELECT_RUNS",
    "SELECT_USAGE",
    "UPDATE_FINISHED_RUN",
    "finish_params",
    "metric_rows",
    "record_of",
    "run_params",
    "usage_rows",
]

_RUN_NAMES = (
    "run_id name status started_at finished_at host pid git_commit git_dirty "
    "dataset_fingerprint task_models judge_models results_path trace_id trace_url"
).split()
_METRIC_NAMES = "metric mean count failures pass_rate ci_low ci_high".split()
_USAGE_NAMES = "purpose model calls errors tokens cost_usd latency_p50 latency_p95".split()
_RUN_COLUMNS = ", ".join(_RUN_NAMES)
_METRIC_COLUMNS = ", ".join(_METRIC_NAMES)
_USAGE_COLUMNS = ", ".join(_USAGE_NAMES)

SELECT_RUNS = (
    f"SELECT {', '.join('r.' + c for c in _RUN_NAMES)}, "
    "EXISTS (SELECT 1 FROM run_results x WHERE x.run_id = r.run_id) FROM runs r"
)
SELECT_METRICS = f"SELECT run_id, {_METRIC_COLUMNS} FROM metrics WHERE run_id IN ({{}})"
SELECT_USAGE = f"SELECT run_id, {_USAGE_COLUMNS} FROM usage WHERE run_id IN ({{}})"

INSERT_RUN = (
    f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({', '.join('?' * 15)}) "
    "ON CONFLICT (run_id) DO NOTHING"
)
# ``begin``'s process, start time, git state and (when given) dataset and models stay.
UPDATE_FINISHED_RUN = (
    "UPDATE runs SET name = ?, status = ?, finished_at = ?, "
    "git_dirty = CASE WHEN git_commit IS NULL THEN ? ELSE git_dirty END, "
    "git_commit = COALESCE(git_commit, ?), "
    "dataset_fingerprint = COALESCE(?, dataset_fingerprint), "
    "task_models = COALESCE(?, task_models), judge_models = COALESCE(?, judge_models), "
    "results_path = ?, trace_id = ?, trace_url = ? "
    "WHERE run_id = ? AND status = 'running'"
)
INSERT_METRIC = f"INSERT INTO metrics (run_id, {_METRIC_COLUMNS}) VALUES ({', '.join('?' * 8)})"
INSERT_USAGE = f"INSERT INTO usage (run_id, {_USAGE_COLUMNS}) VALUES ({', '.join('?' * 9)})"
INSERT_RESULT = "INSERT INTO run_results (run_id, encoding, data) VALUES (?, ?, ?)"


def run_params(backend: Backend, run: RunRecord) -> tuple[object, ...]:
    """``run``'s values for ``INSERT_RUN``."""
    return (
        run.run_id,
        run.name,
        run.status.value,
        backend.to_time(run.started_at),
        None if run.finished_at is None else backend.to_time(run.finished_at),
        run.host,
        run.pid,
        run.git_commit,
        run.git_dirty,
        run.dataset_fingerprint,
        json.dumps(list(run.task_models)),
        json.dumps(list(run.judge_models)),
        run.results_path,
        run.trace_id,
        run.trace_url,
    )


def finish_params(backend: Backend, run: RunRecord) -> tuple[object, ...]:
    """``run``'s values for ``UPDATE_FINISHED_RUN``."""
    return (
        run.name,
        run.status.value,
        None if run.finished_at is None else backend.to_time(run.finished_at),
        run.git_dirty,
        run.git_commit,
        run.dataset_fingerprint,
        json.dumps(list(run.task_models)) if run.task_models else None,
        json.dumps(list(run.judge_models)) if run.judge_models else None,
        run.results_path,
        run.trace_id,
        run.trace_url,
        run.run_id,
    )


def metric_rows(run: RunRecord) -> list[tuple[object, ...]]:
    """``run``'s metric summaries for ``INSERT_METRIC``."""
    return [
        (run.run_id, m.metric, m.mean, m.count, m.failures, m.pass_rate, m.ci_low, m.ci_high)
        for m in run.metrics
    ]


def usage_rows(run: RunRecord) -> list[tuple[object, ...]]:
    """``run``'s usage by purpose for ``INSERT_USAGE``."""
    return [
        (run.run_id, u.purpose, u.model, u.calls, u.errors, u.tokens, u.cost_usd)
        + (u.latency_p50, u.latency_p95)
        for u in run.usage
    ]


def record_of(
    backend: Backend, row: Row, metrics: Sequence[Row], usage: Sequence[Row]
) -> RunRecord:
    """The record of one ``SELECT_RUNS`` row, with its metric and usage rows (run_id first)."""
    values: dict[str, Any] = dict(zip(_RUN_NAMES, row, strict=False))
    values["started_at"] = backend.from_time(values["started_at"])
    if values["finished_at"] is not None:
        values["finished_at"] = backend.from_time(values["finished_at"])
    if values["git_dirty"] is not None:
        values["git_dirty"] = bool(values["git_dirty"])
    values["task_models"] = tuple(json.loads(values["task_models"]))
    values["judge_models"] = tuple(json.loads(values["judge_models"]))
    values["metrics"] = tuple(
        MetricRecord(**dict(zip(_METRIC_NAMES, m[1:], strict=True))) for m in metrics
    )
    values["usage"] = tuple(
        UsageRecord(**dict(zip(_USAGE_NAMES, u[1:], strict=True))) for u in usage
    )
    values["has_result"] = bool(row[len(_RUN_NAMES)])
    return RunRecord(**values)
