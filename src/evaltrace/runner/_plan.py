"""The plan of a run: what will be evaluated, as jobs that hold only plain data.

A ``CaseJob`` is one case (in one trial) to run: its key, the case, its
position in the dataset, and the W3C trace context of the run's root span
to run it under. Jobs pickle, so any executor (in this process or on other
machines) can run them; they hold no model, no telemetry, no open file.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from evaltrace._tasks import TaskSpec
from evaltrace._values import DatasetDigest, canonical_json
from evaltrace.datasets import CaseFile
from evaltrace.exceptions import ConfigurationError, DatasetError
from evaltrace.metrics import Metric
from evaltrace.providers import EmbeddingModel, Model, Provider
from evaltrace.records import Case

__all__ = [
    "CaseJob",
    "CaseKey",
    "PlanCases",
    "RunPlan",
    "RunRecipe",
    "case_ids",
    "content_id",
    "normalise_cases",
]

#: Hex digits of a content id (48 bits: a collision needs ~16 million distinct cases).
_CONTENT_ID_DIGITS = 12


class CaseKey(NamedTuple):
    """Which case, in which trial (0 for the first run of a case)."""

    case_id: str
    trial: int = 0


class CaseJob(NamedTuple):
    """One case to run in one trial, under the run's trace context (``carrier``).

    ``position`` is the case's place in the dataset.
    """

    key: CaseKey
    position: int
    case: Case
    carrier: Mapping[str, str]


#: What a plan runs: the cases in memory, or a dataset file read again as the run goes.
PlanCases = tuple[Case, ...] | CaseFile


@dataclass(frozen=True)
class RunPlan:
    """What a run evaluates: its cases, each ``repeat`` times, under one root span.

    ``cases`` is a tuple, or a ``CaseFile``: that is read once now (every case
    checked, its id and fingerprint taken; per case only its id is kept) and
    again by ``jobs`` while the run goes, so the dataset is never in memory.
    """

    name: str
    run_id: str
    cases: PlanCases
    repeat: int = 1
    #: Each case's id (its own, else from its content), in the dataset's order.
    ids: tuple[str, ...] = field(default=(), init=False, compare=False)
    #: ``dataset_fingerprint`` of the cases.
    fingerprint: str = field(default="", init=False, compare=False)

    def __post_init__(self) -> None:
        if self.repeat < 1:
            raise ConfigurationError(f"repeat must be at least 1, got {self.repeat!r}")
        ids, fingerprint = _scan(self.cases)
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "fingerprint", fingerprint)

    @property
    def count(self) -> int:
        """How many cases the dataset has."""
        return len(self.ids)

    @property
    def size(self) -> int:
        """How many case jobs the run has (cases x trials)."""
        return self.count * self.repeat

    def jobs(self, carrier: Mapping[str, str]) -> Iterator[CaseJob]:
        """The case jobs in order (by case, then trial), made as they are asked for."""
        for position, case in enumerate(self._cases()):
            key = self.ids[position]
            for trial in range(self.repeat):
                yield CaseJob(CaseKey(key, trial), position, case, carrier)

    def _cases(self) -> Iterator[Case]:
        if not isinstance(self.cases, CaseFile):
            yield from self.cases
            return
        position = -1
        for position, (line, case) in enumerate(self.cases.with_lines(unique_ids=False)):
            if position >= self.count:
                raise _changed(self.cases, line, f"it has more than the {self.count} cases planned")
            if not _has_id(case, self.ids[position]):
                raise _changed(
                    self.cases, line, f"case {position + 1} is not {self.ids[position]!r}"
                )
            yield case
        if position + 1 != self.count:
            raise _changed(self.cases, None, f"it has {position + 1} cases, not {self.count}")


def _scan(cases: PlanCases) -> tuple[tuple[str, ...], str]:
    """The cases' ids and fingerprint, in one pass; repeated ids raise an error.

    A file is read without the reader's own check of repeated ids (it keeps a
    line per id): only if an id repeats is it read again, for the error that
    names the lines.
    """
    read = cases.with_lines(unique_ids=False) if isinstance(cases, CaseFile) else enumerate(cases)
    ids: list[str] = []
    repeats: Counter[str] = Counter()
    digest = DatasetDigest()
    for _, case in read:
        ids.append(_next_id(case, repeats))
        digest.add(case)
    fingerprint = digest.hexdigest()
    del digest  # its digests go before the set of ids is made
    if len(set(ids)) != len(ids):
        if isinstance(cases, CaseFile):
            for _ in cases.with_lines():  # raises the DatasetError of a repeated own id
                pass
        _raise_repeated(ids)
    return tuple(ids), fingerprint


def _has_id(case: Case, planned: str) -> bool:
    """Whether ``case`` is the one planned with id ``planned`` (its own id, or its content's)."""
    if case.id is not None:
        return case.id == planned
    return planned.partition("~")[0] == content_id(case)


def _changed(source: CaseFile, line: int | None, what: str) -> DatasetError:
    return DatasetError(
        source.name, line, None, f"the file changed after the run was planned: {what}"
    )


def content_id(case: Case) -> str:
    """The id of a case without one: a hash of its input and expected (not its position).

    Reordering a dataset keeps every case's id, so two runs still match case by case.
    """
    text = canonical_json([case.input, case.expected])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_CONTENT_ID_DIGITS]


def case_ids(cases: Iterable[Case]) -> tuple[str, ...]:
    """Each case's id: its own, else its ``content_id``.

    Cases without an id and with the same input and expected are interchangeable;
    the second of them gets ``<hash>~2``, the third ``<hash>~3``, and so on.
    """
    repeats: Counter[str] = Counter()
    return tuple(_next_id(case, repeats) for case in cases)


def _next_id(case: Case, repeats: Counter[str]) -> str:
    """The id of the next case; ``repeats`` counts the content ids given so far."""
    if case.id is not None:
        return case.id
    base = content_id(case)
    repeats[base] += 1
    return base if repeats[base] == 1 else f"{base}~{repeats[base]}"


def _raise_repeated(ids: Sequence[str]) -> None:
    counts = Counter(ids)
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    raise ConfigurationError(f"case ids must be unique; repeated: {duplicates[:5]}")


@dataclass(frozen=True)
class RunRecipe:
    """A run's cases' shared parts as the user gave them (``evaluate``'s arguments)."""

    name: str
    run_id: str
    metrics: Sequence[Metric]
    task: TaskSpec | None = None
    judge: str | Provider | Model | None = None
    embedder: EmbeddingModel | None = None
    trace_cases: bool = True
    keep_trajectory: bool = False
    propagate_context_to_threads: bool = True


def normalise_cases(cases: Iterable[Case | dict[str, Any]]) -> PlanCases:
    """The cases for a ``RunPlan``: a ``CaseFile`` as it is, anything else as ``Case`` records."""
    if isinstance(cases, CaseFile):
        return cases
    return tuple(c if isinstance(c, Case) else Case.model_validate(c) for c in cases)
