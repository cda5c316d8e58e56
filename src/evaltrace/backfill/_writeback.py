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

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags

from evaltrace._version import __version__
from evaltrace.backfill._recorded import ScoreToWrite, evaluation_key
from evaltrace.records import CaseResult, Score
from evaltrace.sources._errors import SourceError
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._evaluation import Evaluation, evaluation_attributes

__all__ = ["BackendWriter", "WriteBack"]

_SCOPE = "evaltrace.backfill"


#: Writes scores to a backend's own store (``RecordedSource.write_scores``).
BackendWriter = Callable[[Sequence[ScoreToWrite]], Awaitable[int]]


class WriteBack:
    """Writes each finished case's scores as evaluation spans in the recorded trace.

    With ``backend`` (Phoenix annotations), the scores are also sent there
    in batches of ``batch`` while the run goes on; ``drain`` sends the rest
    and waits. A failed batch is a problem (``problems``), not a crash.
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider,
        run_id: str | None = None,
        *,
        backend: BackendWriter | None = None,
        batch: int = 20,
    ) -> None:
        self._tracer = tracer_provider.get_tracer(_SCOPE, __version__)
        self.run_id = run_id
        self.written = 0
        self.problems: list[str] = []
        self._backend, self._batch = backend, batch
        self._pending: list[ScoreToWrite] = []
        self._sending: list[asyncio.Future[int]] = []

    async def drain(self) -> int:
        """Send what is pending to the backend and wait; how many scores it took."""
        if self._pending:
            self._send()
        sent = await asyncio.gather(*self._sending)
        self._sending.clear()
        return sum(sent)

    def _queue(self, score: ScoreToWrite) -> None:
        if self._backend is None:
            return
        self._pending.append(score)
        if len(self._pending) >= self._batch:
            self._send()

    def _send(self) -> None:
        batch, self._pending = self._pending, []
        self._sending.append(asyncio.ensure_future(self._deliver(batch)))

    async def _deliver(self, batch: Sequence[ScoreToWrite]) -> int:
        assert self._backend is not None
        try:
            return await self._backend(batch)
        except SourceError as exc:
            self.problems.append(f"writing {len(batch)} scores back: {exc}")
            return 0

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
        self._queue(
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
