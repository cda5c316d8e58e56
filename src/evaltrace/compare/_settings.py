"""Defaults shared by every interval and test of a comparison."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "BCA_MAX_CASES",
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "MDE_POWER",
    "IntervalMethod",
]

DEFAULT_SEED = 20261201
"""Seed of ``numpy.random.default_rng`` for every bootstrap: a comparison is reproducible."""

DEFAULT_CONFIDENCE = 0.95
"""Two-sided confidence of the intervals; the tests' level is ``alpha = 1 - confidence``."""

DEFAULT_RESAMPLES = 1000
"""Bootstrap resamples (over cases) per interval."""

MDE_POWER = 0.8
"""Power at which the minimum detectable effect is reported."""

BCA_MAX_CASES = 5000
"""Above this many cases the interval is percentile, not BCa.

scipy's BCa acceleration is a jackknife over cases, O(n^2) work; its corrections
shrink as 1/sqrt(n), and past a few thousand cases they move the endpoints by far
less than the Monte Carlo error of 1,000 resamples.
"""


class IntervalMethod(StrEnum):
    """How a bootstrap interval was computed (``scipy.stats.bootstrap``'s ``method``)."""

    BCA = "BCa"
    PERCENTILE = "percentile"
