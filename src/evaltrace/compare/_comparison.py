"""``Comparison``: what ``compare(baseline, candidate)`` returns, as typed, saveable records."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from evaltrace.compare._decision import Outcome
from evaltrace.results import UsageSummary

__all__ = [
    "Budget",
    "CaseMatching",
    "Comparison",
    "ComparisonSettings",
    "ErroredCase",
    "MetricComparison",
    "MovedCase",
    "PassRateComparison",
    "RunSide",
    "UsageComparison",
    "UsageDifference",
]

_FROZEN = ConfigDict(frozen=True)


class PassRateComparison(BaseModel):
    """A pass/fail metric's pass rates: exact McNemar over (case, trial) pairs.

    ``interval`` is the case-bootstrap interval of the pass-rate difference (it
    counts cases, where McNemar counts pairs); the verdict needs both to agree.
    """

    model_config = _FROZEN

    baseline_rate: float
    candidate_rate: float
    difference: float
    interval: tuple[float, float]
    p_value: float
    p_adjusted: float
    verdict: Outcome
    baseline_only: int
    candidate_only: int
    pairs: int
    unpaired_trials: int = 0
    errored_pairs: int = 0
    minimum_detectable_effect: float | None = None


class MetricComparison(BaseModel):
    """One metric, candidate minus baseline, over the matched cases.

    ``difference`` is the paired difference of means over cases (each case's
    value the mean over its trials); ``interval`` its case-bootstrap interval;
    ``p_value`` a two-sided t-test of the per-case differences, ``p_adjusted``
    Holm's across every test of the comparison. ``verdict`` is ``regressed`` when
    the score or the pass rate regressed, else ``improved`` when either improved.
    ``minimum_detectable_effect`` (when unchanged): the smallest true difference
    these cases would detect with 80% power.
    """

    model_config = _FROZEN

    metric: str
    baseline_mean: float
    candidate_mean: float
    difference: float
    interval: tuple[float, float]
    interval_method: str
    baseline_interval: tuple[float, float]
    candidate_interval: tuple[float, float]
    p_value: float
    p_adjusted: float
    verdict: Outcome
    score_verdict: Outcome
    minimum_detectable_effect: float | None
    cases: int
    baseline_trials: int
    candidate_trials: int
    excluded_cases: list[str] = Field(default_factory=list)
    pass_rate: PassRateComparison | None = None
    settings_differ: bool = False


class ErroredCase(BaseModel):
    """A matched case whose task failed in some trial: those trials are left out, never 0."""

    model_config = _FROZEN

    case_id: str
    side: str
    trials: list[int]
    error: str


class CaseMatching(BaseModel):
    """How the two runs' cases matched, by id (and trial)."""

    model_config = _FROZEN

    matched: int
    added: list[str]
    removed: list[str]
    errored: list[str]
    errored_detail: list[ErroredCase] = Field(default_factory=list)


class UsageDifference(BaseModel):
    """Candidate minus baseline (None where either side has no value)."""

    model_config = _FROZEN

    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    tokens: int
    cost_usd: float | None
    latency_p50: float | None
    latency_p95: float | None


class UsageComparison(BaseModel):
    """Usage of one group of calls (a purpose, a model, both, or all) in both runs."""

    model_config = _FROZEN

    purpose: str | None
    model: str | None
    baseline: UsageSummary
    candidate: UsageSummary
    difference: UsageDifference


class Budget(BaseModel):
    """What the budget gates measure, per run.

    ``cost_per_case``: the cost of all calls (task and judges) divided by the
    case results (cases x trials); ``latency_p95``: the p95 latency of the task's
    calls (of all calls when the runs made none for the task). Changes in percent.
    """

    model_config = _FROZEN

    baseline_cost_per_case: float | None
    candidate_cost_per_case: float | None
    cost_change_pct: float | None
    latency_purpose: str
    baseline_latency_p95: float | None
    candidate_latency_p95: float | None
    latency_change_pct: float | None


class MovedCase(BaseModel):
    """A matched case whose scores moved most, with both runs' outputs and their calls."""

    model_config = _FROZEN

    case_id: str
    movement: float
    input: JsonValue
    expected: JsonValue
    scores: dict[str, tuple[float | None, float | None]]
    baseline_outputs: list[JsonValue]
    candidate_outputs: list[JsonValue]
    baseline_span_ids: list[str]
    candidate_span_ids: list[str]


class RunSide(BaseModel):
    """Which run a side of the comparison is."""

    model_config = _FROZEN

    name: str
    run_id: str
    trace_id: str
    started_at: datetime
    cases: int
    repeat: int
    dataset_fingerprint: str | None
    models: dict[str, str]
    source: str | None = None


class ComparisonSettings(BaseModel):
    """How every number was computed (a comparison is reproducible from these)."""

    model_config = _FROZEN

    confidence: float
    alpha: float
    n_resamples: int
    seed: int
    method: str
    estimand: str
    test: str
    pass_fail_test: str
    multiple_comparisons: str = "Holm (statsmodels multipletests), across every test above"


class Comparison(BaseModel):
    """Candidate vs baseline: per metric, the cases, usage and cost, the cases that moved.

    ``left_out`` names what could not be compared and why (a metric in one run
    only, or with fewer than 2 scored cases); ``warnings`` what to check before
    trusting the numbers (a different dataset fingerprint, different metric settings).
    """

    model_config = _FROZEN

    baseline: RunSide
    candidate: RunSide
    settings: ComparisonSettings
    metrics: dict[str, MetricComparison]
    left_out: dict[str, str] = Field(default_factory=dict)
    cases: CaseMatching
    usage: list[UsageComparison] = Field(default_factory=list)
    usage_by_purpose: list[UsageComparison] = Field(default_factory=list)
    usage_by_model: list[UsageComparison] = Field(default_factory=list)
    total: UsageComparison
    budget: Budget
    moved: list[MovedCase] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def regressed(self) -> list[str]:
        """The metrics that regressed significantly."""
        return [m for m, c in self.metrics.items() if c.verdict is Outcome.REGRESSED]

    @property
    def improved(self) -> list[str]:
        """The metrics that improved significantly (and did not regress)."""
        return [m for m, c in self.metrics.items() if c.verdict is Outcome.IMPROVED]

    def over_budget(
        self, *, max_cost_increase: float | None = None, max_latency_increase: float | None = None
    ) -> list[str]:
        """One line per budget gate exceeded (percent increases of ``budget``)."""
        misses = []
        cost, latency = self.budget.cost_change_pct, self.budget.latency_change_pct
        before, after = self.budget.baseline_cost_per_case, self.budget.candidate_cost_per_case
        from_nothing = cost is None and before == 0 and after is not None and after > 0
        if max_cost_increase is not None and (from_nothing or (cost or 0.0) > max_cost_increase):
            rise = "from nothing" if from_nothing else f"{cost:+.1f}%"
            misses.append(
                f"cost per case rose {rise} (limit +{max_cost_increase:g}%): "
                f"{before or 0.0:.6f} -> {after or 0.0:.6f} USD"
            )
        if max_latency_increase is not None and latency is not None:
            if latency > max_latency_increase:
                misses.append(
                    f"p95 latency of {self.budget.latency_purpose} calls rose {latency:+.1f}% "
                    f"(limit +{max_latency_increase:g}%): {self.budget.baseline_latency_p95:.3f} "
                    f"-> {self.budget.candidate_latency_p95:.3f} s"
                )
        return misses
