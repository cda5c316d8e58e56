"""The assembler: collects case outcomes as they arrive and builds the run's result.

It owns everything that reads finished cases: the results stream, the
``on_case`` callback, and the ``EvaluationResult``, whole or partial. The
partial result of an interrupted run is its ``result`` too, so whoever holds
the assembler (``evaluate_sync`` on Ctrl-C) gets it without a side channel.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from evaltrace._jsonl import ResultsWriter
from evaltrace.compare._trials import with_trials
from evaltrace.records import CaseResult
from evaltrace.results import EvaluationResult, LostAttempt
from evaltrace.runner._case import REPORTED_IN_RESULT, CaseOutcome
from evaltrace.runner._plan import RunPlan
from evaltrace.runner._tally import Tally
from evaltrace.tracing import Telemetry
from evaltrace.tracing.processor import TakenCalls

__all__ = ["TRACE_URL_ENV", "Assembler"]

_log = logging.getLogger("evaltrace")
#: ``str.format`` template (with ``{trace_id}``) of a link to the run's trace.
TRACE_URL_ENV = "EVALTRACE_TRACE_URL"


class Assembler:
    """Receives each finished case, streams it, and builds the run's result.

    With ``keep_cases=False`` it keeps only running summaries (``Tally``): the
    result then has the metrics and totals but no cases or interactions,
    which are in the results stream.
    """

    def __init__(
        self,
        plan: RunPlan,
        writer: ResultsWriter | None = None,
        on_case: Callable[[CaseResult], None] | None = None,
    ) -> None:
        self.plan = plan
        self.writer = writer
        self.on_case = on_case
        self._cases: dict[tuple[int, int], CaseResult] = {}
        self._unrecorded_calls = 0
        self._lost_attempts: list[LostAttempt] = []
        #: Running summaries instead of the cases (None: keep the cases).
        self.tally: Tally | None = None
        self._received = 0
        #: What the result should warn of (found when the run opened).
        self.warnings: list[str] = []
        #: The run's result once ``finish`` has run (partial if the run was cut short).
        self.result: EvaluationResult | None = None
        #: What the run was (``run_identity``): repeat, dataset fingerprint, models, metrics.
        self.identity: dict[str, Any] = {"repeat": plan.repeat}

    def deliver(self, outcome: CaseOutcome) -> None:
        """Keep one finished case, write it to the stream and tell ``on_case``."""
        result = outcome.result
        self._received += 1
        if self.tally is None:
            self._cases[(outcome.position, result.trial)] = result
        else:
            self.tally.add_case(result)
        self._unrecorded_calls += outcome.unrecorded_calls
        self._lost_attempts.extend(outcome.lost_attempts)
        if self.writer is not None:
            self.writer.case(result)
        if self.on_case is not None:
            self.on_case(result)

    def finished_cases(self) -> list[CaseResult]:
        """The cases received so far, in the result's order."""
        return [self._cases[key] for key in sorted(self._cases)]

    def finish(
        self,
        *,
        trace_id: str,
        started_at: datetime,
        complete: bool,
        rest: TakenCalls,
        telemetry: Telemetry,
        flushed: bool,
    ) -> EvaluationResult:
        """Build the result from the cases received and the calls no case took; report it."""
        cases = self.finished_cases()
        interactions = [i for case in cases for i in case.interactions]
        interactions += rest.interactions
        url = os.environ.get(TRACE_URL_ENV)
        result = EvaluationResult.build(
            name=self.plan.name,
            run_id=self.plan.run_id,
            trace_id=trace_id,
            started_at=started_at,
            finished_at=datetime.now(UTC),
            cases=cases,
            interactions=interactions,
            complete=complete and self._received == self.plan.size,
            dropped_spans=telemetry.dropped_spans,
            unrecorded_calls=self._unrecorded_calls + rest.unrecorded_calls,
            trace_url=url.format(trace_id=trace_id) if url and telemetry.exports else None,
            warnings=self.warnings,
            lost_attempts=self._lost_attempts,
            **self.identity,
        )
        if self.plan.repeat > 1:
            result = with_trials(result)
        if self.tally is not None:
            self.tally.add_calls(rest.interactions)
            result = _summaries_only(result, self.tally)
        self.result = result
        if self.writer is not None:
            self.writer.summary(result.model_dump(mode="json", exclude={"cases", "interactions"}))
        _report(result, telemetry, flushed)
        return result


def _summaries_only(result: EvaluationResult, tally: Tally) -> EvaluationResult:
    """The result with the tally's summaries (its cases are in the results stream only)."""
    return result.model_copy(
        update={
            "metrics": tally.metric_summaries(),
            "totals": tally.totals(),
            "interactions": [],
            "cases": [],
        }
    )


def _report(result: EvaluationResult, telemetry: Telemetry, flushed: bool) -> None:
    if telemetry.exports:
        _log.info(
            "evaltrace run %s: trace %s%s",
            result.name,
            result.trace_id,
            f" ({result.trace_url})" if result.trace_url else "",
        )
    if not flushed:
        _log.warning(
            "evaltrace: spans were still being exported when the run ended "
            "(collector slow or unreachable); they continue in the background"
        )
    if result.dropped_spans:
        _log.warning(
            "evaltrace: %d spans could not be exported",
            result.dropped_spans,
            extra={REPORTED_IN_RESULT: True},
        )
    if result.lost_attempts:
        _log.warning(
            "evaltrace: %d case attempts were lost with their worker and run again "
            "(their calls are not counted; see result.lost_attempts)",
            len(result.lost_attempts),
            extra={REPORTED_IN_RESULT: True},
        )
    if result.unrecorded_calls:
        _log.warning(
            "evaltrace: %d model calls could not be recorded as interactions (see the log above)",
            result.unrecorded_calls,
            extra={REPORTED_IN_RESULT: True},
        )
