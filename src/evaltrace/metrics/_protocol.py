"""What a metric is: a name, a purpose for its model calls, and one async ``score``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from evaltrace.providers import EmbeddingModel, Model
from evaltrace.records import Case, Score
from evaltrace.tracing import CaseTrace

__all__ = ["Metric", "MetricContext"]


@dataclass(frozen=True, slots=True)
class MetricContext:
    """Everything a metric may use to score one case.

    ``output`` is the JSON value to score (``None``: the case has none).
    ``trace`` is what the application did to produce it: every span recorded
    under the case before its metrics ran (agents, tools, model calls), from
    evaltrace or any instrumentation. ``task_duration`` is how long the task
    took, in seconds (None when the case came with its output).
    """

    case: Case
    output: Any
    judge: Model | None = None
    embedder: EmbeddingModel | None = None
    trace: CaseTrace = field(default_factory=CaseTrace.empty)
    task_duration: float | None = None


@runtime_checkable
class Metric(Protocol):
    """Scores one case. ``purpose`` becomes ``evaltrace.purpose`` of the metric's model calls.

    A metric returns a ``Score``; when it cannot score a case it returns one
    with ``error`` set rather than raising (the runner also turns a raised
    exception into such a score).
    """

    @property
    def name(self) -> str:
        """The metric's name: the key of its scores and summaries."""
        ...

    @property
    def purpose(self) -> str:
        """``evaltrace.purpose`` of the metric's model calls."""
        ...

    async def score(self, context: MetricContext) -> Score:
        """Score ``context.output`` for ``context.case``."""
        ...
