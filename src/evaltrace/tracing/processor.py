"""``InteractionCollector``: the span processor that turns model-call spans into interactions.

It follows each evaluation run down its span tree: a span that carries an
open run's ``evaltrace.run.id`` opens a route (the run's root, or a case span
whose parent lives in another process), and a span started under a followed
span is followed too, with what it inherits (``_inherit.inherit``). When a
GenAI inference span of a followed tree ends, the converter makes an
``LLMInteraction`` of its record and the run's sink receives it. Runs are told
apart by their run id, not by trace id, so two runs inside one application
trace never mix.

The processor reads span attributes only, so calls traced by any GenAI
instrumentation inside a case are collected beside evaltrace's own. It never
raises into the host: a conversion failure is logged and counted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, NamedTuple

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from evaltrace._interaction import LLMInteraction
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import is_inference
from evaltrace.tracing._convert import interaction_of
from evaltrace.tracing._inherit import NOTHING_INHERITED, Inherited, inherit
from evaltrace.tracing._read import live_record, own_record, span_attributes
from evaltrace.tracing._record import CallContent, SpanRecord

__all__ = ["CaseKey", "InteractionCollector", "RunSink", "TakenCalls"]

_log = logging.getLogger(__name__)

#: A case of a run: its id and its trial.
CaseKey = tuple[str | None, int | None]


class TakenCalls(NamedTuple):
    """A case's interactions, in start order, and how many of its calls could not be recorded."""

    interactions: list[LLMInteraction]
    unrecorded_calls: int = 0


class RunSink:
    """The interactions of one run as its spans end, by case; safe to fill from any thread.

    The runner takes each case's interactions when the case ends
    (``take_case``); what no case took (calls of a case cut short, calls made
    in the run outside any case) stays until ``take_rest``.
    """

    def __init__(self, run_id: str, *, keep_spans: bool = True) -> None:
        self.run_id = run_id
        self.closed = False
        #: Keep every finished span of a case (its ``CaseTrace``) until the case is taken.
        self.keep_spans = keep_spans
        self._lock = threading.Lock()
        self._by_case: dict[CaseKey, list[LLMInteraction]] = {}
        self._spans: dict[CaseKey, list[SpanRecord]] = {}
        self._unrecorded: dict[CaseKey, int] = {}
        self._nested_calls = 0

    def add_span(self, key: CaseKey, record: SpanRecord) -> None:
        """Keep one finished span of a case, for its trace.

        Only a case's first span takes the lock: ``dict.get`` and
        ``list.append`` are each atomic, and the list, once made, is only
        ever appended to until the case is taken.
        """
        found = self._spans.get(key)
        if found is None:
            with self._lock:
                found = self._spans.setdefault(key, [])
        found.append(record)

    def case_spans(self, case_id: str, trial: int | None) -> list[SpanRecord]:
        """The finished spans of one case so far (a copy; the sink keeps them)."""
        with self._lock:
            return list(self._spans.get((case_id, trial), ()))

    def add(self, interaction: LLMInteraction) -> None:
        """Record one interaction."""
        key = (interaction.case_id, interaction.trial)
        with self._lock:
            found = self._by_case.get(key)
            if found is None:
                self._by_case[key] = [interaction]
            else:
                found.append(interaction)

    def count_nested(self) -> None:
        """Count a model-call span inside another model call of the run (not an interaction)."""
        with self._lock:
            self._nested_calls += 1

    def count_unrecorded(self, key: CaseKey) -> None:
        """Count a model-call span of a case that could not be turned into an interaction."""
        with self._lock:
            self._unrecorded[key] = self._unrecorded.get(key, 0) + 1

    @property
    def nested_calls(self) -> int:
        """Model-call spans nested in another call of the run, counted once with it."""
        return self._nested_calls

    def peek_case(self, case_id: str, trial: int | None) -> list[LLMInteraction]:
        """The interactions of one case so far (a copy; the sink keeps them)."""
        with self._lock:
            return list(self._by_case.get((case_id, trial), ()))

    def take_case(self, case_id: str, trial: int | None) -> TakenCalls:
        """The calls of one case so far, in start order; the sink keeps no copy."""
        key = (case_id, trial)
        with self._lock:
            found = self._by_case.pop(key, [])
            unrecorded = self._unrecorded.pop(key, 0)
            self._spans.pop(key, None)  # the case's trace is no longer needed
        found.sort(key=_start)
        return TakenCalls(found, unrecorded)

    def take_rest(self) -> TakenCalls:
        """Every call no case took, in start order; the sink keeps no copy."""
        with self._lock:
            groups, self._by_case = self._by_case, {}
            unrecorded, self._unrecorded = self._unrecorded, {}
            self._spans = {}
        rest = [interaction for group in groups.values() for interaction in group]
        rest.sort(key=_start)
        return TakenCalls(rest, sum(unrecorded.values()))


def _start(interaction: LLMInteraction) -> Any:
    return interaction.timestamp


class _Route(NamedTuple):  # a tuple: made for every span of a run, cheaply
    sink: RunSink
    inherited: Inherited


class InteractionCollector(SpanProcessor):
    """Routes finished GenAI inference spans of each open run to that run's sink."""

    def __init__(self) -> None:
        self._runs: dict[str, RunSink] = {}
        self._routes: dict[int, _Route] = {}
        self._attached: dict[int, tuple[CallContent, Mapping[str, Any] | None]] = {}

    def open_run(self, run_id: str, *, keep_spans: bool = True) -> RunSink:
        """Start collecting for the spans that carry ``evaltrace.run.id = run_id``.

        ``keep_spans``: keep each case's finished spans until the case ends, so
        its metrics can read its trace.
        """
        sink = RunSink(run_id, keep_spans=keep_spans)
        self._runs[run_id] = sink
        return sink

    def close_run(self, run_id: str) -> None:
        """Stop collecting for a run and release what was kept for it.

        A span that starts under the run while this runs is let go too: the
        sink is marked closed first, and ``on_start`` checks the mark after
        adding its route.
        """
        sink = self._runs.pop(run_id, None)
        if sink is None:
            return
        sink.closed = True
        for span_id, route in list(self._routes.items()):
            if route.sink is sink:
                self._routes.pop(span_id, None)
                self._attached.pop(span_id, None)

    @property
    def open_spans(self) -> int:
        """Spans followed and not yet ended (for tests and leak checks)."""
        return len(self._routes)

    def attach(
        self, span_id: int, content: CallContent, attributes: Mapping[str, Any] | None = None
    ) -> None:
        """Keep a followed call span's content until it ends (evaltrace's own calls).

        Interactions always carry full content while exported spans carry it
        only when the user opts in, so evaltrace hands its calls' messages to
        the collector directly. ``attributes``, when given, are all the
        attributes the span was given, so they are not read back from it.
        """
        if span_id not in self._routes:
            return
        self._attached[span_id] = (content, attributes)
        if span_id not in self._routes:  # the run closed meanwhile
            self._attached.pop(span_id, None)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Follow the span if it carries an open run's id or descends from a followed span."""
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
        self._attached.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered: interactions are delivered as spans end."""
        return True

    def _follow(self, span: Span) -> None:
        runs = self._runs
        if not runs:
            return  # no run open: the host's span costs it ~nothing
        context = span.parent
        routes = self._routes
        parent = routes.get(context.span_id) if context is not None and routes else None
        attributes = span_attributes(span)
        if parent is None:
            run_id = attributes.get(attr.RUN_ID)
            sink = runs.get(str(run_id)) if run_id is not None else None
            if sink is None:
                return  # the host's own span
            parent = _Route(sink, NOTHING_INHERITED)
        span_id = span.context.span_id
        routes[span_id] = _Route(parent.sink, inherit(parent.inherited, attributes))
        if parent.sink.closed:  # closed while this span started: let it go
            routes.pop(span_id, None)

    def _collect(self, span: ReadableSpan) -> None:
        routes = self._routes
        if not routes:
            return
        span_id = span.context.span_id
        route = routes.pop(span_id, None)
        attached = self._attached.pop(span_id, None)
        if route is None:
            return
        content, attributes = attached if attached is not None else (None, None)
        sink, inherited = route
        key = (inherited.case_id, inherited.trial)
        keep = sink.keep_spans and inherited.case_id is not None  # every span: the case's trace
        record: SpanRecord | None = None
        if attributes is not None and content is not None:  # evaltrace's own call (the hot path)
            record = own_record(span, attributes, content)  # its own dicts: nothing to fail on
            if keep:
                sink.add_span(key, record)
        else:
            if keep:
                record = _kept_record(sink, key, span, content)
            if attributes is None and not is_inference(span_attributes(span)):
                return
        if self._inside_another_call(span):
            sink.count_nested()
            return
        try:
            interaction = interaction_of(record or live_record(span, content), inherited)
        except Exception:
            sink.count_unrecorded(key)
            _log.warning(
                "evaltrace could not turn span %s (trace %032x, span %016x) into an "
                "interaction; the run will miss it",
                span.name,
                span.context.trace_id,
                span_id,
                exc_info=True,
            )
            return
        sink.add(interaction)

    def _inside_another_call(self, span: ReadableSpan) -> bool:
        """True for an inference span nested in another inference span of the run.

        The outer span already accounts for the request (for example evaltrace's
        provider span around an instrumented SDK's own span of the same call).
        """
        parent = span.parent
        if parent is None:
            return False
        route = self._routes.get(parent.span_id)
        return route is not None and route.inherited.in_call


def _kept_record(
    sink: RunSink, key: CaseKey, span: ReadableSpan, content: CallContent | None
) -> SpanRecord | None:
    """Read a span (any instrumentation's) into its case's trace; None, and a warning, if it
    cannot be read."""
    try:
        record = live_record(span, content)
    except Exception:
        _log.warning(
            "evaltrace could not read span %s (trace %032x, span %016x) into its case's trace",
            span.name,
            span.context.trace_id,
            span.context.span_id,
            exc_info=True,
        )
        return None
    sink.add_span(key, record)
    return record
