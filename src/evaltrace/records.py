"""The data evaltrace takes in and gives back: cases, interactions, scores, results.

Every record is a pydantic model, so a whole ``EvaluationResult`` round-trips
through JSON (``model_dump_json`` / ``EvaluationResult.model_validate_json``).
"""

from __future__ import annotations

from dataclasses import field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator
from pydantic.dataclasses import dataclass

from evaltrace._pricing import is_local, price_usd

_ZERO = timedelta(0)

__all__ = [
    "Case",
    "CaseResult",
    "LLMInteraction",
    "Message",
    "Score",
]


class Message(BaseModel):
    """One chat message sent to or received from a model."""

    model_config = ConfigDict(frozen=True)

    role: str
    content: str


class Case(BaseModel):
    """One thing to evaluate.

    ``output`` is the answer to judge; leave it empty and pass a ``task`` to
    ``evaluate`` to have the system under test produce it. ``id`` defaults to the
    case's position in the dataset.
    """

    model_config = ConfigDict(frozen=True)

    input: str
    output: str | None = None
    expected: str | None = None
    context: str | list[str] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None

    @property
    def context_text(self) -> str | None:
        """The context as one string (list items joined by blank lines)."""
        if isinstance(self.context, list):
            return "\n\n".join(self.context)
        return self.context


@dataclass(frozen=True, slots=True, kw_only=True)
class LLMInteraction:
    """Record of a single LLM call made during an evaluation.

    Built from the call's finished OpenTelemetry span: ``trace_id`` and
    ``span_id`` (hex) find the same call in Jaeger, Tempo or any OTLP backend.
    ``timestamp`` is the call's start (UTC) and ``latency`` its duration in
    seconds, both from the span's own times.

    A frozen pydantic dataclass with slots: validated like a pydantic model
    (``model_dump``, ``model_dump_json``, ``model_validate``,
    ``model_validate_json`` and ``model_copy`` work as on one), but without a
    per-instance ``__dict__``, so holding many interactions costs little more
    than their text.
    """

    prompt: str
    response: str
    model: str
    tokens_used: int
    latency: float
    timestamp: datetime
    purpose: str
    metadata: dict[str, Any] = field(default_factory=dict)
    input_tokens: int | None = None
    output_tokens: int | None = None
    provider: str | None = None
    operation: str = "chat"
    trace_id: str = ""
    span_id: str = ""
    case_id: str | None = None
    error: str | None = None

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware")
        return value if value.utcoffset() == _ZERO else value.astimezone(UTC)

    def cost(self) -> Decimal | None:
        """The call's price in USD from genai-prices; None when the model has no known price.

        Calls to models running on this machine (``is_local``) cost zero.
        """
        return price_usd(
            self.provider, self.model, self.input_tokens, self.output_tokens, self._server()
        )

    @property
    def is_local(self) -> bool:
        """True for a model in this process or served from this machine (a loopback address)."""
        return is_local(self.provider, self._server())

    @property
    def messages(self) -> list[Message]:
        """The messages sent, structured.

        ``metadata["messages"]`` holds ``[role, start, end]`` per message (where
        its text sits in ``prompt``) when the prompt is more than one user
        message; otherwise the prompt is the one user message.
        """
        raw = self.metadata.get("messages")
        if raw is None:
            return [Message(role="user", content=self.prompt)]
        return [Message(role=role, content=self.prompt[start:end]) for role, start, end in raw]

    def _server(self) -> str | None:
        address = self.metadata.get("server_address")
        return address if isinstance(address, str) else None

    def model_dump(self, *, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        """The fields as a dict (``mode="json"``: JSON-compatible values)."""
        return _interaction_adapter().dump_python(self, mode=mode)

    def model_dump_json(self, *, indent: int | None = None) -> str:
        """The interaction as JSON."""
        return _interaction_adapter().dump_json(self, indent=indent).decode()

    def model_copy(self, *, update: dict[str, Any] | None = None) -> LLMInteraction:
        """A copy with some fields replaced (validated)."""
        return type(self).model_validate({**self.model_dump(), **(update or {})})

    @classmethod
    def model_validate(cls, value: Any) -> LLMInteraction:
        """Validate a dict (or an interaction) into an interaction."""
        return _interaction_adapter().validate_python(value)

    @classmethod
    def model_validate_json(cls, data: str | bytes) -> LLMInteraction:
        """Parse and validate JSON into an interaction."""
        return _interaction_adapter().validate_json(data)


@cache
def _interaction_adapter() -> TypeAdapter[LLMInteraction]:
    return TypeAdapter(LLMInteraction)


class Score(BaseModel):
    """One metric's verdict on one case.

    A metric that could not score the case (judge unreachable, unreadable reply)
    has ``value`` None, ``error`` set, and the judge's ``raw_reply`` when there
    was one. Scores are 0..1.
    """

    model_config = ConfigDict(frozen=True)

    metric: str
    value: float | None
    passed: bool | None = None
    label: str | None = None
    explanation: str = ""
    error: str | None = None
    raw_reply: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True when the metric could not produce a score."""
        return self.error is not None


class CaseResult(BaseModel):
    """A case, its output, its scores and the model calls made for it."""

    case: Case
    case_id: str
    output: str | None
    scores: list[Score] = Field(default_factory=list)
    interactions: list[LLMInteraction] = Field(default_factory=list)
    error: str | None = None
    duration: float = 0.0
    #: When the case's span started (UTC); None in results saved before schema 2.
    started_at: datetime | None = None

    def score(self, metric: str) -> Score | None:
        """The score of the metric named ``metric``, if it ran."""
        return next((s for s in self.scores if s.metric == metric), None)


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a crash never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
