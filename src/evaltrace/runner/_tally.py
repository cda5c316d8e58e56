"""Running summaries of a run, for runs that keep only summaries in memory (``keep_cases=False``).

Each finished case adds its scores and calls to a few counters (and one
float per call for the latency percentiles), so the driver's memory does not
grow with the cases: they are in the results stream on disk.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from evaltrace._stats import percentile
from evaltrace.records import CaseResult, LLMInteraction
from evaltrace.results import MetricSummary, Totals

__all__ = ["Tally"]


@dataclass
class _MetricCounts:
    total: float = 0.0
    count: int = 0
    failures: int = 0
    verdicts: int = 0
    passed: int = 0

    def summary(self, metric: str) -> MetricSummary:
        return MetricSummary(
            metric=metric,
            mean=self.total / self.count if self.count else None,
            count=self.count,
            failures=self.failures,
            pass_rate=self.passed / self.verdicts if self.verdicts else None,
        )


@dataclass
class Tally:
    """Metric summaries and usage totals, added to case by case; equal to ``EvaluationResult``'s."""

    cases: int = 0
    metrics: dict[str, _MetricCounts] = field(default_factory=dict)
    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tokens: int = 0
    cost: Decimal = Decimal(0)
    unpriced_calls: int = 0
    latencies: array[float] = field(default_factory=lambda: array("d"))

    def add_case(self, case: CaseResult) -> None:
        """Count one finished case: its scores and its calls."""
        self.cases += 1
        for score in case.scores:
            counts = self.metrics.setdefault(score.metric, _MetricCounts())
            if score.value is not None:
                counts.total += score.value
                counts.count += 1
            counts.failures += score.failed
            if score.passed is not None:
                counts.verdicts += 1
                counts.passed += score.passed
        self.add_calls(case.interactions)

    def add_calls(self, interactions: Iterable[LLMInteraction]) -> None:
        """Count calls (a case's, or those no case took)."""
        for call in interactions:
            self.calls += 1
            self.errors += call.error is not None
            self.input_tokens += call.input_tokens or 0
            self.output_tokens += call.output_tokens or 0
            self.tokens += call.tokens_used
            price = call.cost()
            if price is None:
                self.unpriced_calls += 1
            else:
                self.cost += price
            self.latencies.append(call.latency)

    def metric_summaries(self) -> dict[str, MetricSummary]:
        """One summary per metric, as ``EvaluationResult.metrics``."""
        return {name: counts.summary(name) for name, counts in self.metrics.items()}

    def totals(self) -> Totals:
        """The usage totals, as ``EvaluationResult.totals``."""
        priced = self.calls - self.unpriced_calls
        latencies = self.latencies.tolist()
        return Totals(
            calls=self.calls,
            errors=self.errors,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            tokens=self.tokens,
            cost_usd=float(self.cost) if priced or not self.calls else None,
            unpriced_calls=self.unpriced_calls,
            latency_p50=percentile(latencies, 50),
            latency_p95=percentile(latencies, 95),
        )
