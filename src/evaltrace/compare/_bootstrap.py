"""The case bootstrap: ``scipy.stats.bootstrap`` over cases, several means at once.

Every interval of a comparison is an interval for a mean over cases (of the per-case
means of one run, or of the per-case differences of two). scipy resamples the case
*indices*; one vectorised statistic turns each resample of indices into the mean of
every row at once (resample counts times values, a matrix product), so the cost of
a resample is one pass over the cases, whatever the number of rows. Rows bootstrapped
together share their resamples of cases, and a row's interval does not depend on
the other rows: the resamples depend only on the seed and the number of cases.
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._errors import ComparisonError
from ._settings import (
    BCA_MAX_CASES,
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    IntervalMethod,
)

__all__ = ["BootstrapSettings", "Interval", "bootstrap_means", "nearly_constant"]

# Resampled case indices held at once (per batch of resamples): bounds the memory
# (about 4 arrays of this many 8-byte numbers) without changing any result.
_ELEMENTS_PER_BATCH = 4_000_000
# Significant digits kept in a resample's mean (see _row_means).
_DIGITS = 10
# From this many cases, resample counts are taken one resample at a time (faster).
_ROW_BY_ROW_CASES = 10_000


@dataclass(frozen=True)
class BootstrapSettings:
    """How intervals are computed.

    Attributes:
        confidence: two-sided confidence level, in (0, 1).
        n_resamples: bootstrap resamples over cases (1,000 by default; 9,999 is scipy's).
        seed: seed of ``numpy.random.default_rng``, fresh for every call.
        method: BCa (default) or percentile; BCa falls back to percentile when it is
            degenerate or the sample has more than ``BCA_MAX_CASES`` cases.
    """

    confidence: float = DEFAULT_CONFIDENCE
    n_resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    method: IntervalMethod = IntervalMethod.BCA

    def __post_init__(self) -> None:
        if not 0.0 < self.confidence < 1.0:
            raise ComparisonError(f"confidence must be in (0, 1), got {self.confidence!r}")
        if self.n_resamples < 1:
            raise ComparisonError(f"n_resamples must be at least 1, got {self.n_resamples!r}")
        object.__setattr__(self, "method", IntervalMethod(self.method))

    @property
    def alpha(self) -> float:
        """The tests' level: ``1 - confidence`` (0.05, not 0.050000000000000044)."""
        return round(1.0 - self.confidence, 12)


@dataclass(frozen=True)
class Interval:
    """A bootstrap confidence interval and how it was computed.

    Attributes:
        low: lower end.
        high: upper end.
        method: the method that produced these ends.
        note: why the method differs from the one asked for, if it does.
    """

    low: float
    high: float
    method: IntervalMethod
    note: str | None = None

    def contains(self, value: float) -> bool:
        """Whether ``low <= value <= high``."""
        return self.low <= value <= self.high


def bootstrap_means(rows: NDArray[np.float64], settings: BootstrapSettings) -> list[Interval]:
    """Bootstrap intervals for the mean of each row of ``rows`` (rows x cases)."""
    n_cases = rows.shape[-1]
    if n_cases < 2:
        raise ComparisonError(
            f"an interval needs at least 2 cases with a scored trial, got {n_cases}"
        )
    method, note = settings.method, None
    if method is IntervalMethod.BCA and n_cases > BCA_MAX_CASES:
        method, note = IntervalMethod.PERCENTILE, f"BCa skipped above {BCA_MAX_CASES} cases"
    result = _run(rows, settings, method, None)
    low, high = _ends(result)
    intervals = [
        Interval(float(lo), float(hi), method, note) for lo, hi in zip(low, high, strict=True)
    ]
    if method is IntervalMethod.BCA:
        _fall_back_where_degenerate(intervals, rows, settings, result)
    return intervals


def _fall_back_where_degenerate(
    intervals: list[Interval], rows: NDArray[np.float64], settings: BootstrapSettings, result: Any
) -> None:
    """Replace the BCa intervals of rows without spread by percentile ones (same resamples)."""
    degenerate = [
        math.isnan(interval.low) or math.isnan(interval.high) or nearly_constant(row)
        for interval, row in zip(intervals, np.atleast_2d(rows), strict=True)
    ]
    if not any(degenerate):
        return
    low, high = _ends(_run(rows, settings, IntervalMethod.PERCENTILE, result))
    for i, bad in enumerate(degenerate):
        if bad:  # e.g. every value equal: the percentile interval is [value, value]
            intervals[i] = Interval(
                float(low[i]), float(high[i]), IntervalMethod.PERCENTILE, "BCa degenerate"
            )


def _run(
    rows: NDArray[np.float64], settings: BootstrapSettings, method: IntervalMethod, again: Any
) -> Any:
    # Imported on use: scipy.stats takes seconds to import, and evaltrace's CLI starts fast.
    from scipy import stats

    n_cases = rows.shape[-1]
    rng_keyword = (
        "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"
    )
    with (
        warnings.catch_warnings(),
        np.errstate(divide="ignore", invalid="ignore"),
        # The products are small and memory-bound; BLAS threads fighting other work for
        # the cores made them 100 times slower on a busy machine.
        _blas_threads().limit(limits=1, user_api="blas"),
    ):
        # A degenerate BCa interval comes back as NaN (with this warning): handled above.
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        return stats.bootstrap(
            # int32 indices when they fit: scipy copies them once per resample.
            (np.arange(n_cases, dtype=np.int32 if n_cases < 2**31 else np.intp),),
            _row_means(rows),
            n_resamples=0 if again is not None else settings.n_resamples,
            batch=max(1, min(settings.n_resamples, _ELEMENTS_PER_BATCH // n_cases)),
            vectorized=True,
            confidence_level=settings.confidence,
            method=method.value,
            bootstrap_result=again,
            **{rng_keyword: np.random.default_rng(settings.seed)},
        )


def nearly_constant(values: NDArray[np.float64]) -> bool:
    """Whether the values differ by no more than rounding (a few ulps of the largest).

    Such data have no spread to resample or test: BCa's acceleration and the
    t statistic are then ratios of rounding errors.
    """
    scale = float(np.max(np.abs(values)))
    return bool(np.ptp(values) <= 16 * np.finfo(np.float64).eps * scale)


@functools.cache
def _blas_threads() -> Any:
    """The BLAS libraries loaded (found once: finding them takes milliseconds)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _ends(result: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    interval = result.confidence_interval
    low = np.atleast_1d(np.asarray(interval.low, dtype=np.float64))
    high = np.atleast_1d(np.asarray(interval.high, dtype=np.float64))
    return low, high


def _row_means(rows: NDArray[np.float64]) -> Callable[..., NDArray[np.float64]]:
    """The vectorised statistic: resampled case indices -> the mean of every row.

    Means are rounded to ``_DIGITS`` significant digits of the row's largest value:
    resamples whose means are equal in exact arithmetic (common with pass/fail or
    other discrete scores) then stay equal, instead of differing by rounding errors
    that depend on the BLAS kernel; BCa counts such ties, so without this its ends
    could move with the machine or with the other rows bootstrapped alongside.
    """
    values = np.atleast_2d(rows)
    scale = np.max(np.abs(values), axis=-1, keepdims=True)
    scale[scale == 0.0] = 1.0

    def statistic(indices: NDArray[np.integer[Any]], axis: int = -1) -> NDArray[np.float64]:
        size = indices.shape[-1]  # n (a resample) or n - 1 (a jackknife sample)
        weights = _counts(indices.reshape(-1, size), values.shape[-1])
        means: NDArray[np.float64] = (weights @ values.T).T / size
        means = np.round(means / scale, _DIGITS) * scale
        return means.reshape(values.shape[:1] + indices.shape[:-1])

    return statistic


def _counts(indices: NDArray[np.integer[Any]], n_cases: int) -> NDArray[np.float64]:
    """How often each case is drawn in each resample (resamples x cases)."""
    if n_cases < _ROW_BY_ROW_CASES:  # small: one bincount over all resamples
        offsets = np.arange(indices.shape[0], dtype=np.intp)[:, None] * n_cases
        flat = np.bincount((indices + offsets).ravel(), minlength=indices.shape[0] * n_cases)
        return flat.reshape(indices.shape[0], n_cases).astype(np.float64)
    counts = np.empty((indices.shape[0], n_cases), dtype=np.float64)
    for row, drawn in enumerate(indices):  # large: each row's counts stay in cache
        counts[row] = np.bincount(drawn, minlength=n_cases)
    return counts
