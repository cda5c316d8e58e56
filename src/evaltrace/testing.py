"""Assert evaluation thresholds in a project's own test suite (pytest or any runner).

    result = await evaluate(cases, [Correctness()], task=answer, judge="openai:gpt-4o-mini")
    assert_thresholds(result, correctness=0.8)

    assert_no_regression(result, "baseline.json")  # no metric significantly worse

A miss raises ``ThresholdError`` (an ``AssertionError``), whose message names
each metric below its minimum, then the worst cases of those metrics with their
scores, explanations and every model call made for them (purpose, model,
tokens, latency, span id, prompt and response), so the failure is debuggable
from the test report alone. ``evaltrace run --fail-under`` applies the same check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaltrace._values import one_line
from evaltrace.compare import Comparison, ComparisonError, compare
from evaltrace.exceptions import ConfigurationError
from evaltrace.history import is_results_path, load_run_result
from evaltrace.records import CaseResult, LLMInteraction
from evaltrace.results import EvaluationResult

__all__ = [
    "RegressionError",
    "ThresholdError",
    "ThresholdMiss",
    "assert_no_regression",
    "assert_thresholds",
    "check_thresholds",
    "explain_misses",
    "worst_cases_of",
]

_EXCERPT = 240
_WORST_CASES = 3


@dataclass(frozen=True)
class ThresholdMiss:
    """One metric whose mean score is below its minimum (or that scored no case)."""

    metric: str
    minimum: float
    mean: float | None
    scored: int
    failures: int
    ran: bool = True

    def __str__(self) -> str:
        if not self.ran:
            return f"{self.metric}: not run in this evaluation (minimum {self.minimum:.3f})"
        if self.mean is None:
            return (
                f"{self.metric}: no case was scored ({self.failures} failures); "
                f"minimum {self.minimum:.3f}"
            )
        return (
            f"{self.metric}: mean {self.mean:.3f} < {self.minimum:.3f} "
            f"({self.scored} cases scored, {self.failures} failures)"
        )


class ThresholdError(AssertionError):
    """An evaluation missed one or more thresholds; ``misses`` says which."""

    def __init__(self, message: str, misses: Sequence[ThresholdMiss]) -> None:
        super().__init__(message)
        self.misses = list(misses)


def check_thresholds(
    result: EvaluationResult, minimums: Mapping[str, float]
) -> list[ThresholdMiss]:
    """The metrics of ``minimums`` whose mean score in ``result`` is below the minimum.

    A metric that scored no case misses; so does one the evaluation did not run.
    """
    misses = []
    for metric, minimum in minimums.items():
        _check_minimum(metric, minimum)
        summary = result.metrics.get(metric)
        if summary is None:
            misses.append(ThresholdMiss(metric, minimum, None, 0, 0, ran=False))
        elif summary.mean is None or summary.mean < minimum:
            misses.append(
                ThresholdMiss(metric, minimum, summary.mean, summary.count, summary.failures)
            )
    return misses


def assert_thresholds(
    result: EvaluationResult,
    minimums: Mapping[str, float] | None = None,
    /,
    *,
    worst_cases: int = _WORST_CASES,
    **minimum_by_metric: float,
) -> None:
    """Raise ``ThresholdError`` unless every metric's mean score reaches its minimum.

    Give minimums as keywords (``correctness=0.8``) or as a mapping, for metric
    names that are not identifiers (``{"regex:\\\\d+": 1.0}``).
    """
    wanted = {**(minimums or {}), **minimum_by_metric}
    if not wanted:
        raise ConfigurationError("assert_thresholds needs at least one metric=minimum")
    misses = check_thresholds(result, wanted)
    if misses:
        raise ThresholdError(explain_misses(result, misses, worst_cases=worst_cases), misses)


def explain_misses(
    result: EvaluationResult, misses: Sequence[ThresholdMiss], *, worst_cases: int = _WORST_CASES
) -> str:
    """The failure message: the misses, then each missed metric's worst cases in full."""
    lines = [f"evaluation {result.name!r} missed {len(misses)} threshold(s):"]
    lines += [f"  {miss}" for miss in misses]
    for miss in misses:
        cases = worst_cases_of(result, miss.metric)[:worst_cases]
        if cases:
            lines.append(f"worst cases for {miss.metric}:")
            for case in cases:
                lines += _case_lines(case, miss.metric)
    return "\n".join(lines)


def worst_cases_of(result: EvaluationResult, metric: str) -> list[CaseResult]:
    """The cases ``metric`` scored, failures first, then lowest score first."""
    scored = [(score, case) for case in result.cases if (score := case.score(metric)) is not None]
    scored.sort(key=lambda pair: -1.0 if pair[0].value is None else pair[0].value)
    return [case for _, case in scored]


def _check_minimum(metric: str, minimum: float) -> None:
    if isinstance(minimum, bool) or not isinstance(minimum, int | float):
        raise ConfigurationError(f"the minimum for {metric!r} must be a number, not {minimum!r}")
    if not 0 <= minimum <= 1:
        raise ConfigurationError(
            f"the minimum for {metric!r} must be between 0 and 1 (scores are 0..1), not {minimum}"
        )


def _case_lines(case: CaseResult, metric: str) -> list[str]:
    score = case.score(metric)
    assert score is not None
    value = "failed" if score.value is None else f"{score.value:.3f}"
    lines = [
        f"  case {case.case_id!r}: {metric} {value}",
        f"    input:    {_excerpt(case.case.input)}",
        f"    output:   {_excerpt(case.output)}",
    ]
    if case.case.expected is not None:
        lines.append(f"    expected: {_excerpt(case.case.expected)}")
    if score.explanation:
        lines.append(f"    explanation: {_excerpt(score.explanation)}")
    for problem in (case.error, score.error):
        if problem:
            lines.append(f"    error: {_excerpt(problem)}")
    lines.append(f"    model calls ({len(case.interactions)}):")
    for interaction in case.interactions:
        lines += _interaction_lines(interaction)
    return lines


def _interaction_lines(interaction: LLMInteraction) -> list[str]:
    tokens = f"{interaction.input_tokens or 0} in / {interaction.output_tokens or 0} out tokens"
    lines = [
        f"      [{interaction.purpose}] {interaction.model}, {tokens}, "
        f"{interaction.latency * 1000:.0f} ms, span {interaction.span_id or '-'}",
        f"        prompt:   {_excerpt(interaction.prompt)}",
        f"        response: {_excerpt(interaction.response)}",
    ]
    if interaction.error:
        lines.append(f"        error:    {_excerpt(interaction.error)}")
    return lines


def _excerpt(value: Any) -> str:
    """One line; a long text keeps its start and its end (where a judge prompt's answer is)."""
    text = one_line(value)
    if text is None:
        return "-"
    flat = " ".join(text.split())
    if len(flat) <= _EXCERPT:
        return flat
    half = _EXCERPT // 2
    return f"{flat[:half]} … {flat[-half:]}"


class RegressionError(AssertionError):
    """A run regressed against its baseline; ``comparison`` holds every number."""

    def __init__(self, message: str, comparison: Comparison) -> None:
        super().__init__(message)
        self.comparison = comparison


def assert_no_regression(
    result: EvaluationResult,
    baseline: EvaluationResult | str | Path,
    *,
    confidence: float = 0.95,
    metrics: Sequence[str] | None = None,
    moved: int = _WORST_CASES,
    store: str | None = None,
) -> Comparison:
    """Raise ``RegressionError`` if a metric of ``result`` regressed significantly vs ``baseline``.

    ``baseline`` is a result, the path of a saved one, or a run recorded in
    the run store (``"qa@latest"``, ``"qa@3f2c1a"``, a run id; ``store``
    defaults to ``$EVALTRACE_STORE``, else ``.evaltrace/runs.db``). ``metrics`` limits the
    check to those metrics (all compared metrics by default). The message names
    each regressed metric with its difference, interval and Holm-adjusted
    p-value, then the cases that moved most with both outputs. Returns the
    comparison when nothing regressed.
    """
    base = _baseline(baseline, store)
    try:
        comparison = compare(base, result, confidence=confidence, moved=moved)
    except ComparisonError as error:
        raise ConfigurationError(f"cannot compare with the baseline: {error}") from None
    regressed = [m for m in comparison.regressed if metrics is None or m in metrics]
    if regressed:
        raise RegressionError(_regression_message(comparison, regressed), comparison)
    return comparison


def _baseline(baseline: EvaluationResult | str | Path, store: str | None) -> EvaluationResult:
    if isinstance(baseline, EvaluationResult):
        return baseline
    if isinstance(baseline, Path) or is_results_path(baseline):
        return EvaluationResult.load(baseline)
    return load_run_result(baseline, store)


def _regression_message(comparison: Comparison, regressed: Sequence[str]) -> str:
    lines = [
        f"evaluation {comparison.candidate.name!r} regressed on {len(regressed)} metric(s) "
        f"vs baseline {comparison.baseline.name!r} ({comparison.cases.matched} matched cases):"
    ]
    for name in regressed:
        m = comparison.metrics[name]
        lines.append(
            f"  {name}: {m.baseline_mean:.3f} -> {m.candidate_mean:.3f} ({m.difference:+.3f}, "
            f"{comparison.settings.confidence:.0%} interval [{m.interval[0]:+.3f}, "
            f"{m.interval[1]:+.3f}], p (Holm) {m.p_adjusted:.3g})"
        )
    lines.append("cases that moved most:")
    for case in comparison.moved:
        lines.append(f"  case {case.case_id!r}: moved {case.movement:+.3f}")
        lines.append(f"    input:     {_excerpt(case.input)}")
        for side, outputs in (
            ("baseline", case.baseline_outputs),
            ("candidate", case.candidate_outputs),
        ):
            lines.append(f"    {side + ':':10} {_excerpt(outputs[0] if outputs else None)}")
        lines.append(
            f"    calls: baseline {', '.join(case.baseline_span_ids[:4]) or '-'}; "
            f"candidate {', '.join(case.candidate_span_ids[:4]) or '-'}"
        )
    return "\n".join(lines)
