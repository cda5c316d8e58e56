"""The data evaltrace takes in and gives back: cases, interactions, scores, results.

Every record is a pydantic model (or, for ``LLMInteraction``, validated and
serialised like one), so a whole ``EvaluationResult`` round-trips through JSON.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from evaltrace._interaction import CallShape, LLMInteraction, Message, Step, ToolCall

__all__ = [
    "CallShape",
    "Case",
    "CaseResult",
    "LLMInteraction",
    "Message",
    "Score",
    "Step",
    "ToolCall",
]


class Case(BaseModel):
    """One thing to evaluate.

    ``input``, ``output`` and ``expected`` are JSON values: a string, a number,
    an object, an array (a conversation is a list of ``{"role", "content"}``
    messages), a boolean or null. ``output`` is the answer to judge: leave it
    out and pass a ``task`` to ``evaluate`` to have the system under test
    produce it. An output given as ``None`` is the JSON value null, not "no
    output": ``has_output`` tells them apart. A case without an ``id`` gets one from
    its content (a hash of its input and expected), so reordering a dataset
    keeps every case's id.
    """

    model_config = ConfigDict(frozen=True)

    input: JsonValue
    output: JsonValue = None
    expected: JsonValue = None
    context: str | list[str] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None

    @property
    def has_output(self) -> bool:
        """True when the case came with its output (even null): the task does not run for it."""
        return "output" in self.model_fields_set

    @model_serializer(mode="wrap")
    def _output_only_when_given(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and not self.has_output:
            data.pop("output", None)  # read back, the case still has none
        return data

    @property
    def context_text(self) -> str | None:
        """The context as one string (list items joined by blank lines)."""
        if isinstance(self.context, list):
            return "\n\n".join(self.context)
        return self.context


class Score(BaseModel):
    """One metric's verdict on one case.

    A metric that could not score the case (judge unreachable, unreadable reply)
    has ``value`` None, ``error`` set, ``error_type`` (a short, low-cardinality
    name: the exception's type, or ``error.type`` of the failed call), and the
    judge's ``raw_reply`` when there was one. Scores are 0..1.
    """

    model_config = ConfigDict(frozen=True)

    metric: str
    value: float | None
    passed: bool | None = None
    label: str | None = None
    explanation: str = ""
    error: str | None = None
    error_type: str | None = None
    raw_reply: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def unscored(cls, metric: str, error: BaseException, *, raw_reply: str | None = None) -> Score:
        """The score of a metric that could not score the case because of ``error``."""
        error_type = getattr(error, "error_type", None) or type(error).__name__
        return cls(
            metric=metric, value=None, error=str(error), error_type=error_type, raw_reply=raw_reply
        )

    @property
    def failed(self) -> bool:
        """True when the metric could not produce a score."""
        return self.error is not None


class CaseResult(BaseModel):
    """A case, its output, its scores and the model calls made for it.

    ``interactions`` are the case's calls (the same objects as in the run's
    ``EvaluationResult.interactions``); a results file stores each call once,
    at the top, and the case refers to its calls by ``interaction_ids`` (span
    ids). ``trial`` numbers the repetitions of a case (0 for the first).
    """

    case: Case
    case_id: str
    output: JsonValue
    scores: list[Score] = Field(default_factory=list)
    interactions: list[LLMInteraction] = Field(default_factory=list, exclude=True)
    interaction_ids: list[str] = Field(default_factory=list)
    error: str | None = None
    duration: float = 0.0
    #: When the case's span started (UTC); None in results saved before schema 2.
    started_at: datetime | None = None
    trial: int = 0
    #: What the application did for the case, when the run kept it (``keep_trajectory``).
    trajectory: list[Step] | None = None

    @model_validator(mode="after")
    def _ids_of_interactions(self) -> CaseResult:
        if self.interactions and not self.interaction_ids:
            self.interaction_ids = [i.span_id for i in self.interactions]
        return self

    def score(self, metric: str) -> Score | None:
        """The score of the metric named ``metric``, if it ran."""
        return next((s for s in self.scores if s.metric == metric), None)

    @property
    def error_summary(self) -> str | None:
        """The task's error, else each metric failure as ``metric: error``; None if none."""
        if self.error is not None:
            return self.error
        failed = [f"{s.metric}: {s.error}" for s in self.scores if s.error is not None]
        return "; ".join(failed) or None


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a crash never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
