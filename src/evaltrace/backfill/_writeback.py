"""Scores written back into the recorded trace: one evaluation span per score, under the call.

Each score becomes a span named ``evaluation <metric>`` in the *original*
trace, parented to the evaluated span (a remote parent built from the
recorded trace and span id), carrying one ``gen_ai.evaluation.result`` event
(name, score value and label, explanation, ``gen_ai.response.id`` when the
call recorded one). It goes out through the tracer provider's exporters, so
Jaeger and Tempo show it under the call. It links to the judge's calls (in
the evaluation run's own trace), and names its idempotency key
(``evaltrace.evaluation.key``), which the next run reads back.

Failed scores (the metric or the judge failed) are not written: the next
run tries them again.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags

from evaltrace._version import __version__
from evaltrace.backfill._recorded import ScoreToWrite, evaluation_key
from evaltrace.records import CaseResult, Score
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._evaluation import Evaluation, evaluation_attributes

__all__ = ["WriteBack"]

_SCOPE = "evaltrace.backfill"


class WriteBack:
    """Writes each finished case's scores as evaluation spans in the recorded trace."""

    def __init__(self, tracer_provider: trace.TracerProvider, run_id: str | None = None) -> None:
        self._tracer = tracer_provider.get_tracer(_SCOPE, __version__)
        self.run_id = run_id
        self.written = 0
        self.to_backend: list[ScoreToWrite] = []

    def case_done(self, result: CaseResult) -> None:
        """Write the case's successful scores (its metadata names the recorded call)."""
        metadata = result.case.metadata
        trace_id, span_id = metadata.get("trace_id"), metadata.get("span_id")
        if not isinstance(trace_id, str) or not isinstance(span_id, str):
            return
        response_id = metadata.get("response_id")
        parent = _remote(trace_id, span_id)
        links = _judge_links(result)
        for score in result.scores:
            if score.error is None:
                self._write(parent, span_id, score, links, response_id)

    def _write(
        self,
        parent: SpanContext,
        span_id: str,
        score: Score,
        links: Sequence[Link],
        response_id: object,
    ) -> None:
        key = evaluation_key(span_id, score.metric)
        attributes: dict[str, str] = {
            attr.EVALUATED_SPAN_ID: span_id,
            attr.EVALUATION_KEY: key,
            attr.METRIC_NAME: score.metric,
        }
        if self.run_id:
            attributes[attr.RUN_ID] = self.run_id
        evaluation = Evaluation(score.metric, score.value, score.label, score.explanation)
        event = evaluation_attributes(
            evaluation, response_id if isinstance(response_id, str) else None
        )
        span = self._tracer.start_span(
            f"evaluation {score.metric}",
            context=trace.set_span_in_context(NonRecordingSpan(parent)),
            attributes=attributes,
            links=links,
        )
        span.add_event(attr.EVALUATION_EVENT, event)
        span.end()
        self.written += 1
        self.to_backend.append(
            ScoreToWrite(span_id, score.metric, score.value, score.label, score.explanation)
        )


def _remote(trace_id: str, span_id: str) -> SpanContext:
    return SpanContext(
        int(trace_id, 16),
        int(span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )


def _judge_links(result: CaseResult) -> list[Link]:
    """Links to the calls the case's metrics made (the judge's), in the run's trace."""
    links = []
    for call in result.interactions:
        if call.purpose != "task" and call.trace_id and call.span_id:
            context = SpanContext(int(call.trace_id, 16), int(call.span_id, 16), is_remote=True)
            links.append(Link(context, {attr.PURPOSE: call.purpose}))
    return links
