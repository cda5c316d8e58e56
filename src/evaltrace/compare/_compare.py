"""``compare(baseline, candidate)``: two ``EvaluationResult``s in, a ``Comparison`` out.

Pure: no model is called. Cases are matched by id, trials by number; added,
removed and errored cases are listed, never counted as passes or zeros. Every
metric in both runs gets a paired difference (case bootstrap), a t-test, and
for pass/fail metrics an exact McNemar test; Holm adjusts across all the tests.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass

from evaltrace.compare._bootstrap import BootstrapSettings
from evaltrace.compare._comparison import (
    CaseMatching,
    Comparison,
    ComparisonSettings,
    ErroredCase,
    MetricComparison,
    PassRateComparison,
    RunSide,
)
from evaltrace.compare._decision import Outcome, Verdict, holm, verdict
from evaltrace.compare._errors import ComparisonError
from evaltrace.compare._estimates import (
    DIFFERENCE_ESTIMAND,
    DIFFERENCE_TEST,
    PairedEstimates,
    paired_estimates,
)
from evaltrace.compare._moved import moved_cases
from evaltrace.compare._pass_fail import MCNEMAR_TEST, McNemarResult, mcnemar_exact
from evaltrace.compare._samples import PairedSample
from evaltrace.compare._settings import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED
from evaltrace.compare._usage import budget, usage_groups
from evaltrace.records import CaseResult, Score
from evaltrace.results import EvaluationResult

__all__ = ["MOVED_CASES", "compare"]

#: Cases listed as "moved most" unless ``moved`` says otherwise.
MOVED_CASES = 10
_PASS = "\x00pass"  # key suffix of a metric's pass-rate sample (no metric name has a NUL)


@dataclass(frozen=True)
class _Side:
    """One run's case results by case id (trials in order), and each trial's scores by metric.

    A trial whose task failed has no scores here: its values are None (left out).
    """

    result: EvaluationResult
    by_case: dict[str, list[CaseResult]]
    scores: dict[str, list[dict[str, Score]]]

    @classmethod
    def of(cls, result: EvaluationResult) -> _Side:
        by_case: dict[str, list[CaseResult]] = {}
        for case in result.cases:
            by_case.setdefault(case.case_id, []).append(case)
        for trials in by_case.values():
            trials.sort(key=_trial_number)
        scores = {
            case_id: [
                {} if t.error is not None else {s.metric: s for s in t.scores} for t in trials
            ]
            for case_id, trials in by_case.items()
        }
        return cls(result, by_case, scores)


def _trial_number(case: CaseResult) -> int:
    return case.trial


def compare(
    baseline: EvaluationResult,
    candidate: EvaluationResult,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    moved: int = MOVED_CASES,
) -> Comparison:
    """Compare ``candidate`` with ``baseline``, metric by metric, case by case.

    Raises:
        ComparisonError: no case in common (different datasets), no metric in
            common, or a confidence outside (0, 1).
    """
    settings = BootstrapSettings(confidence, n_resamples, seed)
    base, cand = _Side.of(baseline), _Side.of(candidate)
    matching = _match(base, cand)
    matched = sorted(base.by_case.keys() & cand.by_case.keys())
    names, left_out = _metric_names(baseline, candidate)
    samples, verdicts, more_left_out = _samples(base, cand, matched, names)
    left_out.update(more_left_out)
    if not samples:
        raise ComparisonError(_nothing_comparable(left_out))
    metrics = _metrics(samples, verdicts, settings)
    groups = usage_groups(baseline, candidate)
    return Comparison(
        baseline=_run_side(baseline),
        candidate=_run_side(candidate),
        settings=_settings(settings),
        metrics=_flag_settings(metrics, baseline, candidate),
        left_out=left_out,
        cases=matching,
        usage=groups["usage"],
        usage_by_purpose=groups["usage_by_purpose"],
        usage_by_model=groups["usage_by_model"],
        total=groups["total"][0],
        budget=budget(baseline, candidate),
        moved=moved_cases(base.by_case, cand.by_case, samples, limit=moved),
        warnings=_warnings(baseline, candidate, metrics, left_out),
    )


def _match(base: _Side, cand: _Side) -> CaseMatching:
    common = base.by_case.keys() & cand.by_case.keys()
    if not common:
        raise ComparisonError(
            f"no case in common: the runs are of different datasets "
            f"(baseline {_described(base.result)}; candidate {_described(cand.result)})"
        )
    errored = [
        ErroredCase(
            case_id=case_id,
            side=side,
            trials=[t.trial for t in failed],
            error=failed[0].error or "",
        )
        for case_id in sorted(common)
        for side, runs in (("baseline", base.by_case), ("candidate", cand.by_case))
        if (failed := [t for t in runs[case_id] if t.error is not None])
    ]
    return CaseMatching(
        matched=len(common),
        added=sorted(cand.by_case.keys() - common),
        removed=sorted(base.by_case.keys() - common),
        errored=sorted({e.case_id for e in errored}),
        errored_detail=errored,
    )


def _described(result: EvaluationResult) -> str:
    cases = len({c.case_id for c in result.cases})
    return f"{result.name!r}, {cases} cases, dataset {result.dataset_fingerprint or 'unknown'}"


def _metric_names(
    baseline: EvaluationResult, candidate: EvaluationResult
) -> tuple[list[str], dict[str, str]]:
    base, cand = list(baseline.metrics), list(candidate.metrics)
    left_out = {m: "only in the baseline" for m in base if m not in candidate.metrics}
    left_out |= {m: "only in the candidate" for m in cand if m not in baseline.metrics}
    return [m for m in base if m in candidate.metrics], left_out


def _nothing_comparable(left_out: dict[str, str]) -> str:
    if not left_out:
        return "no metric to compare: neither run scored any metric"
    reasons = "; ".join(f"{m}: {why}" for m, why in left_out.items())
    return f"no metric can be compared ({reasons})"


def _samples(
    base: _Side, cand: _Side, matched: Sequence[str], names: Sequence[str]
) -> tuple[dict[str, PairedSample], dict[str, McNemarResult], dict[str, str]]:
    samples: dict[str, PairedSample] = {}
    verdicts: dict[str, McNemarResult] = {}
    left_out: dict[str, str] = {}
    for name in names:
        try:
            sample = PairedSample.from_mappings(
                _values(base, matched, name), _values(cand, matched, name)
            )
            if sample.n_cases < 2:
                raise ComparisonError(f"{sample.n_cases} case scored in both runs (needs 2)")
        except ComparisonError as error:
            left_out[name] = str(error)
            continue
        samples[name] = sample
        passes = _passes(base, matched, name), _passes(cand, matched, name)
        if _has_verdicts(passes[0]) and _has_verdicts(passes[1]):
            _add_pass_rate(name, passes, samples, verdicts)
    return samples, verdicts, left_out


def _add_pass_rate(
    name: str,
    passes: tuple[dict[str, list[bool | None]], dict[str, list[bool | None]]],
    samples: dict[str, PairedSample],
    verdicts: dict[str, McNemarResult],
) -> None:
    try:
        sample = PairedSample.from_mappings(*(_as_numbers(p) for p in passes))
        verdicts[name] = mcnemar_exact(*passes)
    except ComparisonError:
        return  # no pair with a verdict on both sides: the score comparison stands alone
    if sample.n_cases >= 2:
        samples[name + _PASS] = sample
    else:
        del verdicts[name]


def _values(side: _Side, matched: Sequence[str], name: str) -> dict[str, list[float | None]]:
    return {c: [_value(t.get(name)) for t in side.scores[c]] for c in matched}


def _value(score: Score | None) -> float | None:
    return None if score is None else score.value


def _passes(side: _Side, matched: Sequence[str], name: str) -> dict[str, list[bool | None]]:
    return {c: [_passed(t.get(name)) for t in side.scores[c]] for c in matched}


def _passed(score: Score | None) -> bool | None:
    return None if score is None or score.value is None else score.passed


def _has_verdicts(passes: dict[str, list[bool | None]]) -> bool:
    return any(v is not None for trials in passes.values() for v in trials)


def _as_numbers(passes: dict[str, list[bool | None]]) -> dict[str, list[float | None]]:
    return {c: [None if v is None else float(v) for v in trials] for c, trials in passes.items()}


def _metrics(
    samples: dict[str, PairedSample],
    mcnemar: dict[str, McNemarResult],
    settings: BootstrapSettings,
) -> dict[str, MetricComparison]:
    estimates = paired_estimates(
        samples,
        confidence=settings.confidence,
        n_resamples=settings.n_resamples,
        seed=settings.seed,
        method=settings.method,
    )
    family = {n: e.difference.p_value for n, e in estimates.items() if not n.endswith(_PASS)}
    family |= {n + _PASS: result.p_value for n, result in mcnemar.items()}
    adjusted = _holm_without_full_collection(family)
    size = len(family)
    metrics = {}
    for name, estimate in estimates.items():
        if name.endswith(_PASS):
            continue
        score = verdict(estimate.difference, adjusted[name], family_size=size)
        pass_rate = None
        if name in mcnemar:
            pass_rate = _pass_rate(
                estimates[name + _PASS], mcnemar[name], adjusted[name + _PASS], size
            )
        metric = _metric(name, estimate, score, pass_rate)
        excluded = list(samples[name].excluded_case_ids)
        metrics[name] = (
            metric.model_copy(update={"excluded_cases": excluded}) if excluded else metric
        )
    return metrics


def _holm_without_full_collection(family: dict[str, float]) -> dict[str, float]:
    """``holm``, with the objects alive now frozen: statsmodels' Holm runs ``gc.collect()``.

    A full collection walks every live object (both results: seconds at 100,000
    cases); frozen objects are skipped, and are unfrozen right after.
    """
    gc.freeze()
    try:
        return holm(family)
    finally:
        gc.unfreeze()


def _pass_rate(
    estimate: PairedEstimates, test: McNemarResult, p_adjusted: float, family_size: int
) -> PassRateComparison:
    outcome = verdict(estimate.difference, p_adjusted, family_size=family_size)
    difference = estimate.difference
    return PassRateComparison(
        baseline_rate=difference.baseline_mean,
        candidate_rate=difference.candidate_mean,
        difference=difference.difference,
        interval=(difference.interval.low, difference.interval.high),
        p_value=test.p_value,
        p_adjusted=p_adjusted,
        verdict=outcome.outcome,
        baseline_only=test.baseline_only,
        candidate_only=test.candidate_only,
        pairs=test.n_pairs,
        unpaired_trials=test.n_unpaired_trials,
        errored_pairs=test.n_errored_pairs,
        minimum_detectable_effect=outcome.minimum_detectable_effect,
    )


def _metric(
    name: str, estimate: PairedEstimates, score: Verdict, pass_rate: PassRateComparison | None
) -> MetricComparison:
    d = estimate.difference
    outcomes = {score.outcome, *([pass_rate.verdict] if pass_rate else [])}
    overall = Outcome.UNCHANGED
    if Outcome.REGRESSED in outcomes:
        overall = Outcome.REGRESSED
    elif Outcome.IMPROVED in outcomes:
        overall = Outcome.IMPROVED
    b, c = estimate.baseline.interval, estimate.candidate.interval
    return MetricComparison(
        metric=name,
        baseline_mean=d.baseline_mean,
        candidate_mean=d.candidate_mean,
        difference=d.difference,
        interval=(d.interval.low, d.interval.high),
        interval_method=d.interval.method.value
        + (f" ({d.interval.note})" if d.interval.note else ""),
        baseline_interval=(b.low, b.high),
        candidate_interval=(c.low, c.high),
        p_value=d.p_value,
        p_adjusted=score.p_adjusted,
        verdict=overall,
        score_verdict=score.outcome,
        minimum_detectable_effect=score.minimum_detectable_effect,
        cases=d.n_cases,
        baseline_trials=d.n_trials_baseline,
        candidate_trials=d.n_trials_candidate,
        excluded_cases=[],
        pass_rate=pass_rate,
    )


def _flag_settings(
    metrics: dict[str, MetricComparison], baseline: EvaluationResult, candidate: EvaluationResult
) -> dict[str, MetricComparison]:
    flagged = {}
    for name, metric in metrics.items():
        before, after = baseline.metric_settings.get(name), candidate.metric_settings.get(name)
        differ = before is not None and after is not None and before != after
        flagged[name] = metric.model_copy(update={"settings_differ": differ}) if differ else metric
    return flagged


def _warnings(
    baseline: EvaluationResult,
    candidate: EvaluationResult,
    metrics: dict[str, MetricComparison],
    left_out: dict[str, str],
) -> list[str]:
    warnings = []
    b_print, c_print = baseline.dataset_fingerprint, candidate.dataset_fingerprint
    if b_print and c_print and b_print != c_print:
        warnings.append(
            "the datasets differ (fingerprints differ): only matched cases are compared"
        )
    for side, result in (("baseline", baseline), ("candidate", candidate)):
        if result.dataset_fingerprint is None:
            warnings.append(
                f"the {side} has no dataset fingerprint (saved before results schema 6, or "
                "built by hand): its cases without an id may carry their position as id"
            )
    for name, metric in metrics.items():
        if metric.settings_differ:
            warnings.append(f"metric {name!r} ran with different settings in the two runs")
    if left_out:
        warnings.append("left out: " + "; ".join(f"{m} ({why})" for m, why in left_out.items()))
    return warnings


def _run_side(result: EvaluationResult) -> RunSide:
    return RunSide(
        name=result.name,
        run_id=result.run_id,
        trace_id=result.trace_id,
        started_at=result.started_at,
        cases=len({c.case_id for c in result.cases}),
        repeat=result.repeat,
        dataset_fingerprint=result.dataset_fingerprint,
        models=dict(result.models),
    )


def _settings(settings: BootstrapSettings) -> ComparisonSettings:
    return ComparisonSettings(
        confidence=settings.confidence,
        alpha=settings.alpha,
        n_resamples=settings.n_resamples,
        seed=settings.seed,
        method=settings.method.value,
        estimand=DIFFERENCE_ESTIMAND,
        test=DIFFERENCE_TEST,
        pass_fail_test=MCNEMAR_TEST,
    )
