"""``InteractionCollector``: the span processor that turns model-call spans into interactions.

It follows each evaluation run down its span tree: a span started under a
run's root (or under any span already followed) is routed to that run, with
the case and purpose inherited from its ancestors. When a GenAI inference span
of a followed tree ends, the pure converter makes an ``LLMInteraction`` of it
and the run's sink receives it. Runs are told apart by their root span, not by
trace id, so two runs inside one application trace never mix.

The processor reads span attributes only, so calls traced by any GenAI
instrumentation inside a case are collected beside evaltrace's own. It never
raises into the host: a conversion failure is logged and counted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import NamedTuple

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from evaltrace.records import LLMInteraction, Message
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import is_inference
from evaltrace.tracing._convert import own_call_to_interaction, span_to_interaction
from evaltrace.tracing._read import span_attributes
from evaltrace.tracing._span import OwnCallRecord

__all__ = ["RUN_SPAN_PREFIX", "InteractionCollector", "RunSink"]

#: A run's root span is named ``evaluate <run name>``; only such a span can open a route.
RUN_SPAN_PREFIX = "evaluate "

_log = logging.getLogger(__name__)


class RunSink:
    """The interactions of one run, as its spans end; safe to fill from any thread."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._lock = threading.Lock()
        self._interactions: list[LLMInteraction] = []
        self._by_case: dict[str | None, list[LLMInteraction]] = {}
        self.nested_calls = 0
        self.conversion_errors = 0

    def add(self, interaction: LLMInteraction) -> None:
        """Record one interaction."""
        with self._lock:
            self._interactions.append(interaction)
            self._by_case.setdefault(interaction.case_id, []).append(interaction)

    def interactions(self) -> list[LLMInteraction]:
        """A snapshot of what the run has collected so far."""
        with self._lock:
            return list(self._interactions)

    def for_case(self, case_id: str) -> list[LLMInteraction]:
        """The interactions of one case so far, in start order."""
        with self._lock:
            found = list(self._by_case.get(case_id, ()))
        return sorted(found, key=lambda i: i.timestamp)


class _Route(NamedTuple):  # a tuple: made for every span of a run, cheaply
    sink: RunSink
    case_id: str | None
    purpose: str | None
    inference: bool


class InteractionCollector(SpanProcessor):
    """Routes finished GenAI inference spans of each open run to that run's sink."""

    def __init__(self) -> None:
        self._runs: dict[str, RunSink] = {}
        self._routes: dict[int, _Route] = {}
        self._content: dict[int, tuple[Sequence[Message], Sequence[Message]] | OwnCallRecord] = {}

    def open_run(self, run_id: str) -> RunSink:
        """Start collecting for a run whose root span carries ``evaltrace.run.id = run_id``."""
        sink = RunSink(run_id)
        self._runs[run_id] = sink
        return sink

    def close_run(self, run_id: str) -> None:
        """Stop collecting for a run and release what was kept for it."""
        sink = self._runs.pop(run_id, None)
        if sink is None:
            return
        for span_id, route in list(self._routes.items()):
            if route.sink is sink:
                self._routes.pop(span_id, None)
                self._content.pop(span_id, None)

    @property
    def open_spans(self) -> int:
        """Spans followed and not yet ended (for tests and leak checks)."""
        return len(self._routes)

    def attach_content(
        self, span_id: int, inputs: Sequence[Message], outputs: Sequence[Message] = ()
    ) -> None:
        """Keep the messages of a followed span until it ends (evaltrace's own calls).

        Interactions always carry full content while exported spans carry it
        only when the user opts in, so evaltrace hands its calls' messages to
        the collector directly rather than through span attributes.
        """
        if span_id in self._routes:
            self._content[span_id] = (inputs, outputs)

    def attach_own(self, span_id: int, record: OwnCallRecord) -> None:
        """Keep what the interaction of one of evaltrace's own calls needs until its span ends."""
        if span_id in self._routes:
            self._content[span_id] = record

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Follow the span if it is a run's root or descends from a followed span."""
        try:
            self._follow(span)
        except Exception:  # never raise into the host application
            _log.debug("evaltrace could not follow span %s", span.name, exc_info=True)

    def on_end(self, span: ReadableSpan) -> None:
        """Convert a followed inference span and hand it to its run."""
        try:
            self._collect(span)
        except Exception:
            _log.debug("evaltrace could not convert span %s", span.name, exc_info=True)

    def shutdown(self) -> None:
        """Forget every run."""
        self._runs.clear()
        self._routes.clear()
        self._content.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered: interactions are delivered as spans end."""
        return True

    def _follow(self, span: Span) -> None:
        context = span.parent
        routes = self._routes
        parent = routes.get(context.span_id) if context is not None and routes else None
        if parent is None and not (self._runs and span.name.startswith(RUN_SPAN_PREFIX)):
            return  # the host's own span: no attribute is read (it costs the host ~nothing)
        attributes = span_attributes(span)
        if parent is None:
            run_id = attributes.get(attr.RUN_ID)
            sink = self._runs.get(str(run_id)) if run_id is not None else None
            if sink is None:
                return
            parent = _Route(sink, None, None, False)
        case_id = attributes.get(attr.CASE_ID)
        purpose = attributes.get(attr.PURPOSE)
        self._routes[span.context.span_id] = _Route(
            parent.sink,
            str(case_id) if case_id is not None else parent.case_id,
            str(purpose) if purpose is not None else parent.purpose,
            parent.inference or is_inference(attributes),
        )

    def _collect(self, span: ReadableSpan) -> None:
        if not self._routes:
            return
        span_id = span.context.span_id
        route = self._routes.pop(span_id, None)
        content = self._content.pop(span_id, None)
        if route is None:
            return
        own = isinstance(content, OwnCallRecord)  # evaltrace's own call: known to be inference
        if not own and not is_inference(span_attributes(span)):
            return
        if self._inside_another_call(span, route):
            route.sink.nested_calls += 1
            return
        try:
            if isinstance(content, OwnCallRecord):
                interaction = own_call_to_interaction(
                    span, content, purpose=route.purpose, case_id=route.case_id
                )
            else:
                interaction = span_to_interaction(
                    span, purpose=route.purpose, case_id=route.case_id, content=content
                )
        except Exception:
            route.sink.conversion_errors += 1
            _log.warning(
                "evaltrace could not turn span %s into an interaction; the run will miss it",
                span.name,
                exc_info=True,
            )
            return
        route.sink.add(interaction)

    def _inside_another_call(self, span: ReadableSpan, route: _Route) -> bool:
        """True for an inference span nested in another inference span of the run.

        The outer span already accounts for the request (for example evaltrace's
        provider span around an instrumented SDK's own span of the same call).
        """
        if span.parent is None:
            return False
        parent = self._routes.get(span.parent.span_id)
        return parent is not None and parent.inference
