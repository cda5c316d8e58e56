"""Sources of recorded calls: OTLP files, Phoenix, Jaeger, Tempo, behind one small interface.

A ``RecordedSource`` reads the spans of a window (``read``), says which
``(span, metric)`` scores the backend already holds (``scored``, the
idempotency read-back), and writes scores where the backend has its own
place for them (``write_scores``: Phoenix span annotations; the others keep
scores only as evaluation spans, which evaltrace exports through OTLP).

``open_source(spec)`` reads the command line's SOURCE:

* ``phoenix:http://host:6006#project`` (project ``default`` when omitted);
* ``jaeger:http://host:16686?service=NAME`` (also ``service_name`` /
  ``serviceName``; ``operation``, ``limit``: traces searched, default 100);
* ``tempo:http://host:3200?q=TRACEQL`` (default
  ``{ span.gen_ai.operation.name = "chat" }``; ``limit``, default 100);
* anything else: an OTLP JSON file, a directory of them, or a glob.

Jaeger needs a time window: without ``--since`` the last hour is read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol
from urllib.parse import parse_qs, urlsplit, urlunsplit

from evaltrace.exceptions import ConfigurationError
from evaltrace.sources._errors import BackendError, DecodeError
from evaltrace.sources._files import OtlpFileSource
from evaltrace.sources._jaeger import JaegerClient
from evaltrace.sources._phoenix import PhoenixAnnotation, PhoenixClient
from evaltrace.sources._select import SpanSelection
from evaltrace.sources._tempo import TempoClient
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._record import SpanRecord

__all__ = [
    "DEFAULT_TEMPO_QUERY",
    "PHOENIX_ANNOTATION_IDENTIFIER",
    "FileSpans",
    "JaegerSpans",
    "PhoenixSpans",
    "Problems",
    "RecordedSource",
    "ScoreToWrite",
    "TempoSpans",
    "evaluation_key",
    "evaluation_keys",
    "open_source",
]

DEFAULT_TEMPO_QUERY = '{ span.gen_ai.operation.name = "chat" }'
#: The ``identifier`` of the Phoenix annotations evaltrace writes (one per span and metric).
PHOENIX_ANNOTATION_IDENTIFIER = "evaltrace"
_DEFAULT_WINDOW = dt.timedelta(hours=1)
_DEFAULT_TRACES = 100
_ANNOTATION_BATCH = 100
_TEMPO_CONCURRENCY = 4


def evaluation_key(span_id: str, metric: str) -> str:
    """The idempotency key of one score: ``<span id (16 hex)>:<metric>``."""
    return f"{span_id}:{metric}"


def evaluation_keys(spans: Iterable[SpanRecord]) -> set[str]:
    """The scores recorded among ``spans``: evaluation spans and evaluation result events.

    A write-back span names its key (``evaltrace.evaluation.key``); any span
    with evaluation events counts for its parent (the evaluated span) and
    for itself.
    """
    keys: set[str] = set()
    for span in spans:
        key = span.attributes.get(attr.EVALUATION_KEY)
        if isinstance(key, str):
            keys.add(key)
        for event in span.events:
            if event.name != attr.EVALUATION_EVENT:
                continue
            name = event.attributes.get(attr.EVALUATION_NAME)
            if name is None:
                continue
            keys.add(evaluation_key(span.span_hex, str(name)))
            if span.parent_span_id is not None:
                keys.add(evaluation_key(f"{span.parent_span_id:016x}", str(name)))
    return keys


class ScoreToWrite(NamedTuple):
    """One score to write back to a backend's own store."""

    span_id: str
    metric: str
    value: float | None
    label: str | None
    explanation: str


class RecordedSource(Protocol):
    """Where recorded calls come from (see the module)."""

    #: What the source is, for messages (never a credential).
    description: str

    @property
    def problems(self) -> Sequence[str]:
        """Problems met while reading (a corrupt line, a bad span), with where."""
        ...

    async def read(self, selection: SpanSelection) -> list[SpanRecord]:
        """The spans of the selection's window (whole traces where the backend gives them)."""
        ...

    async def scored(self, spans: Sequence[SpanRecord], span_ids: Sequence[str]) -> set[str]:
        """The idempotency keys of scores the source already holds for these spans."""
        ...

    async def write_scores(self, scores: Sequence[ScoreToWrite]) -> int:
        """Write scores to the backend's own store; how many were written."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class Problems(list[str]):
    """The problems a source met; ``add`` is a decoder's ``on_error``."""

    def add(self, error: DecodeError) -> None:
        """Keep one skipped line or span (its message names where it was)."""
        self.append(str(error))


class _Base:
    description = ""

    def __init__(self, problems: Problems | None = None) -> None:
        self.problems: Problems = problems if problems is not None else Problems()

    async def scored(self, spans: Sequence[SpanRecord], span_ids: Sequence[str]) -> set[str]:
        return evaluation_keys(spans)

    async def write_scores(self, scores: Sequence[ScoreToWrite]) -> int:
        return 0

    async def aclose(self) -> None:
        return None


class FileSpans(_Base):
    """OTLP JSON files (the Collector's ``file`` exporter), rotated and compressed ones too."""

    def __init__(self, source: str | Sequence[str]) -> None:
        super().__init__()
        self._files = OtlpFileSource(source, on_error=self.problems.add)
        self.description = ", ".join(str(p) for p in self._files.paths)

    async def read(self, selection: SpanSelection) -> list[SpanRecord]:
        self.problems.clear()
        return list(self._files)


class PhoenixSpans(_Base):
    """A Phoenix project's spans; scores also written as span annotations."""

    def __init__(
        self, client: PhoenixClient, project: str = "default", *, problems: Problems | None = None
    ) -> None:
        super().__init__(problems)
        self.client, self.project = client, project
        self.description = f"phoenix:{client.base_url}#{project}"

    async def read(self, selection: SpanSelection) -> list[SpanRecord]:
        self.problems.clear()
        spans = self.client.iter_spans(
            self.project, start=selection.since, end=selection.until, page_size=1000
        )
        return [span async for span in spans]

    async def scored(self, spans: Sequence[SpanRecord], span_ids: Sequence[str]) -> set[str]:
        keys = evaluation_keys(spans)
        for start in range(0, len(span_ids), _ANNOTATION_BATCH):
            batch = span_ids[start : start + _ANNOTATION_BATCH]
            for note in await self.client.span_annotations(self.project, batch):
                if note.identifier == PHOENIX_ANNOTATION_IDENTIFIER:
                    keys.add(evaluation_key(note.span_id, note.name))
        return keys

    async def write_scores(self, scores: Sequence[ScoreToWrite]) -> int:
        notes = [_annotation(score) for score in scores]
        for start in range(0, len(notes), _ANNOTATION_BATCH):
            await self.client.annotate_spans(notes[start : start + _ANNOTATION_BATCH])
        return len(notes)

    async def aclose(self) -> None:
        await self.client.aclose()


def _annotation(score: ScoreToWrite) -> PhoenixAnnotation:
    return PhoenixAnnotation(
        span_id=score.span_id,
        name=score.metric,
        annotator_kind="LLM",
        label=score.label,
        score=score.value,
        explanation=score.explanation or None,
        metadata={"source": "evaltrace"},
        identifier=PHOENIX_ANNOTATION_IDENTIFIER,
    )


class JaegerSpans(_Base):
    """Traces found in Jaeger (api_v3) by service and window; whole traces are read."""

    def __init__(
        self,
        client: JaegerClient,
        service: str | None = None,
        operation: str | None = None,
        traces: int = _DEFAULT_TRACES,
        *,
        problems: Problems | None = None,
    ) -> None:
        super().__init__(problems)
        self.client, self.service, self.operation, self.traces = client, service, operation, traces
        self.description = f"jaeger:{client.base_url}" + (f" service {service}" if service else "")

    async def read(self, selection: SpanSelection) -> list[SpanRecord]:
        self.problems.clear()
        until = selection.until or dt.datetime.now(dt.UTC)
        since = selection.since or until - _DEFAULT_WINDOW
        return await self.client.find_traces(
            start=since,
            end=until,
            service=self.service,
            operation=self.operation,
            attributes=dict(selection.filters) or None,
            search_depth=self.traces,
        )

    async def aclose(self) -> None:
        await self.client.aclose()


class TempoSpans(_Base):
    """Traces a TraceQL query finds in Tempo; whole traces are read."""

    def __init__(
        self,
        client: TempoClient,
        query: str = DEFAULT_TEMPO_QUERY,
        traces: int = _DEFAULT_TRACES,
        *,
        problems: Problems | None = None,
    ) -> None:
        super().__init__(problems)
        self.client, self.query, self.traces = client, query, traces
        self.description = f"tempo:{client.base_url} {query}"

    async def read(self, selection: SpanSelection) -> list[SpanRecord]:
        """Search, then each trace; a trace Tempo fails to give is a problem, not the end."""
        self.problems.clear()
        since, until = selection.since, selection.until
        if (since is None) != (until is None):
            until = until or dt.datetime.now(dt.UTC)
            since = since or until - _DEFAULT_WINDOW
        found = await self.client.search(self.query, start=since, end=until, limit=self.traces)
        gate = asyncio.Semaphore(_TEMPO_CONCURRENCY)

        async def fetch(trace_id: str) -> list[SpanRecord]:
            async with gate:
                try:
                    return await self.client.get_trace(trace_id, start=since, end=until)
                except BackendError as exc:
                    self.problems.append(f"trace {trace_id}: {exc}")
                    return []

        traces = await asyncio.gather(*(fetch(trace_id) for trace_id in found))
        return [span for trace in traces for span in trace]

    async def aclose(self) -> None:
        await self.client.aclose()


def open_source(spec: str, *, token: str | None = None) -> RecordedSource:
    """The source a SOURCE string names (see the module); ``token`` overrides the environment.

    Raises:
        ConfigurationError: a malformed SOURCE, or no file at it.
    """
    scheme, _, rest = spec.partition(":")
    problems = Problems()
    if scheme == "phoenix":
        url, project = _url(spec, rest)
        phoenix = PhoenixClient(url, api_key=token, on_error=problems.add)
        return PhoenixSpans(phoenix, project or "default", problems=problems)
    if scheme == "jaeger":
        url, query = _url(spec, rest, fragment=False)
        service = _one(query, spec, "service", "service_name", "serviceName")
        operation = _one(query, spec, "operation", "operation_name", "operationName")
        jaeger = JaegerClient(url, token=token, on_error=problems.add)
        return JaegerSpans(jaeger, service, operation, _limit(query, spec), problems=problems)
    if scheme == "tempo":
        url, query = _url(spec, rest, fragment=False)
        traceql = _one(query, spec, "q", "query") or DEFAULT_TEMPO_QUERY
        tempo = TempoClient(url, token=token, on_error=problems.add)
        return TempoSpans(tempo, traceql, _limit(query, spec), problems=problems)
    return FileSpans(spec)


def _url(spec: str, rest: str, *, fragment: bool = True) -> tuple[str, str]:
    parts = urlsplit(rest)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"source {spec!r}: give the backend's http(s):// address")
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    return base, (parts.fragment if fragment else parts.query)


def _one(query: str, spec: str, *names: str) -> str | None:
    values = parse_qs(query)
    found = [values[name][-1] for name in names if name in values]
    if len(set(found)) > 1:
        raise ConfigurationError(f"source {spec!r}: {' / '.join(names)} given twice")
    return found[0] if found else None


def _limit(query: str, spec: str) -> int:
    text = _one(query, spec, "limit")
    if text is None:
        return _DEFAULT_TRACES
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(f"source {spec!r}: limit must be a positive number of traces")
    return int(text)
