"""Comparing two runs: ``compare(baseline, candidate) -> Comparison``, and its statistics.

The statistics are pure functions over per-case trial values.

The estimand is the paired difference of means over cases (candidate - baseline),
each case's value being the mean over its trials; trials are a cluster, so every
bootstrap resamples cases, never trials. See docs/compare-statistics.md.
"""

from ._bootstrap import BootstrapSettings, Interval
from ._compare import MOVED_CASES, compare
from ._comparison import (
    Budget,
    CaseMatching,
    Comparison,
    ComparisonSettings,
    ErroredCase,
    MetricComparison,
    MovedCase,
    PassRateComparison,
    RunSide,
    UsageComparison,
    UsageDifference,
)
from ._decision import Outcome, Verdict, holm, minimum_detectable_effect, verdict
from ._errors import ComparisonError
from ._estimates import (
    DIFFERENCE_ESTIMAND,
    DIFFERENCE_TEST,
    MEAN_ESTIMAND,
    DifferenceEstimate,
    MeanEstimate,
    PairedEstimates,
    mean_interval,
    paired_difference,
    paired_estimates,
)
from ._pass_fail import MCNEMAR_TEST, McNemarResult, Verdicts, mcnemar_exact
from ._samples import ClusteredSample, PairedSample, TrialValues
from ._settings import (
    BCA_MAX_CASES,
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    MDE_POWER,
    IntervalMethod,
)

__all__ = [
    "BCA_MAX_CASES",
    "BootstrapSettings",
    "Budget",
    "CaseMatching",
    "ClusteredSample",
    "Comparison",
    "ComparisonError",
    "ComparisonSettings",
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "DIFFERENCE_ESTIMAND",
    "DIFFERENCE_TEST",
    "DifferenceEstimate",
    "ErroredCase",
    "Interval",
    "IntervalMethod",
    "MCNEMAR_TEST",
    "MDE_POWER",
    "MEAN_ESTIMAND",
    "MOVED_CASES",
    "McNemarResult",
    "MeanEstimate",
    "MetricComparison",
    "MovedCase",
    "Outcome",
    "PairedEstimates",
    "PairedSample",
    "PassRateComparison",
    "RunSide",
    "TrialValues",
    "UsageComparison",
    "UsageDifference",
    "Verdict",
    "Verdicts",
    "compare",
    "holm",
    "mcnemar_exact",
    "mean_interval",
    "minimum_detectable_effect",
    "paired_difference",
    "paired_estimates",
    "verdict",
]
