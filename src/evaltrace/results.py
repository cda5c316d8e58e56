"""``EvaluationResult``: what ``evaluate`` returns, with its summaries."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, JsonValue, model_validator

from evaltrace._schema import RESULTS_SCHEMA_VERSION, upgrade_result
from evaltrace._stats import percentile
from evaltrace.records import CaseResult, LLMInteraction, Score, write_text_atomically

__all__ = [
    "CaseTrials",
    "EvaluationResult",
    "LostAttempt",
    "MetricSummary",
    "MetricTrials",
    "RESULTS_SCHEMA_VERSION",
    "Totals",
    "UsageSummary",
    "summarise_metrics",
]


class MetricSummary(BaseModel):
    """Aggregate of one metric over the cases it scored.

    With trials (``repeat`` > 1), ``mean`` is the mean over cases of each case's
    mean over its trials, and ``interval`` its case-bootstrap confidence interval
    (trials of a case are one cluster: ``evaltrace.compare.mean_interval``);
    ``count`` counts scored trials. With one trial per case ``interval`` is None.
    """

    metric: str
    mean: float | None
    count: int
    failures: int
    pass_rate: float | None = None
    interval: tuple[float, float] | None = None
    confidence: float | None = None
    cases: int | None = None

    @classmethod
    def of(cls, metric: str, scores: Sequence[Score]) -> MetricSummary:
        """Summarise the scores one metric gave."""
        values = [s.value for s in scores if s.value is not None]
        verdicts = [s.passed for s in scores if s.passed is not None]
        return cls(
            metric=metric,
            mean=sum(values) / len(values) if values else None,
            count=len(values),
            failures=sum(1 for s in scores if s.failed),
            pass_rate=sum(verdicts) / len(verdicts) if verdicts else None,
        )


class UsageSummary(BaseModel):
    """Calls, tokens, latency and cost of a group of interactions."""

    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tokens: int = 0
    cost_usd: float | None = 0.0
    unpriced_calls: int = 0
    latency_p50: float | None = None
    latency_p95: float | None = None

    @classmethod
    def of(cls, interactions: Sequence[LLMInteraction]) -> UsageSummary:
        """Summarise ``interactions``; cost is None only when no call has a known price."""
        prices = [i.cost() for i in interactions]
        known = [p for p in prices if p is not None]
        latencies = [i.latency for i in interactions]
        return cls(
            calls=len(interactions),
            errors=sum(1 for i in interactions if i.error is not None),
            input_tokens=sum(i.input_tokens or 0 for i in interactions),
            output_tokens=sum(i.output_tokens or 0 for i in interactions),
            tokens=sum(i.tokens_used for i in interactions),
            cost_usd=float(sum(known, Decimal(0))) if known or not prices else None,
            unpriced_calls=len(prices) - len(known),
            latency_p50=percentile(latencies, 50),
            latency_p95=percentile(latencies, 95),
        )


class Totals(UsageSummary):
    """Usage over the whole run."""


class MetricTrials(BaseModel):
    """One metric across the trials of one case.

    ``mean`` and ``sd`` (sample standard deviation; None below 2 values) are over
    the trials it scored; ``passes`` of ``verdicts`` trials passed.
    """

    mean: float | None
    sd: float | None
    scored: int
    passes: int = 0
    verdicts: int = 0


class CaseTrials(BaseModel):
    """A case across its trials: per metric the mean, spread and pass count."""

    case_id: str
    trials: int
    errors: int = 0
    metrics: dict[str, MetricTrials] = Field(default_factory=dict)


class LostAttempt(BaseModel):
    """A case attempt whose result never came back (its worker died), so it was run again.

    Its calls are not in ``interactions``: only the attempt that succeeded
    counts. ``calls`` and ``cost_usd`` are what the driver saw of the lost
    attempt: the calls it had finished when its worker last reported (each
    time cases finish there), a lower bound; None when the worker never
    reported it with a call. Calls made after that, or still in flight when
    the worker died, are not seen, and the provider may still bill them.
    """

    case_id: str
    trial: int = 0
    attempt: int
    worker: str
    error: str
    calls: int | None = None
    cost_usd: float | None = None


class EvaluationResult(BaseModel):
    """The outcome of one ``evaluate`` run.

    ``interactions`` holds every model call of the run (task and judge alike),
    ordered by start time; each ``CaseResult`` holds its own case's calls (the
    same objects). A results file stores each call once (schema 4).
    ``complete`` is False when the run was cancelled part-way.
    ``unrecorded_calls`` counts model-call spans of the run that could not be
    turned into interactions (each is logged): when it is not 0,
    ``interactions`` misses that many calls. ``warnings`` says what else the
    run may miss (an instrumentation tracing into the no-op global provider).
    ``lost_attempts`` lists case attempts lost with their worker and run again
    (a run on several processes, e.g. on Ray); their calls are not counted.
    """

    schema_version: int = RESULTS_SCHEMA_VERSION
    name: str
    run_id: str
    trace_id: str
    started_at: datetime
    finished_at: datetime
    cases: list[CaseResult]
    metrics: dict[str, MetricSummary]
    interactions: list[LLMInteraction]
    totals: Totals
    complete: bool = True
    dropped_spans: int = 0
    unrecorded_calls: int = 0
    trace_url: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    #: Trials per case (``evaluate(repeat=N)``).
    repeat: int = 1
    #: A hash of the dataset's cases (``_values.dataset_fingerprint``): a comparison checks it.
    dataset_fingerprint: str | None = None
    #: What answered and judged: ``{"task": ..., "judge": ...}`` as configured.
    models: dict[str, str] = Field(default_factory=dict)
    #: Each metric's settings (its type and parameters), for a comparison to check.
    metric_settings: dict[str, dict[str, JsonValue]] = Field(default_factory=dict)
    #: With ``repeat`` > 1: each case across its trials (mean, spread, passes per metric).
    trials: list[CaseTrials] = Field(default_factory=list)
    lost_attempts: list[LostAttempt] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cases_hold_their_interactions(self) -> EvaluationResult:
        """Cases read from a file get their interactions back (the same objects) by span id."""
        unlinked = [c for c in self.cases if c.interaction_ids and not c.interactions]
        if unlinked:
            by_span = {i.span_id: i for i in self.interactions}
            for case in unlinked:
                missing = [s for s in case.interaction_ids if s not in by_span]
                if missing:
                    raise ValueError(
                        f"case {case.case_id!r} refers to interactions not in the result: "
                        f"{', '.join(missing[:3])}"
                    )
                case.interactions = [by_span[s] for s in case.interaction_ids]
        return self

    @classmethod
    def build(
        cls,
        *,
        name: str,
        run_id: str,
        trace_id: str,
        started_at: datetime,
        finished_at: datetime,
        cases: list[CaseResult],
        interactions: Iterable[LLMInteraction],
        complete: bool = True,
        dropped_spans: int = 0,
        unrecorded_calls: int = 0,
        trace_url: str | None = None,
        warnings: Sequence[str] = (),
        lost_attempts: Sequence[LostAttempt] = (),
        **identity: Any,
    ) -> EvaluationResult:
        """Assemble a result, computing its summaries.

        ``identity``: ``repeat``, ``dataset_fingerprint``, ``models``, ``metric_settings``.
        """
        ordered = sorted(interactions, key=lambda i: i.timestamp)
        return cls(
            name=name,
            run_id=run_id,
            trace_id=trace_id,
            started_at=started_at,
            finished_at=finished_at,
            cases=cases,
            metrics=summarise_metrics(cases),
            interactions=ordered,
            totals=Totals(**UsageSummary.of(ordered).model_dump()),
            complete=complete,
            dropped_spans=dropped_spans,
            unrecorded_calls=unrecorded_calls,
            trace_url=trace_url,
            warnings=list(warnings),
            **identity,
            lost_attempts=list(lost_attempts),
        )

    @property
    def duration(self) -> float:
        """Wall time of the run in seconds."""
        return (self.finished_at - self.started_at).total_seconds()

    def by_purpose(self) -> dict[tuple[str, str], UsageSummary]:
        """Usage per (purpose, model), e.g. to see what the judge cost."""
        return {key: UsageSummary.of(calls) for key, calls in self.calls_by_purpose().items()}

    def calls_by_purpose(self) -> dict[tuple[str, str], list[LLMInteraction]]:
        """The interactions per (purpose, model), in ``by_purpose``'s order."""
        groups: dict[tuple[str, str], list[LLMInteraction]] = {}
        for interaction in self.interactions:
            groups.setdefault((interaction.purpose, interaction.model), []).append(interaction)
        return dict(sorted(groups.items()))

    def save(self, path: str | Path) -> Path:
        """Write the result as JSON (atomically) and return the path."""
        target = Path(path)
        write_text_atomically(target, self.model_dump_json(indent=2))
        return target

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of a results file (``docs/api/results.schema.json``)."""
        schema = cls.model_json_schema(mode="serialization")
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:evaltrace:results:v{RESULTS_SCHEMA_VERSION}",
            **schema,
        }

    @classmethod
    def load(cls, path: str | Path) -> EvaluationResult:
        """Read a result written by ``save`` (any schema version up to the current one).

        Raises ``ValueError`` for a file written by a newer evaltrace and
        ``pydantic.ValidationError`` for a file that is not a results file.
        """
        return cls.from_saved(json.loads(Path(path).read_text(encoding="utf-8")), path)

    @classmethod
    def from_saved(cls, data: Any, source: str | Path) -> EvaluationResult:
        """Validate a saved result's data (any schema version up to the current one).

        ``source`` names where it came from in errors; raises as ``load`` does.
        """
        if isinstance(data, dict):
            data = upgrade_result(data, Path(source))
        return cls.model_validate(data)


def summarise_metrics(cases: Sequence[CaseResult]) -> dict[str, MetricSummary]:
    """Each metric's summary over ``cases`` (what ``EvaluationResult.metrics`` holds)."""
    by_metric: dict[str, list[Score]] = {}
    for case in cases:
        for score in case.scores:
            by_metric.setdefault(score.metric, []).append(score)
    return {name: MetricSummary.of(name, scores) for name, scores in by_metric.items()}
