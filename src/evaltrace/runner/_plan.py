"""The plan of a run: what will be evaluated, as jobs that hold only plain data.

A ``CaseJob`` is one case (in one trial) to run: its key, the case, its
position in the dataset, and the W3C trace context of the run's root span
to run it under. Jobs pickle, so any executor (in this process or on other
machines) can run them; they hold no model, no telemetry, no open file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from evaltrace._tasks import TaskSpec
from evaltrace.exceptions import ConfigurationError
from evaltrace.metrics import Metric
from evaltrace.providers import EmbeddingModel, Model, Provider
from evaltrace.records import Case

__all__ = ["CaseJob", "CaseKey", "RunPlan", "RunRecipe", "normalise_cases"]


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

    @property
    def size(self) -> int:
        """How many case jobs the run has (cases x trials)."""
        return len(self.cases) * self.repeat

    def jobs(self, carrier: Mapping[str, str]) -> Iterator[CaseJob]:
        """The case jobs in order (by case, then trial), made as they are asked for."""
        for position, case in enumerate(self.cases):
            case_id = case_identity(case, position)
            for trial in range(self.repeat):
                yield CaseJob(CaseKey(case_id, trial), position, case, carrier)


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


def case_identity(case: Case, index: int) -> str:
    """A case's id: its own, else its position in the dataset."""
    return case.id if case.id is not None else str(index)


def normalise_cases(cases: Iterable[Case | dict[str, Any]]) -> tuple[Case, ...]:
    """The cases as ``Case`` records, checked for repeated ids."""
    dataset = tuple(c if isinstance(c, Case) else Case.model_validate(c) for c in cases)
    counts = Counter(case_identity(c, i) for i, c in enumerate(dataset))
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    if duplicates:
        raise ConfigurationError(f"case ids must be unique; repeated: {duplicates[:5]}")
    return dataset
