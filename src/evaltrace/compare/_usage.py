"""Usage and cost of two runs side by side: by purpose, by model, by both, and the budget gates."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from evaltrace.compare._comparison import Budget, UsageComparison, UsageDifference
from evaltrace.records import LLMInteraction
from evaltrace.results import EvaluationResult, UsageSummary

__all__ = ["budget", "usage_groups"]

_K = TypeVar("_K", bound=Hashable)
_Key = Callable[[LLMInteraction], tuple[str | None, str | None]]
_TASK = "task"


def usage_groups(
    baseline: EvaluationResult, candidate: EvaluationResult
) -> dict[str, list[UsageComparison]]:
    """``usage`` (purpose, model), ``usage_by_purpose``, ``usage_by_model`` and ``total``."""
    keys: dict[str, _Key] = {
        "usage": lambda i: (i.purpose, i.model),
        "usage_by_purpose": lambda i: (i.purpose, None),
        "usage_by_model": lambda i: (None, i.model),
        "total": lambda i: (None, None),
    }
    groups = {}
    for name, key in keys.items():
        base, cand = _grouped(baseline.interactions, key), _grouped(candidate.interactions, key)
        groups[name] = [
            _side_by_side(k, base.get(k, []), cand.get(k, []))
            for k in sorted(base.keys() | cand.keys(), key=_sort_key)
        ]
    if not groups["total"]:
        groups["total"] = [_side_by_side((None, None), [], [])]
    return groups


def _sort_key(key: tuple[str | None, str | None]) -> tuple[str, str]:
    return (key[0] or "", key[1] or "")


def _grouped(
    calls: Sequence[LLMInteraction], key: Callable[[LLMInteraction], _K]
) -> dict[_K, list[LLMInteraction]]:
    groups: dict[_K, list[LLMInteraction]] = {}
    for call in calls:
        groups.setdefault(key(call), []).append(call)
    return groups


def _side_by_side(
    key: tuple[str | None, str | None],
    baseline: Sequence[LLMInteraction],
    candidate: Sequence[LLMInteraction],
) -> UsageComparison:
    base, cand = UsageSummary.of(baseline), UsageSummary.of(candidate)
    return UsageComparison(
        purpose=key[0], model=key[1], baseline=base, candidate=cand, difference=_minus(cand, base)
    )


def _minus(cand: UsageSummary, base: UsageSummary) -> UsageDifference:
    return UsageDifference(
        calls=cand.calls - base.calls,
        errors=cand.errors - base.errors,
        input_tokens=cand.input_tokens - base.input_tokens,
        output_tokens=cand.output_tokens - base.output_tokens,
        tokens=cand.tokens - base.tokens,
        cost_usd=_difference(cand.cost_usd, base.cost_usd),
        latency_p50=_difference(cand.latency_p50, base.latency_p50),
        latency_p95=_difference(cand.latency_p95, base.latency_p95),
    )


def _difference(cand: float | None, base: float | None) -> float | None:
    return None if cand is None or base is None else cand - base


def budget(baseline: EvaluationResult, candidate: EvaluationResult) -> Budget:
    """Cost per case result (all calls) and the task calls' p95 latency, with % changes."""
    has_task = any(i.purpose == _TASK for r in (baseline, candidate) for i in r.interactions)
    purpose = _TASK if has_task else "all"
    base_cost, cand_cost = _cost_per_case(baseline), _cost_per_case(candidate)
    base_p95, cand_p95 = _p95(baseline, has_task), _p95(candidate, has_task)
    return Budget(
        baseline_cost_per_case=base_cost,
        candidate_cost_per_case=cand_cost,
        cost_change_pct=_change(base_cost, cand_cost),
        latency_purpose=purpose,
        baseline_latency_p95=base_p95,
        candidate_latency_p95=cand_p95,
        latency_change_pct=_change(base_p95, cand_p95),
    )


def _cost_per_case(result: EvaluationResult) -> float | None:
    cost = result.totals.cost_usd
    if cost is None or not result.cases:
        return None
    return cost / len(result.cases)


def _p95(result: EvaluationResult, task_only: bool) -> float | None:
    calls = [i for i in result.interactions if not task_only or i.purpose == _TASK]
    return UsageSummary.of(calls).latency_p95 if calls else None


def _change(base: float | None, cand: float | None) -> float | None:
    """Percent change; None without both values, or from 0 (an increase from nothing)."""
    if base is None or cand is None:
        return None
    if base == 0:
        return 0.0 if cand == 0 else None
    return (cand - base) / base * 100.0
