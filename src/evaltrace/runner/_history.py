"""A run in the run history (``evaluate(store=...)``), recorded without ever failing the run.

The run is begun in the store (``running``) before its first case, and
finished when its result is built: its status, metric summaries, usage, the
results file and trace, and, with ``keep_result``, the whole result. A store
that cannot be reached turns into one warning (logged, and in the result's
``warnings``); a run whose process dies in between reads as ``incomplete``.
Store writes (and ``git``) run on a worker thread: the event loop never waits.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from evaltrace.history import (
    RunRecord,
    RunStore,
    StoreTarget,
    check_store_url,
    write_or_warn,
)
from evaltrace.results import EvaluationResult
from evaltrace.runner._plan import RunPlan

__all__ = ["RunHistory", "StoreSpec"]

#: What ``evaluate(store=...)`` takes: a store URL or path, or an open store.
StoreSpec = str | Path | RunStore


class RunHistory:
    """Begins and finishes one run's record in a store; each step returns a warning or None."""

    def __init__(
        self,
        target: StoreTarget,
        plan: RunPlan,
        *,
        keep_result: bool = False,
        results_path: str | Path | None = None,
    ) -> None:
        self.target = target
        self.plan = plan
        self.keep_result = keep_result
        self.results_path = results_path
        self.fingerprint = plan.fingerprint
        self._begun: RunRecord | None = None  # the record the store holds, once begun

    @classmethod
    def of(
        cls,
        store: StoreSpec | None,
        plan: RunPlan,
        *,
        keep_result: bool = False,
        results_path: str | Path | None = None,
    ) -> RunHistory | None:
        """The history of ``plan``'s run in ``store`` (None: not recorded).

        A URL that names no store raises ``StoreURLError`` here, before the run.
        """
        if store is None:
            return None
        target: StoreTarget = store if isinstance(store, RunStore) else str(store)
        if isinstance(target, str):
            check_store_url(target)
        return cls(target, plan, keep_result=keep_result, results_path=results_path)

    async def begin(self, started_at: datetime) -> str | None:
        """Record the run as ``running``; the warning if the store could not be written."""
        record, warning = await asyncio.to_thread(self._begin, started_at)
        self._begun = record if warning is None else None
        return warning

    async def finish(self, result: EvaluationResult) -> str | None:
        """Record the run's end (nothing if its start was not recorded); a warning or None."""
        if self._begun is None:
            return None
        return await asyncio.to_thread(self._finish, result, self._begun)

    def _begin(self, started_at: datetime) -> tuple[RunRecord, str | None]:
        record = RunRecord.start(
            name=self.plan.name,
            run_id=self.plan.run_id,
            dataset_fingerprint=self.fingerprint,
            started_at=started_at,
        )
        if self.results_path is not None:  # a run that dies keeps its stream's path
            path = str(Path(self.results_path).absolute())
            record = record.model_copy(update={"results_path": path})
        return record, write_or_warn(self.target, lambda store: store.begin(record))

    def _finish(self, result: EvaluationResult, begun: RunRecord) -> str | None:
        record = RunRecord.from_result(
            result,
            dataset_fingerprint=self.fingerprint,
            results_path=self.results_path,
            origin=begun,
        )
        kept = result.model_dump_json() if self.keep_result else None
        return write_or_warn(
            self.target,
            lambda store: store.finish(record.run_id, record, record.status, result_json=kept),
        )
