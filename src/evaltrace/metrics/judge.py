"""LLM-as-judge metrics over any provider.

Each judge metric sends one prompt asking for ``{"score": 0..1, "explanation": ...}``
(structured output where the provider supports it) and parses the reply
tolerantly. A reply with no readable score, or a judge that fails after its
retries, becomes a ``Score`` with ``error`` set and the raw reply kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evaltrace._values import as_text
from evaltrace.exceptions import ConfigurationError, EvaltraceError, JudgeReplyError
from evaltrace.metrics._parse import JUDGE_SCHEMA, parse_verdict
from evaltrace.metrics._protocol import MetricContext
from evaltrace.providers import EmbeddingModel, GenerationParams
from evaltrace.records import Case, Score

__all__ = [
    "AnswerRelevance",
    "Correctness",
    "Criteria",
    "Faithfulness",
    "JudgeMetric",
    "SemanticSimilarity",
]

_SYSTEM = (
    "You are a strict, impartial evaluator. Reply with JSON only: "
    '{"score": <number from 0 to 1>, "explanation": "<one or two sentences>"}.'
)


@dataclass(frozen=True)
class JudgeMetric:
    """A metric scored by a judge model from one rubric.

    Subclasses set ``name``, ``purpose`` and ``rubric`` and may override
    ``render`` and ``missing`` to use other fields of the case.
    """

    threshold: float = 0.5
    name: str = "judge"
    purpose: str = "judge_evaluation"
    rubric: str = ""
    temperature: float = 0.0
    max_tokens: int = 256

    def missing(self, case: Case, output: Any) -> str | None:
        """What the case lacks for this metric, or None."""
        return "output" if output is None else None

    def render(self, case: Case, output: Any) -> str:
        """The user message the judge reads."""
        return (
            f"{self.rubric}\n\nQuestion:\n{as_text(case.input)}"
            f"\n\nAnswer to evaluate:\n{as_text(output)}"
        )

    async def score(self, context: MetricContext) -> Score:
        """Ask the judge and turn its reply into a Score."""
        lacking = self.missing(context.case, context.output)
        if lacking is not None:
            return Score(metric=self.name, value=None, error=f"the case has no {lacking}")
        if context.judge is None:
            raise ConfigurationError(f"metric {self.name!r} needs a judge: pass judge= to evaluate")
        return await self._ask(context)

    def prompt(self, context: MetricContext) -> str:
        """The user message the judge reads for this case (``render`` of its case and output).

        Override it instead of ``render`` to show the judge more of the
        context, such as the case's trace.
        """
        return self.render(context.case, context.output)

    async def _ask(self, context: MetricContext) -> Score:
        assert context.judge is not None and context.output is not None
        reply = ""
        try:
            completion = await context.judge.complete(
                self.prompt(context),
                system=_SYSTEM,
                purpose=self.purpose,
                params=GenerationParams(
                    temperature=self.temperature,
                    max_tokens=self.max_tokens,
                    json_schema=JUDGE_SCHEMA,
                ),
            )
            reply = completion.text
            verdict = parse_verdict(reply)
        except JudgeReplyError as error:
            return Score.unscored(self.name, error, raw_reply=error.raw_reply)
        except EvaltraceError as error:
            return Score.unscored(self.name, error, raw_reply=reply or None)
        passed = verdict.score >= self.threshold
        return Score(
            metric=self.name,
            value=verdict.score,
            passed=passed,
            label="pass" if passed else "fail",
            explanation=verdict.explanation,
            raw_reply=reply,
        )


@dataclass(frozen=True)
class SemanticSimilarity(JudgeMetric):
    """How close the output's meaning is to ``expected``.

    With a judge model (and ``method`` ``auto`` or ``judge``) the judge rates it.
    With no judge (or ``method="embedding"``) an embedding model compares the
    two texts: cosine similarity mapped to 0..1 (negative similarity is 0).
    """

    name: str = "semantic_similarity"
    purpose: str = "semantic_evaluation"
    method: str = "auto"
    rubric: str = (
        "Rate how closely the meaning of the answer matches the reference answer, "
        "ignoring wording and style: 1 means the same meaning, 0 means unrelated or "
        "contradictory."
    )

    def missing(self, case: Case, output: Any) -> str | None:
        """Needs an output and an expected answer."""
        if output is None:
            return "output"
        return "expected answer" if case.expected is None else None

    def render(self, case: Case, output: Any) -> str:
        """Question, reference and answer."""
        return (
            f"{self.rubric}\n\nQuestion:\n{as_text(case.input)}"
            f"\n\nReference answer:\n{as_text(case.expected)}"
            f"\n\nAnswer to evaluate:\n{as_text(output)}"
        )

    async def score(self, context: MetricContext) -> Score:
        """Judge-rated when a judge is configured, else embedding-based."""
        lacking = self.missing(context.case, context.output)
        if lacking is not None:
            return Score(metric=self.name, value=None, error=f"the case has no {lacking}")
        use_judge = self.method == "judge" or (self.method == "auto" and context.judge)
        if use_judge:
            return await super().score(context)
        embedder = context.embedder or _default_embedder()
        return await self._by_embedding(embedder, context)

    async def _by_embedding(self, embedder: EmbeddingModel, context: MetricContext) -> Score:
        assert context.output is not None and context.case.expected is not None
        try:
            result = await embedder.embed(
                [as_text(context.output), as_text(context.case.expected)], purpose=self.purpose
            )
        except EvaltraceError as error:
            return Score.unscored(self.name, error)
        cosine = _cosine(result.vectors[0], result.vectors[1])
        value = max(0.0, min(1.0, cosine))
        passed = value >= self.threshold
        return Score(
            metric=self.name,
            value=value,
            passed=passed,
            label="pass" if passed else "fail",
            explanation=f"cosine similarity {cosine:.3f} between output and expected answer "
            f"({embedder.embedder.model})",
            metadata={"method": "embedding", "cosine": cosine},
        )


@dataclass(frozen=True)
class Correctness(JudgeMetric):
    """Whether the output correctly answers the question (against ``expected`` when given)."""

    name: str = "correctness"
    purpose: str = "correctness_evaluation"
    rubric: str = (
        "Rate whether the answer is factually correct and answers the question. "
        "If a reference answer is given, treat it as ground truth: 1 means fully "
        "correct, 0 means wrong."
    )

    def render(self, case: Case, output: Any) -> str:
        """Question, optional reference, answer."""
        expected = as_text(case.expected)
        reference = f"\n\nReference answer:\n{expected}" if expected else ""
        return (
            f"{self.rubric}\n\nQuestion:\n{as_text(case.input)}{reference}"
            f"\n\nAnswer to evaluate:\n{as_text(output)}"
        )


@dataclass(frozen=True)
class Faithfulness(JudgeMetric):
    """Whether every claim of the output is supported by the case's ``context``."""

    name: str = "faithfulness"
    purpose: str = "faithfulness_evaluation"
    rubric: str = (
        "Rate whether every claim in the answer is supported by the context. 1 means "
        "fully supported, 0 means the answer contradicts or invents facts not in the context."
    )

    def missing(self, case: Case, output: Any) -> str | None:
        """Needs an output and a context."""
        if output is None:
            return "output"
        return "context" if case.context is None else None

    def render(self, case: Case, output: Any) -> str:
        """Context, question, answer."""
        return (
            f"{self.rubric}\n\nContext:\n{case.context_text}\n\nQuestion:\n{as_text(case.input)}"
            f"\n\nAnswer to evaluate:\n{as_text(output)}"
        )


@dataclass(frozen=True)
class AnswerRelevance(JudgeMetric):
    """Whether the output addresses the question asked (not whether it is correct)."""

    name: str = "answer_relevance"
    purpose: str = "relevance_evaluation"
    rubric: str = (
        "Rate how directly the answer addresses the question, regardless of correctness: "
        "1 means fully on topic and complete, 0 means it ignores the question."
    )


class Criteria(JudgeMetric):
    """A custom rubric: ``Criteria("politeness", "Is the answer polite?")``."""

    def __init__(self, name: str, rubric: str, *, threshold: float = 0.5) -> None:
        if not rubric.strip():
            raise ConfigurationError(f"Criteria {name!r} needs a non-empty rubric")
        super().__init__(
            threshold=threshold,
            name=name,
            purpose="criteria_evaluation",
            rubric=f"Rate the answer on this criterion: {rubric}",
        )


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _default_embedder() -> EmbeddingModel:
    from evaltrace.providers.local import default_embedding_model

    return default_embedding_model()
