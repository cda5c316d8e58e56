"""The matched cases whose scores moved most, with both runs' outputs and their calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from evaltrace.compare._comparison import MovedCase
from evaltrace.compare._samples import PairedSample
from evaltrace.records import CaseResult

__all__ = ["moved_cases"]

_PASS = "\x00pass"


def moved_cases(
    baseline: Mapping[str, Sequence[CaseResult]],
    candidate: Mapping[str, Sequence[CaseResult]],
    samples: Mapping[str, PairedSample],
    *,
    limit: int,
) -> list[MovedCase]:
    """Up to ``limit`` matched cases, by how far their mean score over the metrics moved.

    A case's movement is the mean over the metrics that scored it in both runs
    of (candidate case mean - baseline case mean), from the paired samples;
    cases that did not move are left out.
    """
    names = [m for m in samples if not m.endswith(_PASS)]
    if limit <= 0 or not names:
        return []
    means: dict[str, dict[str, tuple[float | None, float | None]]] = {}
    for name in names:
        sample = samples[name]
        pairs = zip(
            sample.baseline.case_means.tolist(), sample.candidate.case_means.tolist(), strict=True
        )
        for case_id, pair in zip(sample.case_ids, pairs, strict=True):
            means.setdefault(case_id, {m: (None, None) for m in names})[name] = pair
    moved = []
    for case_id, scores in means.items():
        deltas = [c - b for b, c in scores.values() if b is not None and c is not None]
        movement = sum(deltas) / len(deltas) if deltas else 0.0
        if movement != 0.0 or any(deltas):
            moved.append((movement, case_id, scores))
    moved.sort(key=lambda item: (-abs(item[0]), item[1]))
    return [
        _moved(case_id, delta, scores, baseline[case_id], candidate[case_id])
        for delta, case_id, scores in moved[:limit]
    ]


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
