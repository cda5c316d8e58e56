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
from evaltrace._values import canonical_json
from evaltrace.exceptions import ConfigurationError
from evaltrace.metrics import Metric
from evaltrace.providers import EmbeddingModel, Model, Provider
from evaltrace.records import Case

__all__ = [
    "CaseJob",
    "CaseKey",
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


@dataclass(frozen=True)
class RunPlan:
    """What a run evaluates: its cases, each ``repeat`` times, under one root span."""

    name: str
    run_id: str
    cases: tuple[Case, ...]
    repeat: int = 1
    #: Each case's id (its own, else from its content), aligned with ``cases``.
    ids: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.repeat < 1:
            raise ConfigurationError(f"repeat must be at least 1, got {self.repeat!r}")
        if len(self.ids) != len(self.cases):
            object.__setattr__(self, "ids", case_ids(self.cases))

    @property
    def size(self) -> int:
        """How many case jobs the run has (cases x trials)."""
        return len(self.cases) * self.repeat

    def jobs(self, carrier: Mapping[str, str]) -> Iterator[CaseJob]:
        """The case jobs in order (by case, then trial), made as they are asked for."""
        for position, (case, case_id) in enumerate(zip(self.cases, self.ids, strict=True)):
            for trial in range(self.repeat):
                yield CaseJob(CaseKey(case_id, trial), position, case, carrier)


def content_id(case: Case) -> str:
    """The id of a case without one: a hash of its input and expected (not its position).

    Reordering a dataset keeps every case's id, so two runs still match case by case.
    """
    text = canonical_json([case.input, case.expected])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_CONTENT_ID_DIGITS]


def case_ids(cases: Sequence[Case]) -> tuple[str, ...]:
    """Each case's id: its own, else its ``content_id``.

    Cases without an id and with the same input and expected are interchangeable;
    the second of them gets ``<hash>~2``, the third ``<hash>~3``, and so on.
    """
    seen: Counter[str] = Counter()
    ids = []
    for case in cases:
        if case.id is not None:
            ids.append(case.id)
            continue
        base = content_id(case)
        seen[base] += 1
        ids.append(base if seen[base] == 1 else f"{base}~{seen[base]}")
    return tuple(ids)


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


def normalise_cases(cases: Iterable[Case | dict[str, Any]]) -> tuple[Case, ...]:
    """The cases as ``Case`` records, checked for repeated ids."""
    dataset = tuple(c if isinstance(c, Case) else Case.model_validate(c) for c in cases)
    counts = Counter(case_ids(dataset))
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    if duplicates:
        raise ConfigurationError(f"case ids must be unique; repeated: {duplicates[:5]}")
    return dataset
