"""Trials and ``compare()``: matching, per-metric statistics, usage, moved cases, bad input.

The statistics engine has its own reference and 1,000-run simulation tests
(test_compare_statistics.py); here ``compare()`` is checked end to end: against
the engine and scipy/statsmodels on fixed data, and by a smaller simulation
through whole ``EvaluationResult``s (fixed seeds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from statsmodels.stats.contingency_tables import mcnemar

from evaltrace import (
    Case,
    CaseResult,
    ComparisonError,
    ConfigurationError,
    Contains,
    Correctness,
    EvaluationResult,
    LLMInteraction,
    Outcome,
    Score,
    ScriptedProvider,
    compare,
    evaluate_sync,
)
from evaltrace.compare import PairedSample, mean_interval, paired_difference
from evaltrace.compare._trials import with_trials
from evaltrace.report._payload import build_payload
from evaltrace.runner._plan import case_ids, content_id
from evaltrace.testing import RegressionError, assert_no_regression
from evaltrace.tracing import _attributes as attr

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def call(
    case_id: str, trial: int, *, purpose: str = "task", latency: float = 0.1
) -> LLMInteraction:
    return LLMInteraction(
        prompt="p",
        response="r",
        model="gpt-4o-mini",
        tokens_used=15,
        input_tokens=10,
        output_tokens=5,
        latency=latency,
        timestamp=T0,
        purpose=purpose,
        case_id=case_id,
        trial=trial,
        span_id=f"{abs(hash((case_id, trial, purpose, latency))):016x}"[:16],
        trace_id="0" * 32,
    )


def result(
    values: Mapping[str, Sequence[float | None]],
    *,
    name: str = "run",
    metric: str = "quality",
    latency: float = 0.1,
    errors: Sequence[str] = (),
    fingerprint: str | None = "sha256:x",
    extra_metric: str | None = None,
    calls: bool = True,
) -> EvaluationResult:
    """A result whose metric gave case ``c`` the values ``values[c]`` in trials 0, 1, ..."""
    cases = []
    for case_id, trials in values.items():
        for trial, value in enumerate(trials):
            error = "boom" if case_id in errors else None
            score = Score(metric=metric, value=None if error else value, passed=None)
            if score.value is not None:
                score = Score(metric=metric, value=score.value, passed=score.value >= 0.5)
            cases.append(
                CaseResult(
                    case=Case(input=f"question {case_id}", id=case_id),
                    case_id=case_id,
                    output=f"{name} answer {case_id}/{trial}",
                    trial=trial,
                    scores=[score]
                    + ([Score(metric=extra_metric, value=0.5)] if extra_metric else []),
                    error=error,
                    interactions=[call(case_id, trial, latency=latency)] if calls else [],
                )
            )
    return EvaluationResult.build(
        name=name,
        run_id=name,
        trace_id="0" * 32,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=1),
        cases=cases,
        interactions=[i for c in cases for i in c.interactions],
        repeat=max(len(v) for v in values.values()),
        dataset_fingerprint=fingerprint,
    )


# ---------- trials ----------


def test_repeat_runs_every_case_n_times_each_its_own_span(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    cases = [Case(input=f"q{i}", expected="yes") for i in range(4)]
    run = evaluate_sync(
        cases,
        [Contains(), Correctness()],
        task=ScriptedProvider(["yes", "no", "yes"]),
        judge=ScriptedProvider(["score: 7/10 ok", "score: 3/10 bad"]),
        repeat=3,
        tracer_provider=tracer_provider,
    )
    assert len(run.cases) == 12 and run.repeat == 3
    keys = [(c.case_id, c.trial) for c in run.cases]
    assert keys == [(i, t) for i in case_ids(cases) for t in range(3)]
    case_spans = [s for s in span_exporter.get_finished_spans() if s.name.startswith("case ")]
    assert (
        sorted(int((s.attributes or {})[attr.TRIAL]) for s in case_spans)  # type: ignore[arg-type]
        == [0] * 4 + [1] * 4 + [2] * 4
    )
    for case in run.cases:
        assert case.interactions and all(
            (i.case_id, i.trial) == (case.case_id, case.trial) for i in case.interactions
        )
    # per case: mean, spread, passes across trials
    first = run.trials[0]
    values = [
        float(c.score("contains").value or 0.0)  # type: ignore[union-attr]
        for c in run.cases
        if c.case_id == first.case_id
    ]
    assert first.trials == 3
    assert first.metrics["contains"].mean == pytest.approx(np.mean(values))
    assert first.metrics["contains"].sd == pytest.approx(np.std(values, ddof=1))
    assert first.metrics["contains"].passes == sum(v == 1.0 for v in values)
    # per metric: the case-clustered interval of compare.mean_interval
    summary = run.metrics["correctness"]
    by_case: dict[str, list[float | None]] = {}
    for case in run.cases:
        by_case.setdefault(case.case_id, []).append(case.score("correctness").value)  # type: ignore[union-attr]
    reference = mean_interval(by_case)
    assert summary.mean == pytest.approx(reference.mean)
    assert summary.interval == (reference.interval.low, reference.interval.high)
    assert summary.cases == 4 and summary.count == 12


def test_one_trial_looks_as_before(tracer_provider: TracerProvider) -> None:
    run = evaluate_sync(
        [Case(input="q", output="yes", expected="yes")],
        [Contains()],
        tracer_provider=tracer_provider,
    )
    assert run.repeat == 1 and run.trials == [] and run.metrics["contains"].interval is None
    assert (
        run.dataset_fingerprint is not None
        and run.metric_settings["contains"]["case_sensitive"] is False
    )


def test_repeat_must_be_a_positive_whole_number() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigurationError, match="repeat"):
            evaluate_sync([Case(input="q", output="a")], [Contains()], repeat=bad)


def test_content_ids_survive_reordering_and_tell_duplicates_apart() -> None:
    cases = [
        Case(input="a", expected="1"),
        Case(input="b"),
        Case(input="a", expected="1"),
        Case(input="c", id="own"),
    ]
    ids = case_ids(cases)
    assert ids[0] == content_id(cases[0]) and ids[2] == ids[0] + "~2" and ids[3] == "own"
    assert case_ids(list(reversed(cases)))[2] == ids[1]  # "b" keeps its id wherever it is
    assert content_id(Case(input={"x": 1, "y": 2})) == content_id(Case(input={"y": 2, "x": 1}))


def test_the_dataset_fingerprint_ignores_order(tracer_provider: TracerProvider) -> None:
    cases = [Case(input=f"q{i}", output="a", expected="a") for i in range(3)]
    one = evaluate_sync(cases, [Contains()], tracer_provider=tracer_provider)
    two = evaluate_sync(cases[::-1], [Contains()], tracer_provider=tracer_provider)
    other = evaluate_sync(cases[:2], [Contains()], tracer_provider=tracer_provider)
    assert one.dataset_fingerprint == two.dataset_fingerprint != other.dataset_fingerprint
    assert compare(one, two).metrics["contains"].verdict is Outcome.UNCHANGED


# ---------- compare ----------


def fixed_values(shift: float = 0.0) -> dict[str, list[float]]:
    rng = np.random.default_rng(7)
    base = rng.uniform(0.2, 0.8, (30, 2))
    return {f"c{i:02d}": list(np.clip(row + shift, 0, 1)) for i, row in enumerate(base)}


def test_identical_runs_are_unchanged_and_the_interval_contains_zero() -> None:
    run = result(fixed_values())
    comparison = compare(run, run)
    metric = comparison.metrics["quality"]
    assert metric.verdict is Outcome.UNCHANGED and metric.difference == 0.0
    assert metric.interval[0] <= 0.0 <= metric.interval[1]
    assert metric.minimum_detectable_effect == 0.0
    assert comparison.moved == [] and comparison.cases.added == comparison.cases.removed == []


def test_metrics_match_the_engine_and_statsmodels_on_fixed_data() -> None:
    base_values = fixed_values()
    rng = np.random.default_rng(3)
    cand_values = {
        c: [float(np.clip(v + rng.normal(0.05, 0.1), 0, 1)) for v in t]
        for c, t in base_values.items()
    }
    metric = compare(result(base_values), result(cand_values)).metrics["quality"]
    engine = paired_difference(PairedSample.from_mappings(base_values, cand_values))
    assert metric.difference == pytest.approx(engine.difference)
    assert metric.interval == pytest.approx((engine.interval.low, engine.interval.high), abs=1e-9)
    assert metric.p_value == pytest.approx(engine.p_value)
    base_pass = [v >= 0.5 for t in base_values.values() for v in t]
    cand_pass = [v >= 0.5 for t in cand_values.values() for v in t]
    table = [
        [
            sum(b and c for b, c in zip(base_pass, cand_pass, strict=True)),
            sum(b and not c for b, c in zip(base_pass, cand_pass, strict=True)),
        ],
        [
            sum(c and not b for b, c in zip(base_pass, cand_pass, strict=True)),
            sum(not b and not c for b, c in zip(base_pass, cand_pass, strict=True)),
        ],
    ]
    assert metric.pass_rate is not None
    assert metric.pass_rate.p_value == pytest.approx(mcnemar(table, exact=True).pvalue)
    # Holm over the score's t-test and the McNemar test
    small, large = sorted([metric.p_value, metric.pass_rate.p_value])
    assert min(metric.p_adjusted, metric.pass_rate.p_adjusted) == pytest.approx(min(1.0, 2 * small))


def test_a_clear_shift_regresses_and_gates_report_it() -> None:
    base = result(fixed_values(), name="base")
    worse = result(fixed_values(-0.3), name="worse", latency=0.3)
    comparison = compare(base, worse)
    assert comparison.regressed == ["quality"] and comparison.metrics["quality"].difference < 0
    assert comparison.budget.latency_change_pct == pytest.approx(200.0)
    assert comparison.over_budget(max_latency_increase=50) and not comparison.over_budget(
        max_latency_increase=250
    )
    assert comparison.over_budget(max_cost_increase=0) == []  # scripted calls have no price change
    assert str(comparison.moved[0].candidate_outputs[0]).startswith("worse answer")
    assert comparison.moved[0].baseline_span_ids == [
        i.span_id
        for c in base.cases
        if c.case_id == comparison.moved[0].case_id
        for i in c.interactions
    ]


def test_a_removed_case_is_never_a_pass_and_added_ones_are_listed() -> None:
    base = fixed_values()
    base["gone"] = [0.0, 0.0]  # a failing case the candidate dropped
    cand = fixed_values()
    cand["new"] = [1.0, 1.0]
    comparison = compare(result(base), result(cand))
    assert comparison.cases.removed == ["gone"] and comparison.cases.added == ["new"]
    metric = comparison.metrics["quality"]
    assert metric.cases == 30 and metric.difference == 0.0  # neither counted as a pass nor a 0
    assert metric.verdict is Outcome.UNCHANGED


def test_errored_cases_are_listed_and_left_out_not_scored_zero() -> None:
    cand = result(fixed_values(), errors=["c03"])
    comparison = compare(result(fixed_values()), cand)
    assert comparison.cases.errored == ["c03"]
    assert comparison.cases.errored_detail[0].side == "candidate"
    metric = comparison.metrics["quality"]
    assert metric.excluded_cases == ["c03"] and metric.cases == 29 and metric.difference == 0.0


def test_different_datasets_and_metric_sets() -> None:
    with pytest.raises(ComparisonError, match="no case in common"):
        compare(result({"a": [0.1], "b": [0.2]}), result({"x": [0.1], "y": [0.2]}))
    with pytest.raises(ComparisonError, match="no metric can be compared.*only in the baseline"):
        compare(result(fixed_values()), result(fixed_values(), metric="other"))
    partial = compare(result(fixed_values(), extra_metric="tone"), result(fixed_values()))
    assert list(partial.metrics) == ["quality"]
    assert partial.left_out == {"tone": "only in the baseline"}
    assert any("left out: tone" in w for w in partial.warnings)


def test_json_has_the_documented_keys() -> None:
    data = compare(result(fixed_values()), result(fixed_values(0.1))).model_dump(mode="json")
    metric = data["metrics"]["quality"]
    for key in ("baseline_mean", "candidate_mean", "difference", "interval", "p_value", "verdict"):
        assert key in metric
    assert len(metric["interval"]) == 2 and metric["verdict"] in (
        "improved",
        "regressed",
        "unchanged",
    )
    assert set(data["cases"]) >= {"added", "removed", "errored"}
    assert data["settings"]["seed"] == 20261201


def test_assert_no_regression(tmp_path: object) -> None:
    base = result(fixed_values(), name="base")
    assert assert_no_regression(result(fixed_values(0.05)), base).regressed == []
    with pytest.raises(RegressionError, match=r"quality: .* p \(Holm\)") as caught:
        assert_no_regression(result(fixed_values(-0.3)), base)
    assert "worse" not in str(caught.value) and "cases that moved most" in str(caught.value)


# ---------- simulation through compare() ----------

SIM_CASES, SIM_TRIALS, KAPPA = 200, 2, 2.5


def simulated(
    rng: np.random.Generator, mu: np.ndarray, shift: float, name: str
) -> EvaluationResult:
    m = np.clip(mu + shift, 0.01, 0.99)
    trials = rng.beta(m * KAPPA, (1 - m) * KAPPA, (SIM_CASES, SIM_TRIALS))
    return result({f"c{i:03d}": list(row) for i, row in enumerate(trials)}, name=name, calls=False)


def rates(runs: int, shift: float, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    regressed = improved = 0
    for _ in range(runs):
        mu = 0.05 + 0.85 * rng.beta(2.0, 2.0, (SIM_CASES, 1))
        verdict = (
            compare(simulated(rng, mu, 0.0, "a"), simulated(rng, mu, shift, "b"))
            .metrics["quality"]
            .verdict
        )
        regressed += verdict is Outcome.REGRESSED
        improved += verdict is Outcome.IMPROVED
    return regressed / runs, improved / runs


def test_a_a_comparisons_through_compare_flag_regressions_at_alpha() -> None:
    """200 A/A comparisons of 200 cases x 2 trials: ``regressed`` within 2.5% + 3 sd (5.8%).

    (The 1,000-run calibration of the same statistics is in test_compare_statistics.py.)
    """
    runs = 200
    regressed, improved = rates(runs, 0.0, seed=11)
    tolerance = 3 * math.sqrt(0.025 * 0.975 / runs)
    assert regressed <= 0.025 + tolerance and improved <= 0.025 + tolerance


def test_a_shift_of_eight_points_is_detected_through_compare() -> None:
    """+0.08 on every case's mean (power ~0.97 by TTestPower): improved in >= 80% of 50 runs."""
    regressed, improved = rates(50, 0.08, seed=12)
    assert regressed == 0.0 and improved >= 0.8


def test_the_run_report_carries_trials_and_intervals() -> None:
    run = result(fixed_values())
    payload = build_payload(with_trials(run))
    assert payload["run"]["repeat"] == 2 and len(payload["trials"]) == 30
    assert payload["metrics"][0]["interval"] is not None
    assert {c["trial"] for c in payload["cases"]} == {0, 1}


def test_a_cost_rising_from_nothing_exceeds_any_cost_budget() -> None:
    comparison = compare(result(fixed_values()), result(fixed_values()))
    budget = comparison.budget.model_copy(
        update={
            "baseline_cost_per_case": 0.0,
            "candidate_cost_per_case": 0.002,
            "cost_change_pct": None,
        }
    )
    priced = comparison.model_copy(update={"budget": budget})
    (miss,) = priced.over_budget(max_cost_increase=1000)
    assert miss.startswith("cost per case rose from nothing")
    assert priced.over_budget(max_latency_increase=1000) == []
