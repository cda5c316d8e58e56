"""evaltrace.compare statistics: reference values, edge cases, and calibration by simulation.

The simulations (fixed seeds) follow docs/compare-statistics.md: 200 cases, 2 trials,
per-case difficulty ``mu = 0.05 + 0.85 * Beta(2, 2)``; a score trial is
``Beta(mu * KAPPA, (1 - mu) * KAPPA)`` (mean ``mu``), a pass/fail trial is
``Bernoulli(mu)``. A/A: both runs draw fresh trials of the same cases. Rates of
1,000 simulations are checked to +/- 3 binomial standard deviations.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from evaltrace.compare import (
    BCA_MAX_CASES,
    DEFAULT_SEED,
    ComparisonError,
    DifferenceEstimate,
    IntervalMethod,
    MeanEstimate,
    Outcome,
    PairedEstimates,
    PairedSample,
    holm,
    mcnemar_exact,
    mean_interval,
    minimum_detectable_effect,
    paired_difference,
    paired_estimates,
    verdict,
)

# The package (``evaltrace.compare`` on the root package is the ``compare`` function).
compare = importlib.import_module("evaltrace.compare")

ALPHA = 0.05
N_SIMS = 1000
N_CASES = 200
TRIALS = 2
KAPPA = 2.5  # trial-score concentration: sd of a per-case difference ~0.25
SHIFT = 0.05  # the documented effect for the power check
CASE_IDS = [f"case-{i:03d}" for i in range(N_CASES)]


def tolerance(rate: float, n: int) -> float:
    """Three binomial standard deviations of a rate estimated from ``n`` runs."""
    return 3 * math.sqrt(rate * (1 - rate) / n)


def by_case(trials: NDArray[np.generic]) -> dict[str, list[Any]]:
    """Trial values (or verdicts), cases x trials, as ``case_id -> trials``."""
    return dict(zip(CASE_IDS, trials.tolist(), strict=True))


def difficulty(rng: np.random.Generator, sims: int) -> NDArray[np.float64]:
    return 0.05 + 0.85 * rng.beta(2.0, 2.0, (sims, N_CASES, 1))


def score_runs(
    rng: np.random.Generator, sims: int, shift: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    mu = difficulty(rng, sims)
    size = (sims, N_CASES, TRIALS)
    base = rng.beta(mu * KAPPA, (1 - mu) * KAPPA, size)
    cand = rng.beta((mu + shift) * KAPPA, (1 - mu - shift) * KAPPA, size)
    return base, cand


def pass_fail_runs(
    rng: np.random.Generator, sims: int
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    mu = difficulty(rng, sims)
    size = (sims, N_CASES, TRIALS)
    return rng.random(size) < mu, rng.random(size) < mu


def simulated(base: NDArray[np.generic], cand: NDArray[np.generic]) -> dict[str, PairedEstimates]:
    """Every simulation as one metric of one ``paired_estimates`` call (one bootstrap)."""
    samples = {
        f"sim-{i}": PairedSample.from_mappings(by_case(b), by_case(c))
        for i, (b, c) in enumerate(zip(base, cand, strict=True))
    }
    return paired_estimates(samples)


def outcome_rate(outcomes: Sequence[Outcome], wanted: Outcome) -> float:
    return sum(o is wanted for o in outcomes) / len(outcomes)


# --- reference values on fixed data ------------------------------------------------------


Runs = tuple[dict[str, list[float]], dict[str, list[float]]]


@pytest.fixture
def fixed_runs() -> Runs:
    base, cand = score_runs(np.random.default_rng(2024), 1, shift=0.03)
    return by_case(base[0]), by_case(cand[0])


@pytest.fixture
def fixed(fixed_runs: Runs) -> PairedSample:
    return PairedSample.from_mappings(*fixed_runs)


@pytest.mark.parametrize("method", ["BCa", "percentile"])
@pytest.mark.parametrize("n_resamples", [1000, 9999])
def test_difference_interval_is_scipy_bootstrap_of_the_case_differences(
    fixed: PairedSample, method: str, n_resamples: int
) -> None:
    estimate = paired_difference(fixed, method=method, n_resamples=n_resamples)
    differences = fixed.differences
    reference = stats.bootstrap(
        (differences,),
        np.mean,
        n_resamples=n_resamples,
        method=method,
        rng=np.random.default_rng(DEFAULT_SEED),
    ).confidence_interval
    assert estimate.interval.low == pytest.approx(reference.low, abs=1e-9)
    assert estimate.interval.high == pytest.approx(reference.high, abs=1e-9)
    assert estimate.interval.method == method and estimate.interval.note is None
    assert estimate.difference == pytest.approx(float(np.mean(differences)))
    assert estimate.n_resamples == n_resamples


def test_difference_records_how_it_was_computed(fixed: PairedSample) -> None:
    estimate = paired_difference(fixed)
    assert estimate.p_value == pytest.approx(stats.ttest_1samp(fixed.differences, 0.0).pvalue)
    assert estimate.sd_difference == pytest.approx(float(np.std(fixed.differences, ddof=1)))
    assert estimate.estimand == compare.DIFFERENCE_ESTIMAND
    assert "paired difference of means" in estimate.estimand
    assert estimate.test == compare.DIFFERENCE_TEST
    assert (estimate.confidence, estimate.seed) == (0.95, DEFAULT_SEED)
    assert (estimate.n_cases, estimate.n_trials_baseline, estimate.n_trials_candidate) == (
        N_CASES,
        N_CASES * TRIALS,
        N_CASES * TRIALS,
    )
    assert estimate.difference == pytest.approx(estimate.candidate_mean - estimate.baseline_mean)


def test_a_comparison_is_reproducible_and_ignores_case_order(
    fixed: PairedSample, fixed_runs: Runs
) -> None:
    base, cand = fixed_runs
    again = PairedSample.from_mappings(dict(reversed(list(base.items()))), cand)
    assert paired_difference(again) == paired_difference(fixed)
    assert paired_difference(fixed, seed=1).interval != paired_difference(fixed).interval


def test_mean_interval_resamples_cases_not_trials() -> None:
    # Case "a" has three trials, the others one: the case mean is the unit.
    values = {"a": [1.0, 1.0, 0.0], "b": [0.0], "c": [0.5], "d": [1.0], "e": [0.25]}
    estimate = mean_interval(values)
    case_means = np.array([2 / 3, 0.0, 0.5, 1.0, 0.25])
    reference = stats.bootstrap(
        (case_means,), np.mean, n_resamples=1000, rng=np.random.default_rng(DEFAULT_SEED)
    ).confidence_interval
    assert estimate.mean == pytest.approx(case_means.mean())
    assert estimate.interval.low == pytest.approx(reference.low, abs=1e-9)
    assert estimate.interval.high == pytest.approx(reference.high, abs=1e-9)
    assert (estimate.n_cases, estimate.n_trials) == (5, 7)
    assert estimate.estimand == compare.MEAN_ESTIMAND


def test_trials_make_a_wider_interval_only_through_the_case_means() -> None:
    """Inspect's check: spread within a case leaves the case mean, hence the interval, alone."""
    tight = {f"c{i}": [0.2 + 0.1 * (i % 5)] * 2 for i in range(50)}
    spread = {f"c{i}": [0.1 * (i % 5), 0.4 + 0.1 * (i % 5)] for i in range(50)}
    tight_interval, spread_interval = mean_interval(tight).interval, mean_interval(spread).interval
    assert tight_interval.low == pytest.approx(spread_interval.low, abs=1e-9)
    assert tight_interval.high == pytest.approx(spread_interval.high, abs=1e-9)


def test_paired_estimates_equal_the_single_metric_functions(fixed: PairedSample) -> None:
    rng = np.random.default_rng(5)
    other = PairedSample.from_mappings(
        {c: [float(v)] for c, v in zip(CASE_IDS, rng.random(N_CASES), strict=True)},
        {c: [float(v)] for c, v in zip(CASE_IDS, rng.random(N_CASES), strict=True)},
    )
    fewer = PairedSample.from_mappings(
        {c: [0.1 * (i % 7)] for i, c in enumerate(CASE_IDS[:40])},
        {c: [0.1 * (i % 5)] for i, c in enumerate(CASE_IDS[:40])},
    )
    samples = {"quality": fixed, "other": other, "fewer": fewer}
    estimates = paired_estimates(samples)
    assert list(estimates) == ["quality", "other", "fewer"]
    for name, sample in samples.items():  # equal but for rounding in the matrix products
        assert same(estimates[name].difference, paired_difference(sample))
        assert same(estimates[name].baseline, mean_interval(sample.baseline))
        assert same(estimates[name].candidate, mean_interval(sample.candidate))


def same(a: MeanEstimate | DifferenceEstimate, b: MeanEstimate | DifferenceEstimate) -> bool:
    """Estimates equal field by field, floats to 1e-9."""
    return flat_fields(a) == pytest.approx(flat_fields(b), abs=1e-9)


def flat_fields(estimate: MeanEstimate | DifferenceEstimate) -> dict[str, object]:
    fields = dataclasses.asdict(estimate)
    interval = fields.pop("interval")
    return fields | {f"interval.{k}": v for k, v in interval.items()}


def test_bca_gives_way_to_percentile_above_the_case_limit() -> None:
    rng = np.random.default_rng(3)
    n = BCA_MAX_CASES + 1
    values = {f"c{i}": [float(v)] for i, v in enumerate(rng.random(n))}
    interval = mean_interval(values).interval
    assert interval.method is IntervalMethod.PERCENTILE and interval.note
    reference = stats.bootstrap(
        (np.array([values[c][0] for c in sorted(values)]),),
        np.mean,
        n_resamples=1000,
        method="percentile",
        batch=4_000_000 // n,  # the engine's batch: the same draws from the same seed
        rng=np.random.default_rng(DEFAULT_SEED),
    ).confidence_interval
    assert interval.low == pytest.approx(reference.low, abs=1e-9)
    assert interval.high == pytest.approx(reference.high, abs=1e-9)


# --- degenerate data -----------------------------------------------------------------------


def test_equal_differences_give_the_point_interval() -> None:
    base = {f"c{i}": [0.25 + 0.05 * (i % 4), 0.5] for i in range(30)}
    cand = {c: [v + 0.1 for v in trials] for c, trials in base.items()}
    estimate = paired_difference(PairedSample.from_mappings(base, cand))
    assert estimate.interval.method is IntervalMethod.PERCENTILE
    assert estimate.interval.note == "BCa degenerate"
    assert estimate.interval.low == pytest.approx(0.1)
    assert estimate.interval.high == pytest.approx(0.1)
    assert estimate.p_value == 0.0  # every case moved by exactly the same amount
    asked = paired_difference(PairedSample.from_mappings(base, cand), method="percentile")
    assert (asked.interval.method, asked.interval.note) == (IntervalMethod.PERCENTILE, None)


def test_identical_runs_are_unchanged() -> None:
    rng = np.random.default_rng(11)
    runs = by_case(rng.beta(2, 3, (N_CASES, TRIALS)))
    estimate = paired_difference(PairedSample.from_mappings(runs, dict(runs)))
    assert estimate.interval.contains(0.0)
    assert (estimate.interval.low, estimate.interval.high) == (0.0, 0.0)
    assert estimate.p_value == 1.0
    result = verdict(estimate, holm({"score": estimate.p_value})["score"])
    assert result.outcome is Outcome.UNCHANGED
    assert result.minimum_detectable_effect == 0.0


# --- McNemar -------------------------------------------------------------------------------


def test_mcnemar_by_hand() -> None:
    # Discordant pairs: 1 baseline-only pass, 5 candidate-only; 4 concordant.
    base = {"a": [True, False, False, False, False, False], "b": [True, True, False, True]}
    cand = {"a": [False, True, True, True, True, True], "b": [True, True, False, True]}
    result = mcnemar_exact(base, cand)
    assert (result.baseline_only, result.candidate_only, result.n_pairs) == (1, 5, 10)
    assert result.p_value == pytest.approx(2 * 7 / 64)  # 2 * P(X <= 1), X ~ Bin(6, 1/2)
    assert result.pass_rate_difference == pytest.approx(0.4)


def test_mcnemar_matches_statsmodels() -> None:
    rng = np.random.default_rng(8)
    base, cand = pass_fail_runs(rng, 1)
    result = mcnemar_exact(by_case(base[0]), by_case(cand[0]))
    b, c = base[0].ravel(), cand[0].ravel()
    table = [[np.sum(b & c), np.sum(b & ~c)], [np.sum(~b & c), np.sum(~b & ~c)]]
    assert result.p_value == pytest.approx(mcnemar(table, exact=True).pvalue)
    assert result.n_pairs == N_CASES * TRIALS


def test_mcnemar_pairs_trials_by_position_and_leaves_out_the_rest() -> None:
    base: Mapping[str, Sequence[bool | None]] = {"a": [True, False, True], "b": [False, None]}
    cand: Mapping[str, Sequence[bool | None]] = {"a": [False, True], "b": [True, True]}
    result = mcnemar_exact(base, cand)
    assert (result.n_pairs, result.n_unpaired_trials, result.n_errored_pairs) == (3, 1, 1)
    assert (result.baseline_only, result.candidate_only) == (1, 2)


def test_mcnemar_without_discordant_pairs_is_one() -> None:
    same = {"a": [True, False], "b": [True, True]}
    assert mcnemar_exact(same, same).p_value == 1.0


# --- Holm, MDE, verdict ----------------------------------------------------------------------


def test_holm_matches_statsmodels_and_the_hand_computation() -> None:
    p_values = {"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.5, "e": 0.001}
    expected = multipletests(list(p_values.values()), method="holm")[1]
    assert list(holm(p_values).values()) == pytest.approx(list(expected))
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx(
        {"a": 0.03, "b": 0.06, "c": 0.06}
    )
    assert holm({}) == {}


def test_minimum_detectable_effect_is_statsmodels_power_times_the_sd() -> None:
    effect = TTestPower().solve_power(effect_size=None, nobs=200, alpha=0.05, power=0.8)
    assert minimum_detectable_effect(0.25, 200, alpha=0.05) == pytest.approx(effect * 0.25)
    assert TTestPower().power(effect_size=effect, nobs=200, alpha=0.05) == pytest.approx(
        0.8, abs=1e-4
    )


def test_the_verdict_needs_the_p_value_and_the_interval_to_agree(fixed: PairedSample) -> None:
    estimate = paired_difference(fixed)
    up = dataclasses.replace(estimate, interval=dataclasses.replace(estimate.interval, low=0.01))
    assert verdict(up, 0.01).outcome is Outcome.IMPROVED
    assert verdict(up, 0.01, higher_is_better=False).outcome is Outcome.REGRESSED
    assert verdict(up, 0.2).outcome is Outcome.UNCHANGED
    straddles = dataclasses.replace(
        estimate, interval=dataclasses.replace(estimate.interval, low=-0.01, high=0.02)
    )
    unchanged = verdict(straddles, 0.001, family_size=3)
    assert unchanged.outcome is Outcome.UNCHANGED
    expected = minimum_detectable_effect(estimate.sd_difference, N_CASES, alpha=ALPHA / 3)
    assert unchanged.minimum_detectable_effect == pytest.approx(expected)
    assert verdict(up, 0.01).minimum_detectable_effect is None


# --- calibration by simulation ---------------------------------------------------------------


def a_a_scores() -> dict[str, float]:
    """Rates over 1,000 A/A comparisons of scores (one metric: Holm leaves p as it is)."""
    estimates = simulated(*score_runs(np.random.default_rng(20261201), N_SIMS))
    differences = [e.difference for e in estimates.values()]
    outcomes = [verdict(d, d.p_value).outcome for d in differences]
    return {
        "regressed": outcome_rate(outcomes, Outcome.REGRESSED),
        "improved": outcome_rate(outcomes, Outcome.IMPROVED),
        "p <= alpha": sum(d.p_value <= ALPHA for d in differences) / N_SIMS,
        "interval covers 0": sum(d.interval.contains(0.0) for d in differences) / N_SIMS,
    }


def a_a_pass_fail() -> dict[str, float]:
    """Rates over 1,000 A/A comparisons of pass/fail: McNemar's p, the pass-rate interval."""
    base, cand = pass_fail_runs(np.random.default_rng(20261202), N_SIMS)
    estimates = simulated(base.astype(np.float64), cand.astype(np.float64))
    outcomes, p_values = [], []
    for b, c, e in zip(base, cand, estimates.values(), strict=True):
        p_values.append(mcnemar_exact(by_case(b), by_case(c)).p_value)
        outcomes.append(verdict(e.difference, p_values[-1]).outcome)
    return {
        "regressed": outcome_rate(outcomes, Outcome.REGRESSED),
        "improved": outcome_rate(outcomes, Outcome.IMPROVED),
        "p <= alpha": sum(p <= ALPHA for p in p_values) / N_SIMS,
    }


def shifted_scores(sims: int = 500) -> dict[str, float]:
    """Detection of +SHIFT on every case (500 comparisons) vs statsmodels' t-test power."""
    big_base, big_cand = score_runs(np.random.default_rng(1), 20, shift=SHIFT)
    sd = float(np.std(big_cand.mean(-1) - big_base.mean(-1), ddof=1))  # 4,000 cases
    power = float(TTestPower().power(effect_size=SHIFT / sd, nobs=N_CASES, alpha=ALPHA))
    estimates = simulated(*score_runs(np.random.default_rng(2), sims, shift=SHIFT))
    outcomes = [verdict(e.difference, e.difference.p_value).outcome for e in estimates.values()]
    return {
        "sd of a difference": sd,
        "power": power,
        "improved": outcome_rate(outcomes, Outcome.IMPROVED),
    }


def test_a_a_comparisons_of_scores_are_calibrated() -> None:
    """Regressions at alpha/2: one side of a two-sided test at alpha."""
    assert holm({"m": 0.0123}) == {"m": 0.0123}  # one metric: adjusted p = p
    rates, half = a_a_scores(), ALPHA / 2
    assert abs(rates["regressed"] - half) <= tolerance(half, N_SIMS)
    assert abs(rates["improved"] - half) <= tolerance(half, N_SIMS)
    assert abs(rates["p <= alpha"] - ALPHA) <= tolerance(ALPHA, N_SIMS)
    assert abs(rates["interval covers 0"] - (1 - ALPHA)) <= tolerance(1 - ALPHA, N_SIMS)


def test_a_a_comparisons_of_pass_fail_are_calibrated() -> None:
    """McNemar is exact, so conservative: asserted within the same band as scores."""
    rates, half = a_a_pass_fail(), ALPHA / 2
    assert abs(rates["regressed"] - half) <= tolerance(half, N_SIMS)
    assert abs(rates["improved"] - half) <= tolerance(half, N_SIMS)
    assert rates["p <= alpha"] <= ALPHA + tolerance(ALPHA, N_SIMS)


def test_a_shift_of_five_points_is_detected_at_statsmodels_power() -> None:
    """+0.05 on every case's mean score, 200 cases, 2 trials: about 80% power."""
    rates, sims = shifted_scores(), 500
    assert rates["power"] >= 0.78  # the documented design
    assert abs(rates["improved"] - rates["power"]) <= tolerance(rates["power"], sims)


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "candidate", "message"),
    [
        ({}, {}, "no matched cases"),
        ({"a": [0.5], "b": [0.1]}, {"a": [0.5], "c": [0.2]}, "same matched cases"),
        ({"a": [0.5], "b": []}, {"a": [0.5], "b": [0.1]}, "case 'b' has no trials"),
        ({"a": [0.5], "b": [math.nan]}, {"a": [0.5], "b": [0.1]}, "case 'b'.*not a finite"),
        ({"a": [0.5], "b": [0.1]}, {"a": [math.inf], "b": [0.1]}, "case 'a'.*not a finite"),
        ({"a": [0.5], "b": [None, math.nan]}, {"a": [0.5], "b": [0.1]}, "case 'b'.*not a finite"),
        ({"a": [None], "b": [None]}, {"a": [0.5], "b": [0.1]}, "no matched case has a scored"),
        ({"a": [0.5], "b": ["0.5"]}, {"a": [0.5], "b": [0.1]}, "case 'b'.*'0.5' is not a finite"),
    ],
)
def test_bad_input_raises_comparison_error(
    baseline: dict[str, list[float | None]],
    candidate: dict[str, list[float | None]],
    message: str,
) -> None:
    with pytest.raises(ComparisonError, match=message):
        PairedSample.from_mappings(baseline, candidate)


def test_other_bad_input_raises_comparison_error() -> None:
    assert issubclass(ComparisonError, ValueError)
    with pytest.raises(ComparisonError, match="at least 2 cases"):
        paired_difference(PairedSample.from_mappings({"a": [0.5]}, {"a": [0.7]}))
    with pytest.raises(ComparisonError, match="no cases"):
        mean_interval({})
    with pytest.raises(ComparisonError, match="confidence"):
        mean_interval({"a": [0.1], "b": [0.2]}, confidence=95)
    with pytest.raises(ComparisonError, match="p-value of 'x'"):
        holm({"x": math.nan})
    with pytest.raises(ComparisonError, match="case 'a': verdict 0.5"):
        mcnemar_exact({"a": [0.5]}, {"a": [True]})  # type: ignore[list-item]
    with pytest.raises(ComparisonError, match="case 'a' has no trials"):
        mcnemar_exact({"a": []}, {"a": [True]})
    with pytest.raises(ComparisonError, match="no matched cases"):
        mcnemar_exact({}, {})


def test_errored_trials_are_left_out_not_scored_zero() -> None:
    base: dict[str, list[float | None]] = {"a": [0.5, None], "b": [None, None], "c": [0.2, 0.4]}
    cand: dict[str, list[float | None]] = {"a": [0.7, 0.9], "b": [0.1, 0.3], "c": [0.2, None]}
    sample = PairedSample.from_mappings(base, cand)
    assert sample.case_ids == ("a", "c") and sample.excluded_case_ids == ("b",)
    assert sample.differences.tolist() == pytest.approx([0.3, -0.1])
    assert (sample.baseline.n_errored_trials, sample.candidate.n_errored_trials) == (3, 1)


def test_the_public_names_are_sorted_and_resolvable() -> None:
    assert compare.__all__ == sorted(compare.__all__)
    for name in compare.__all__:
        assert hasattr(compare, name), name


if __name__ == "__main__":  # the numbers in docs/compare-statistics.md
    for name, rates in [
        ("A/A scores", a_a_scores()),
        ("A/A pass/fail", a_a_pass_fail()),
        ("+0.05 shift", shifted_scores()),
    ]:
        print(name, {k: round(v, 4) for k, v in rates.items()})
