"""The matched cases whose scores moved most, with both runs' outputs and their calls."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence

from evaltrace.compare._comparison import MovedCase
from evaltrace.records import CaseResult

__all__ = ["moved_cases"]

_PASS = "\x00pass"


def moved_cases(
    baseline: Mapping[str, Sequence[CaseResult]],
    candidate: Mapping[str, Sequence[CaseResult]],
    metrics: Iterable[str],
    *,
    limit: int,
) -> list[MovedCase]:
    """Up to ``limit`` matched cases, by how far their mean score over ``metrics`` moved.

    A case's movement is the mean over the metrics scored in both runs of
    (candidate case mean - baseline case mean); cases that did not move are left out.
    """
    names = [m for m in metrics if not m.endswith(_PASS)]
    if limit <= 0 or not names:
        return []
    moved = []
    for case_id in baseline.keys() & candidate.keys():
        base, cand = baseline[case_id], candidate[case_id]
        scores = {m: (_case_mean(base, m), _case_mean(cand, m)) for m in names}
        deltas = [c - b for b, c in scores.values() if b is not None and c is not None]
        if deltas and any(deltas):
            moved.append((statistics.fmean(deltas), case_id, scores))
    moved.sort(key=lambda item: (-abs(item[0]), item[1]))
    return [
        _moved(case_id, delta, scores, baseline[case_id], candidate[case_id])
        for delta, case_id, scores in moved[:limit]
    ]


def _case_mean(trials: Sequence[CaseResult], metric: str) -> float | None:
    values = [
        s.value
        for t in trials
        if t.error is None and (s := t.score(metric)) is not None and s.value is not None
    ]
    return statistics.fmean(values) if values else None


def _moved(
    case_id: str,
    movement: float,
    scores: dict[str, tuple[float | None, float | None]],
    base: Sequence[CaseResult],
    cand: Sequence[CaseResult],
) -> MovedCase:
    first = base[0].case
    return MovedCase(
        case_id=case_id,
        movement=movement,
        input=first.input,
        expected=first.expected,
        scores=scores,
        baseline_outputs=[t.output for t in base],
        candidate_outputs=[t.output for t in cand],
        baseline_span_ids=[s for t in base for s in t.interaction_ids],
        candidate_span_ids=[s for t in cand for s in t.interaction_ids],
    )
