"""Exact McNemar test for paired pass/fail verdicts.

Pairs are (case, trial): trial ``t`` of a case in the baseline is paired with trial
``t`` of the same case in the candidate (trial numbers are interchangeable draws of
the same case, so pairing them by position is as good as any pairing). When a case
has more trials in one run, its extra trials have no partner and are left out
(counted in ``n_unpaired_trials``); a pair with an errored verdict (``None``) on
either side is left out too (``n_errored_pairs``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
from numpy.typing import NDArray

from ._errors import ComparisonError

__all__ = ["MCNEMAR_TEST", "McNemarResult", "Verdicts", "mcnemar_exact"]

Verdicts = Mapping[str, Sequence[bool | None]]
"""``case_id -> the case's trial verdicts`` (True = passed); ``None`` = errored."""

MCNEMAR_TEST = (
    "exact McNemar test on (case, trial) pairs: scipy.stats.binomtest of the "
    "candidate-only passes among the discordant pairs, p = 0.5, two-sided"
)


@dataclass(frozen=True)
class McNemarResult:
    """The discordant pairs of two runs' verdicts and the exact McNemar p-value.

    Attributes:
        baseline_only: pairs the baseline passed and the candidate failed (b).
        candidate_only: pairs the candidate passed and the baseline failed (c).
        n_pairs: (case, trial) pairs compared.
        p_value: two-sided exact p-value of "b and c are equally likely"; 1.0 when
            there is no discordant pair.
        n_unpaired_trials: trials left out because the other run has fewer trials
            of that case.
        n_errored_pairs: pairs left out because one side's verdict is ``None``.
        test: how ``p_value`` was computed.
    """

    baseline_only: int
    candidate_only: int
    n_pairs: int
    p_value: float
    n_unpaired_trials: int
    n_errored_pairs: int
    test: str = MCNEMAR_TEST

    @property
    def pass_rate_difference(self) -> float:
        """Candidate pass rate minus baseline pass rate over the pairs: ``(c - b) / n``."""
        return (self.candidate_only - self.baseline_only) / self.n_pairs


def mcnemar_exact(baseline_passes: Verdicts, candidate_passes: Verdicts) -> McNemarResult:
    """Exact McNemar test of two runs' pass/fail verdicts over the same matched cases.

    Raises:
        ComparisonError: no matched case, different case ids, a case with no
            trials, a verdict that is not a bool (or None), or no complete pair.
    """
    from scipy import stats  # imported on use (slow to import)

    base, cand, unpaired, errored = _pairs(baseline_passes, candidate_passes)
    if base.size == 0:
        raise ComparisonError("no (case, trial) pair has a verdict in both runs")
    b = int(np.count_nonzero(base & ~cand))
    c = int(np.count_nonzero(cand & ~base))
    p_value = 1.0 if b + c == 0 else float(stats.binomtest(c, b + c, 0.5).pvalue)
    return McNemarResult(b, c, int(base.size), p_value, unpaired, errored)


def _pairs(
    baseline: Verdicts, candidate: Verdicts
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], int, int]:
    if not baseline and not candidate:
        raise ComparisonError("no matched cases: nothing to compare")
    if baseline.keys() != candidate.keys():
        only = sorted(baseline.keys() ^ candidate.keys())
        raise ComparisonError(
            f"baseline and candidate must hold the same matched cases; {len(only)} "
            f"case ids are in one run only, e.g. {only[:3]}"
        )
    order = sorted(baseline)
    base_lists = [baseline[case] for case in order]
    cand_lists = [candidate[case] for case in order]
    for case, trials in chain(
        zip(order, base_lists, strict=True), zip(order, cand_lists, strict=True)
    ):
        if not trials:
            raise ComparisonError(f"case {case!r} has no trials (an empty list of verdicts)")
    if all(map(_same_length, base_lists, cand_lists)):
        fast = _flat(base_lists), _flat(cand_lists)
        if fast[0] is not None and fast[1] is not None:
            return fast[0], fast[1], 0, 0
    return _pairs_one_by_one(order, base_lists, cand_lists)


def _same_length(a: Sequence[object], b: Sequence[object]) -> bool:
    return len(a) == len(b)


def _flat(lists: list[Sequence[bool | None]]) -> NDArray[np.bool_] | None:
    """All verdicts as one array, or None if one is not a plain bool."""
    flat = np.fromiter(chain.from_iterable(lists), dtype=object, count=sum(map(len, lists)))
    is_bool = np.fromiter(map(_is_bool, flat), dtype=bool, count=flat.size)
    return flat.astype(bool) if is_bool.all() else None


def _is_bool(value: object) -> bool:
    return isinstance(value, bool | np.bool_)


def _pairs_one_by_one(
    order: list[str],
    base_lists: list[Sequence[bool | None]],
    cand_lists: list[Sequence[bool | None]],
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], int, int]:
    base: list[bool] = []
    cand: list[bool] = []
    unpaired = errored = 0
    for case, b_trials, c_trials in zip(order, base_lists, cand_lists, strict=True):
        unpaired += abs(len(b_trials) - len(c_trials))
        for b, c in zip(b_trials, c_trials, strict=False):  # pairs by trial position
            b_passed, c_passed = _verdict(case, b), _verdict(case, c)
            if b_passed is None or c_passed is None:
                errored += 1
                continue
            base.append(b_passed)
            cand.append(c_passed)
    return np.array(base, dtype=bool), np.array(cand, dtype=bool), unpaired, errored


def _verdict(case: str, value: object) -> bool | None:
    if value is None or _is_bool(value):
        return None if value is None else bool(value)
    raise ComparisonError(f"case {case!r}: verdict {value!r} is not True, False or None")
