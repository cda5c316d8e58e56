"""Typed inputs: one run's trial values by case, and two runs paired by case.

Trials of one case are a cluster: every statistic works on the per-case mean
(the mean over the case's scored trials), never on individual trials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from ._errors import ComparisonError

__all__ = ["ClusteredSample", "PairedSample", "TrialValues"]

TrialValues = Mapping[str, Sequence[float | None]]
"""``case_id -> the case's trial values``; ``None`` is a trial whose scoring errored."""

_EXAMPLES = 3
_NUMBER, _NONE, _OTHER = 0, 1, 2
_KINDS: dict[type, int] = {float: _NUMBER, int: _NUMBER, bool: _NUMBER, type(None): _NONE}
_T = TypeVar("_T", bound=np.generic)


@dataclass(frozen=True, eq=False)
class ClusteredSample:
    """One run's values for one metric, reduced to one mean per case.

    Attributes:
        case_ids: the cases, sorted, that have at least one scored trial.
        case_means: the mean over each case's scored trials (aligned with ``case_ids``).
        trial_counts: how many scored trials each case has.
        excluded_case_ids: cases every trial of which errored (``None``): left out.
        n_errored_trials: trials whose value was ``None``, over all cases.
    """

    case_ids: tuple[str, ...]
    case_means: NDArray[np.float64]
    trial_counts: NDArray[np.int64]
    excluded_case_ids: tuple[str, ...] = ()
    n_errored_trials: int = 0

    @classmethod
    def from_mapping(cls, values_by_case: TrialValues) -> ClusteredSample:
        """Build from ``case_id -> trial values``; raises ComparisonError on bad input."""
        if not values_by_case:
            raise ComparisonError("no cases: a mean needs at least one case with a value")
        return _reduce(sorted(values_by_case), values_by_case)

    @property
    def n_cases(self) -> int:
        """Cases in the sample."""
        return len(self.case_ids)

    @property
    def n_trials(self) -> int:
        """Scored trials over all cases."""
        return int(self.trial_counts.sum())

    def _select(self, keep: NDArray[np.bool_], excluded: tuple[str, ...]) -> ClusteredSample:
        ids = tuple(c for c, k in zip(self.case_ids, keep.tolist(), strict=True) if k)
        return ClusteredSample(
            ids,
            _frozen(self.case_means[keep]),
            _frozen(self.trial_counts[keep]),
            excluded,
            self.n_errored_trials,
        )


@dataclass(frozen=True, eq=False)
class PairedSample:
    """Baseline and candidate values of one metric over the same matched cases.

    Attributes:
        baseline: the baseline run, over the paired cases.
        candidate: the candidate run, over the same cases in the same order.
        excluded_case_ids: matched cases left out because every trial errored in
            one of the runs (sorted).
    """

    baseline: ClusteredSample
    candidate: ClusteredSample
    excluded_case_ids: tuple[str, ...] = ()

    @classmethod
    def from_mappings(cls, baseline: TrialValues, candidate: TrialValues) -> PairedSample:
        """Pair two ``case_id -> trial values`` mappings with the same case ids."""
        _check_same_cases(baseline, candidate)
        order = sorted(baseline)
        base, cand = _reduce(order, baseline), _reduce(order, candidate)
        if base.excluded_case_ids or cand.excluded_case_ids:
            return _drop_unpaired(base, cand, order)
        return cls(base, cand)

    @property
    def case_ids(self) -> tuple[str, ...]:
        """The paired cases, sorted."""
        return self.baseline.case_ids

    @property
    def n_cases(self) -> int:
        """Paired cases."""
        return self.baseline.n_cases

    @property
    def differences(self) -> NDArray[np.float64]:
        """Per-case ``candidate mean - baseline mean``."""
        return self.candidate.case_means - self.baseline.case_means


def _check_same_cases(baseline: TrialValues, candidate: TrialValues) -> None:
    if not baseline and not candidate:
        raise ComparisonError("no matched cases: nothing to compare")
    if baseline.keys() == candidate.keys():
        return
    only_base = sorted(baseline.keys() - candidate.keys())
    only_cand = sorted(candidate.keys() - baseline.keys())
    raise ComparisonError(
        "baseline and candidate must hold the same matched cases: "
        f"{len(only_base)} only in the baseline {only_base[:_EXAMPLES]}, "
        f"{len(only_cand)} only in the candidate {only_cand[:_EXAMPLES]}"
    )


def _drop_unpaired(base: ClusteredSample, cand: ClusteredSample, order: list[str]) -> PairedSample:
    excluded = tuple(sorted(set(base.excluded_case_ids) | set(cand.excluded_case_ids)))
    if len(excluded) == len(order):
        raise ComparisonError("no matched case has a scored trial in both runs")
    gone = set(excluded)
    base_keep = np.fromiter((c not in gone for c in base.case_ids), bool, base.n_cases)
    cand_keep = np.fromiter((c not in gone for c in cand.case_ids), bool, cand.n_cases)
    return PairedSample(
        base._select(base_keep, base.excluded_case_ids),
        cand._select(cand_keep, cand.excluded_case_ids),
        excluded,
    )


def _reduce(order: list[str], values_by_case: TrialValues) -> ClusteredSample:
    lists = [values_by_case[case] for case in order]
    counts = np.fromiter(map(len, lists), np.int64, len(lists))
    if not counts.all():
        empty = order[int(np.argmin(counts))]
        raise ComparisonError(f"case {empty!r} has no trials (an empty list of values)")
    total = int(counts.sum())
    kinds = np.fromiter(
        (_KINDS.get(type(v), _OTHER) for v in chain.from_iterable(lists)), np.int8, total
    )
    if (kinds == _OTHER).any():  # numpy numbers are fine; text (numpy reads "0.5") is not
        _check_values(order, lists)
    errored = kinds == _NONE
    values = chain.from_iterable(lists)
    trials = (0.0 if v is None else v for v in values) if errored.any() else values
    flat = np.fromiter(trials, np.float64, total)
    if not np.isfinite(flat).all():
        _check_values(order, lists)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    scored = counts - np.add.reduceat(errored.astype(np.int64), starts)
    sums = np.add.reduceat(flat, starts)  # errored trials count 0.0 here, and not in `scored`
    keep = scored > 0
    ids = order if keep.all() else [case for case, k in zip(order, keep.tolist(), strict=True) if k]
    excluded = (
        () if keep.all() else tuple(c for c, k in zip(order, keep.tolist(), strict=True) if not k)
    )
    return ClusteredSample(
        tuple(ids),
        _frozen(sums[keep] / scored[keep]),
        _frozen(scored[keep]),
        excluded,
        int(errored.sum()),
    )


def _check_values(order: list[str], lists: list[Sequence[float | None]]) -> None:
    """Raise for the first value that is not a finite number (nor None)."""
    for case, trials in zip(order, lists, strict=True):
        for value in trials:
            if value is not None:
                _number(case, value)


def _number(case: str, value: object) -> float:
    if isinstance(value, bool | int | float | np.integer | np.floating):
        number = float(value)
        if np.isfinite(number):
            return number
    raise ComparisonError(f"case {case!r}: trial value {value!r} is not a finite number")


def _frozen(array: NDArray[_T]) -> NDArray[_T]:
    array.flags.writeable = False
    return array
