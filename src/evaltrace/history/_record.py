"""``RunRecord``: what the store keeps of one evaluation run."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evaltrace.history._git import git_state
from evaltrace.results import EvaluationResult, MetricSummary, UsageSummary

__all__ = ["MetricRecord", "RunRecord", "RunStatus", "UsageRecord"]

# The purposes evaltrace's own calls carry (tracing's default, the judge's default).
_TASK_PURPOSE = "task"
_JUDGE_PURPOSE = "semantic_evaluation"
_HEX = re.compile(r"[0-9a-f]+")
# A fingerprint may come spelled as "sha256:<hex>"; the store keeps the hex.
_SHA256_PREFIX = "sha256:"


class RunStatus(StrEnum):
    """Where a run stands.

    ``running`` from ``begin`` until ``finish``; a ``running`` run whose
    process is gone (or that is older than the store's staleness bound) reads
    as ``incomplete``. ``interrupted``: the run was cancelled part-way.
    """

    RUNNING = "running"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    INTERRUPTED = "interrupted"


class MetricRecord(BaseModel):
    """One metric's summary over a run (``ci_low``/``ci_high``: its interval, when known)."""

    model_config = ConfigDict(frozen=True)

    metric: str
    mean: float | None
    count: int
    failures: int
    pass_rate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @classmethod
    def of(cls, summary: MetricSummary) -> MetricRecord:
        """The record of a result's metric summary."""
        return cls(
            metric=summary.metric,
            mean=summary.mean,
            count=summary.count,
            failures=summary.failures,
            pass_rate=summary.pass_rate,
        )


class UsageRecord(BaseModel):
    """Calls, tokens, cost and latency of one (purpose, model) in a run."""

    model_config = ConfigDict(frozen=True)

    purpose: str
    model: str
    calls: int
    errors: int
    tokens: int
    cost_usd: float | None
    latency_p50: float | None
    latency_p95: float | None

    @classmethod
    def of(cls, purpose: str, model: str, usage: UsageSummary) -> UsageRecord:
        """The record of one ``EvaluationResult.by_purpose()`` entry."""
        return cls(
            purpose=purpose,
            model=model,
            calls=usage.calls,
            errors=usage.errors,
            tokens=usage.tokens,
            cost_usd=usage.cost_usd,
            latency_p50=usage.latency_p50,
            latency_p95=usage.latency_p95,
        )


class RunRecord(BaseModel):
    """One recorded run: identity, provenance, models, summaries, and where its details are.

    ``host`` and ``pid`` name the process that began the run (so a crashed
    run can be told from a live one); ``git_commit``/``git_dirty`` are None
    outside a git repository. ``has_result`` is set by the store on read: the
    run's full result JSON is kept (``RunStore.load_result``). Times are UTC.
    """

    model_config = ConfigDict(frozen=True)

    run_id: str = Field(min_length=1)
    name: str
    started_at: datetime
    status: RunStatus = RunStatus.RUNNING
    finished_at: datetime | None = None
    host: str = Field(default_factory=socket.gethostname)
    pid: int = Field(default_factory=os.getpid)
    git_commit: str | None = None
    git_dirty: bool | None = None
    dataset_fingerprint: str | None = None
    task_models: tuple[str, ...] = ()
    judge_models: tuple[str, ...] = ()
    metrics: tuple[MetricRecord, ...] = ()
    usage: tuple[UsageRecord, ...] = ()
    results_path: str | None = None
    trace_id: str | None = None
    trace_url: str | None = None
    has_result: bool = False

    @field_validator("started_at", "finished_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("dataset_fingerprint")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.removeprefix(_SHA256_PREFIX)
        if not _HEX.fullmatch(value.lower()):
            raise ValueError(f"a dataset fingerprint is a hex string, not {value!r}")
        return value.lower()

    @model_validator(mode="after")
    def _unique_summaries(self) -> RunRecord:
        metrics = [m.metric for m in self.metrics]
        usage = [(u.purpose, u.model) for u in self.usage]
        if len(set(metrics)) != len(metrics) or len(set(usage)) != len(usage):
            raise ValueError("a run has one summary per metric and per (purpose, model)")
        return self

    @property
    def duration(self) -> float | None:
        """Wall time in seconds, None while the run has no end."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @classmethod
    def start(
        cls,
        *,
        name: str,
        run_id: str,
        dataset_fingerprint: str | None = None,
        task_models: Iterable[str] = (),
        judge_models: Iterable[str] = (),
        started_at: datetime | None = None,
        cwd: str | Path | None = None,
    ) -> RunRecord:
        """The record ``RunStore.begin`` takes: this process, now, the git state of ``cwd``."""
        git = git_state(cwd)
        return cls(
            run_id=run_id,
            name=name,
            started_at=started_at or datetime.now(UTC),
            dataset_fingerprint=dataset_fingerprint,
            task_models=tuple(task_models),
            judge_models=tuple(judge_models),
            git_commit=git.commit if git else None,
            git_dirty=git.dirty if git else None,
        )

    @classmethod
    def from_result(
        cls,
        result: EvaluationResult,
        *,
        dataset_fingerprint: str | None,
        results_path: str | Path | None,
        task_models: Iterable[str] | None = None,
        judge_models: Iterable[str] | None = None,
        cwd: str | Path | None = None,
        origin: RunRecord | None = None,
    ) -> RunRecord:
        """The record of a finished run (``complete``, or ``interrupted`` if cancelled).

        The models default to those the result's calls used, by purpose; the
        git state is read from ``cwd`` (the store keeps the one read at
        ``begin`` when there was one), or taken from ``origin``, the record
        the run was begun with (then git is not asked again).
        """
        usage = result.by_purpose()
        task = _models(usage, _TASK_PURPOSE) if task_models is None else task_models
        judge = _models(usage, _JUDGE_PURPOSE) if judge_models is None else judge_models
        if origin is None:
            start = cls.start(
                name=result.name,
                run_id=result.run_id,
                dataset_fingerprint=dataset_fingerprint,
                task_models=task,
                judge_models=judge,
                started_at=result.started_at,
                cwd=cwd,
            )
        else:
            start = origin.model_copy(
                update={"task_models": tuple(task), "judge_models": tuple(judge)}
            )
        return start.model_copy(
            update={
                "status": RunStatus.COMPLETE if result.complete else RunStatus.INTERRUPTED,
                "finished_at": cls._utc(result.finished_at),
                "metrics": tuple(MetricRecord.of(m) for m in result.metrics.values()),
                "usage": tuple(UsageRecord.of(p, m, u) for (p, m), u in usage.items()),
                "results_path": None
                if results_path is None
                else str(Path(results_path).absolute()),
                "trace_id": result.trace_id or None,
                "trace_url": result.trace_url,
            }
        )


def _models(usage: dict[tuple[str, str], UsageSummary], purpose: str) -> tuple[str, ...]:
    return tuple(sorted({model for (p, model) in usage if p == purpose}))
