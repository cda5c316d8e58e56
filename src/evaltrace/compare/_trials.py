"""One run's trials: each case across its trials, and each metric's mean with a clustered interval.

Trials of a case are a cluster: a metric's mean is the mean over cases of each
case's mean over its scored trials, and its interval resamples cases
(``mean_interval``), never trials.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from evaltrace.compare._errors import ComparisonError
from evaltrace.compare._estimates import mean_interval
from evaltrace.compare._settings import DEFAULT_CONFIDENCE
from evaltrace.records import CaseResult, Score
from evaltrace.results import CaseTrials, EvaluationResult, MetricSummary, MetricTrials

__all__ = ["case_trials", "metric_values", "summarise_trials", "with_trials"]


def metric_values(cases: Sequence[CaseResult], metric: str) -> dict[str, list[float | None]]:
    """``case_id -> the metric's value in each trial`` (None: not scored), trials in order."""
    values: dict[str, list[tuple[int, float | None]]] = {}
    for case in cases:
        score = case.score(metric)
        value = None if score is None else score.value
        values.setdefault(case.case_id, []).append((case.trial, value))
    return {
        case_id: [v for _, v in sorted(trials, key=_trial)] for case_id, trials in values.items()
    }


def _trial(pair: tuple[int, object]) -> int:
    return pair[0]


def case_trials(cases: Sequence[CaseResult]) -> list[CaseTrials]:
    """Each case (in first-seen order) across its trials: per metric mean, sd and passes."""
    grouped: dict[str, list[CaseResult]] = {}
    for case in cases:
        grouped.setdefault(case.case_id, []).append(case)
    return [_one_case(case_id, trials) for case_id, trials in grouped.items()]


def _one_case(case_id: str, trials: list[CaseResult]) -> CaseTrials:
    names = dict.fromkeys(score.metric for case in trials for score in case.scores)
    metrics = {}
    for name in names:
        scores = [s for case in trials if (s := case.score(name)) is not None]
        metrics[name] = _metric_trials(scores)
    errors = sum(1 for case in trials if case.error is not None)
    return CaseTrials(case_id=case_id, trials=len(trials), errors=errors, metrics=metrics)


def _metric_trials(scores: list[Score]) -> MetricTrials:
    values = [s.value for s in scores if s.value is not None]
    verdicts = [s.passed for s in scores if s.passed is not None]
    return MetricTrials(
        mean=statistics.fmean(values) if values else None,
        sd=statistics.stdev(values) if len(values) > 1 else None,
        scored=len(values),
        passes=sum(verdicts),
        verdicts=len(verdicts),
    )


def summarise_trials(
    cases: Sequence[CaseResult],
    metrics: dict[str, MetricSummary],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, MetricSummary]:
    """``metrics`` with each mean over cases (of case means) and its case-bootstrap interval.

    A metric with fewer than 2 scored cases keeps its plain mean and no interval.
    """
    summarised = {}
    for name, summary in metrics.items():
        try:
            estimate = mean_interval(metric_values(cases, name), confidence=confidence)
        except ComparisonError:
            summarised[name] = summary
            continue
        summarised[name] = summary.model_copy(
            update={
                "mean": estimate.mean,
                "interval": (estimate.interval.low, estimate.interval.high),
                "confidence": confidence,
                "cases": estimate.n_cases,
            }
        )
    return summarised


def with_trials(result: EvaluationResult) -> EvaluationResult:
    """``result`` with its cases across trials and its metrics' clustered intervals."""
    return result.model_copy(
        update={
            "trials": case_trials(result.cases),
            "metrics": summarise_trials(result.cases, result.metrics),
        }
    )
