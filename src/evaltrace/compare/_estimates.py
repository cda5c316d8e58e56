"""Means and paired differences over cases, with bootstrap intervals and a p-value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._bootstrap import BootstrapSettings, Interval, bootstrap_means, nearly_constant
from ._samples import ClusteredSample, PairedSample, TrialValues
from ._settings import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED, IntervalMethod

__all__ = [
    "DIFFERENCE_ESTIMAND",
    "DIFFERENCE_TEST",
    "MEAN_ESTIMAND",
    "DifferenceEstimate",
    "MeanEstimate",
    "PairedEstimates",
    "mean_interval",
    "paired_difference",
    "paired_estimates",
]

MEAN_ESTIMAND = "mean over cases of each case's mean over its trials"
DIFFERENCE_ESTIMAND = (
    "paired difference of means over cases (candidate - baseline), "
    "each case's value being the mean over its trials"
)
DIFFERENCE_TEST = "two-sided one-sample t-test of the per-case differences: scipy.stats.ttest_1samp"


@dataclass(frozen=True)
class MeanEstimate:
    """One run's mean of one metric, with a case-bootstrap interval.

    Attributes:
        mean: the estimate (each case weighs the same, whatever its trial count).
        interval: the bootstrap interval (resampling cases; trials stay with their case).
        estimand: what ``mean`` estimates, in words.
        confidence: the interval's two-sided confidence.
        n_resamples: bootstrap resamples.
        seed: seed of ``numpy.random.default_rng`` for the resamples.
        n_cases: cases (clusters).
        n_trials: scored trials over all cases.
    """

    mean: float
    interval: Interval
    estimand: str
    confidence: float
    n_resamples: int
    seed: int
    n_cases: int
    n_trials: int


@dataclass(frozen=True)
class DifferenceEstimate:
    """Candidate minus baseline for one metric over paired cases.

    Attributes:
        difference: mean over cases of (candidate case mean - baseline case mean).
        interval: case-bootstrap interval of ``difference`` (paired: a resample of
            cases takes both runs' values of each drawn case).
        p_value: two-sided p-value of "no difference" (``test``); not adjusted.
        sd_difference: sample standard deviation (ddof 1) of the per-case differences.
        baseline_mean: the baseline's mean over the paired cases.
        candidate_mean: the candidate's mean over the paired cases.
        estimand: what ``difference`` estimates, in words.
        test: how ``p_value`` was computed.
        confidence: the interval's two-sided confidence (the tests' level is 1 - it).
        n_resamples: bootstrap resamples.
        seed: seed of ``numpy.random.default_rng`` for the resamples.
        n_cases: paired cases.
        n_trials_baseline: the baseline's scored trials over the paired cases.
        n_trials_candidate: the candidate's scored trials over the paired cases.
    """

    difference: float
    interval: Interval
    p_value: float
    sd_difference: float
    baseline_mean: float
    candidate_mean: float
    estimand: str
    test: str
    confidence: float
    n_resamples: int
    seed: int
    n_cases: int
    n_trials_baseline: int
    n_trials_candidate: int

    @property
    def alpha(self) -> float:
        """The level of the tests: ``1 - confidence`` (0.05, not 0.050000000000000044)."""
        return round(1.0 - self.confidence, 12)


@dataclass(frozen=True)
class PairedEstimates:
    """Both runs' means and their paired difference, for one metric."""

    baseline: MeanEstimate
    candidate: MeanEstimate
    difference: DifferenceEstimate


def mean_interval(
    values_by_case: TrialValues | ClusteredSample,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    method: IntervalMethod | str = IntervalMethod.BCA,
) -> MeanEstimate:
    """One run's mean of a metric with a bootstrap interval that resamples cases.

    Raises:
        ComparisonError: no case, a case with no trials, a non-finite value, or
            fewer than 2 cases with a scored trial.
    """
    sample = _as_clustered(values_by_case)
    settings = BootstrapSettings(confidence, n_resamples, seed, IntervalMethod(method))
    (interval,) = bootstrap_means(sample.case_means[None, :], settings)
    return _mean_estimate(sample, interval, settings)


def paired_difference(
    sample: PairedSample,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    method: IntervalMethod | str = IntervalMethod.BCA,
) -> DifferenceEstimate:
    """Candidate minus baseline over paired cases: interval, p-value, sd.

    Raises:
        ComparisonError: fewer than 2 paired cases.
    """
    settings = BootstrapSettings(confidence, n_resamples, seed, IntervalMethod(method))
    (interval,) = bootstrap_means(sample.differences[None, :], settings)
    return _difference_estimate(sample, interval, settings)


def paired_estimates(
    samples: Mapping[str, PairedSample],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    method: IntervalMethod | str = IntervalMethod.BCA,
) -> dict[str, PairedEstimates]:
    """``mean_interval`` of both runs and ``paired_difference``, for many metrics at once.

    Metrics over the same cases share one bootstrap (one set of resamples of the
    cases for all their rows), which is what makes 100,000 cases fast; each result
    equals what the single-metric functions return for it.
    """
    settings = BootstrapSettings(confidence, n_resamples, seed, IntervalMethod(method))
    groups: dict[tuple[str, ...], list[str]] = {}
    for name, sample in samples.items():
        groups.setdefault(sample.case_ids, []).append(name)
    done: dict[str, PairedEstimates] = {}
    for names in groups.values():
        done.update(_estimate_group({n: samples[n] for n in names}, settings))
    return {name: done[name] for name in samples}


def _estimate_group(
    samples: dict[str, PairedSample], settings: BootstrapSettings
) -> dict[str, PairedEstimates]:
    rows = np.vstack(
        [
            row
            for s in samples.values()
            for row in (s.baseline.case_means, s.candidate.case_means, s.differences)
        ]
    )
    intervals = iter(bootstrap_means(rows, settings))
    return {
        name: PairedEstimates(
            baseline=_mean_estimate(s.baseline, next(intervals), settings),
            candidate=_mean_estimate(s.candidate, next(intervals), settings),
            difference=_difference_estimate(s, next(intervals), settings),
        )
        for name, s in samples.items()
    }


def _as_clustered(values: TrialValues | ClusteredSample) -> ClusteredSample:
    return values if isinstance(values, ClusteredSample) else ClusteredSample.from_mapping(values)


def _mean_estimate(
    sample: ClusteredSample, interval: Interval, settings: BootstrapSettings
) -> MeanEstimate:
    return MeanEstimate(
        mean=float(np.mean(sample.case_means)),
        interval=interval,
        estimand=MEAN_ESTIMAND,
        confidence=settings.confidence,
        n_resamples=settings.n_resamples,
        seed=settings.seed,
        n_cases=sample.n_cases,
        n_trials=sample.n_trials,
    )


def _difference_estimate(
    sample: PairedSample, interval: Interval, settings: BootstrapSettings
) -> DifferenceEstimate:
    differences = sample.differences
    return DifferenceEstimate(
        difference=float(np.mean(differences)),
        interval=interval,
        p_value=_t_test_p_value(differences),
        sd_difference=float(np.std(differences, ddof=1)),
        baseline_mean=float(np.mean(sample.baseline.case_means)),
        candidate_mean=float(np.mean(sample.candidate.case_means)),
        estimand=DIFFERENCE_ESTIMAND,
        test=DIFFERENCE_TEST,
        confidence=settings.confidence,
        n_resamples=settings.n_resamples,
        seed=settings.seed,
        n_cases=sample.n_cases,
        n_trials_baseline=sample.baseline.n_trials,
        n_trials_candidate=sample.candidate.n_trials,
    )


def _t_test_p_value(differences: NDArray[np.float64]) -> float:
    """Two-sided p-value of mean(differences) == 0; cases are the independent units."""
    from scipy import stats  # imported on use (slow to import)

    if nearly_constant(differences):  # t is 0/0 or c/0 (and scipy warns)
        return 1.0 if nearly_constant(np.append(differences, 0.0)) else 0.0
    return float(stats.ttest_1samp(differences, 0.0).pvalue)
