"""Holm's adjustment, the minimum detectable effect, and the verdict of one metric."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ._errors import ComparisonError
from ._estimates import DifferenceEstimate
from ._settings import MDE_POWER

__all__ = ["Outcome", "Verdict", "holm", "minimum_detectable_effect", "verdict"]


class Outcome(StrEnum):
    """What a comparison says about one metric."""

    IMPROVED = "improved"
    REGRESSED = "regressed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Verdict:
    """The outcome for one metric, and why.

    Attributes:
        outcome: improved, regressed or unchanged.
        p_adjusted: the (Holm-adjusted) p-value the decision used.
        alpha: the level: ``1 - confidence`` of the estimate.
        higher_is_better: the metric's direction.
        minimum_detectable_effect: when unchanged, the smallest true difference
            (in the metric's units, either sign) this many cases would detect with
            ``power``; None otherwise.
        power: the power ``minimum_detectable_effect`` is computed at.
    """

    outcome: Outcome
    p_adjusted: float
    alpha: float
    higher_is_better: bool
    minimum_detectable_effect: float | None
    power: float = MDE_POWER


def holm(p_values: Mapping[str, float]) -> dict[str, float]:
    """Holm-adjusted p-values (``statsmodels.stats.multitest.multipletests``, "holm").

    Raises:
        ComparisonError: a p-value that is not a number in [0, 1].
    """
    for name, p in p_values.items():
        if not (isinstance(p, int | float) and 0.0 <= p <= 1.0):
            raise ComparisonError(f"p-value of {name!r} must be a number in [0, 1], got {p!r}")
    if not p_values:
        return {}
    from statsmodels.stats.multitest import multipletests

    adjusted = multipletests(list(p_values.values()), method="holm")[1]
    return {name: float(p) for name, p in zip(p_values, adjusted, strict=True)}


def minimum_detectable_effect(
    sd_difference: float, n_cases: int, *, alpha: float, power: float = MDE_POWER
) -> float:
    """Smallest mean difference a two-sided paired t-test detects with ``power``.

    ``statsmodels.stats.power.TTestPower().solve_power`` gives the standardised
    effect (difference / sd of the per-case differences); times the sd, in the
    metric's units.
    """
    if n_cases < 2:
        raise ComparisonError(f"a detectable effect needs at least 2 cases, got {n_cases}")
    if not (math.isfinite(sd_difference) and sd_difference >= 0.0):
        raise ComparisonError(f"sd of the differences must be >= 0, got {sd_difference!r}")
    if sd_difference == 0.0:
        return 0.0
    return _standardised_effect(n_cases, alpha, power) * sd_difference


@functools.lru_cache(maxsize=256)
def _standardised_effect(n_cases: int, alpha: float, power: float) -> float:
    """Cached: solve_power is a root search (tens of milliseconds)."""
    from statsmodels.stats.power import TTestPower

    effect = TTestPower().solve_power(
        effect_size=None, nobs=n_cases, alpha=alpha, power=power, alternative="two-sided"
    )
    return float(effect)


def verdict(
    estimate: DifferenceEstimate,
    p_adjusted: float,
    *,
    higher_is_better: bool = True,
    family_size: int = 1,
) -> Verdict:
    """Improved / regressed / unchanged at level ``alpha = 1 - estimate.confidence``.

    A change is called only when both agree: the adjusted p-value is at most alpha
    and the interval lies wholly on one side of 0; that side, with the metric's
    direction, says improved or regressed. Otherwise unchanged, with the minimum
    detectable effect at 80% power, at level alpha / ``family_size`` (the level
    Holm holds the smallest of ``family_size`` p-values to).
    """
    alpha = estimate.alpha
    interval = estimate.interval
    up, down = interval.low > 0.0, interval.high < 0.0
    if p_adjusted <= alpha and (up or down):
        better = up if higher_is_better else down
        outcome = Outcome.IMPROVED if better else Outcome.REGRESSED
        return Verdict(outcome, p_adjusted, alpha, higher_is_better, None)
    mde = minimum_detectable_effect(
        estimate.sd_difference, estimate.n_cases, alpha=alpha / max(1, family_size)
    )
    return Verdict(Outcome.UNCHANGED, p_adjusted, alpha, higher_is_better, mde)
