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

from evaltrace._jsonl import ResultsWriter
from evaltrace.records import CaseResult
from evaltrace.results import EvaluationResult, LostAttempt
from evaltrace.runner._case import REPORTED_IN_RESULT, CaseOutcome
from evaltrace.runner._plan import RunPlan
from evaltrace.tracing import Telemetry
from evaltrace.tracing.processor import TakenCalls

__all__ = ["TRACE_URL_ENV", "Assembler"]

_log = logging.getLogger("evaltrace")
#: ``str.format`` template (with ``{trace_id}``) of a link to the run's trace.
TRACE_URL_ENV = "EVALTRACE_TRACE_URL"


class Assembler:
    """Receives each finished case, streams it, and builds the run's result."""

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
        #: What the result should warn of (found when the run opened).
        self.warnings: list[str] = []
        #: The run's result once ``finish`` has run (partial if the run was cut short).
        self.result: EvaluationResult | None = None

    def deliver(self, outcome: CaseOutcome) -> None:
        """Keep one finished case, write it to the stream and tell ``on_case``."""
        result = outcome.result
        self._cases[(outcome.position, result.trial)] = result
        self._unrecorded_calls += outcome.unrecorded_calls
        self._lost_attempts.extend(outcome.lost_attempts)
        if self.writer is not None:
            self.writer.case(result)
        if self.on_case is not None:
            self.on_case(result)

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
        cases = [self._cases[key] for key in sorted(self._cases)]
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
            complete=complete and len(cases) == self.plan.size,
            dropped_spans=telemetry.dropped_spans,
            unrecorded_calls=self._unrecorded_calls + rest.unrecorded_calls,
            trace_url=url.format(trace_id=trace_id) if url and telemetry.exports else None,
            warnings=self.warnings,
            lost_attempts=self._lost_attempts,
        )
        self.result = result
        if self.writer is not None:
            self.writer.summary(result.model_dump(mode="json", exclude={"cases", "interactions"}))
        _report(result, telemetry, flushed)
        return result


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
