"""Arize Phoenix's REST API: a project's spans (cursor paging) and span annotations.

Endpoints (Phoenix's ``src/phoenix/server/api/routers/v1/spans.py`` and
``annotations.py``, as of arize-phoenix 20.x):

* ``GET /v1/projects/{project_identifier}/spans`` with ``cursor``, ``limit``
  (<= 1000), ``start_time`` / ``end_time`` (ISO 8601; on the span's start),
  ``trace_id`` / ``span_id`` (repeatable) answers
  ``{"data": [span, ...], "next_cursor": "..." | null}``; spans are Phoenix's
  own JSON, read by ``phoenix_span``. A project Phoenix does not know is a 404.
* ``POST /v1/span_annotations?sync=true`` with ``{"data": [{"span_id", "name",
  "annotator_kind", "result": {"label", "score", "explanation"}, "metadata",
  "identifier"}]}`` answers the new annotations' ids (404 for an unknown span).
  The same name and identifier on the same span updates it.
* ``GET /v1/projects/{project_identifier}/span_annotations?span_ids=...``
  (cursor paging) reads them back.

The API key is sent as ``Authorization: Bearer``; by default it comes from
``PHOENIX_API_KEY``, the variable Phoenix's own clients read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple
from urllib.parse import quote

import httpx

from evaltrace.exceptions import ConfigurationError
from evaltrace.sources._common import rfc3339
from evaltrace.sources._errors import DecodeError, log_skipped
from evaltrace.sources._http import HttpBackend, RetryPolicy, Secret, resolve_secret
from evaltrace.sources._otlp_json import ErrorHandler
from evaltrace.sources._phoenix_json import phoenix_span
from evaltrace.tracing._record import SpanRecord

__all__ = ["PHOENIX_API_KEY_ENV", "PhoenixAnnotation", "PhoenixClient"]

#: The variable Phoenix's clients (and this one) read the API key from.
PHOENIX_API_KEY_ENV = "PHOENIX_API_KEY"
_MAX_PAGE = 1000

AnnotatorKind = Literal["LLM", "CODE", "HUMAN"]


class PhoenixAnnotation(NamedTuple):
    """One span annotation as Phoenix stores it."""

    span_id: str
    name: str
    annotator_kind: str
    label: str | None = None
    score: float | None = None
    explanation: str | None = None
    metadata: Mapping[str, Any] = {}
    identifier: str = ""
    id: str = ""


class PhoenixClient(HttpBackend):
    """Read a Phoenix project's spans and write span annotations.

    Args:
        base_url: e.g. ``http://localhost:6006``.
        api_key: default ``$PHOENIX_API_KEY``; none sent when neither is set.
        on_error: gets each span that cannot be decoded (skipped).
    """

    def __init__(
        self,
        base_url: str = "http://localhost:6006",
        *,
        api_key: str | Secret | None = None,
        api_key_env: str | None = PHOENIX_API_KEY_ENV,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_error: ErrorHandler | None = None,
    ) -> None:
        super().__init__(
            base_url,
            backend="phoenix",
            secret=resolve_secret(api_key, api_key_env),
            secret_env=api_key_env,
            timeout=timeout,
            retry=retry,
            transport=transport,
        )
        self._on_error = on_error or log_skipped

    async def iter_spans(
        self,
        project: str,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        trace_ids: Iterable[str] = (),
        span_ids: Iterable[str] = (),
        page_size: int = 100,
    ) -> AsyncIterator[SpanRecord]:
        """The project's spans (started in [start, end) when given), page by page."""
        if not 0 < page_size <= _MAX_PAGE:
            raise ConfigurationError(f"phoenix: page_size must be 1..{_MAX_PAGE}, got {page_size}")
        params: list[tuple[str, str]] = [("limit", str(page_size))]
        params += [("start_time", rfc3339(start))] if start is not None else []
        params += [("end_time", rfc3339(end))] if end is not None else []
        params += [("trace_id", t) for t in trace_ids] + [("span_id", s) for s in span_ids]
        path = f"/v1/projects/{_project(project)}/spans"
        async for item in self._pages(path, params):
            try:
                yield phoenix_span(item)
            except DecodeError as exc:
                self._on_error(exc)

    async def spans(self, project: str, **filters: Any) -> list[SpanRecord]:
        """All of ``iter_spans`` in a list (same arguments)."""
        return [span async for span in self.iter_spans(project, **filters)]

    async def annotate_span(
        self,
        span_id: str | int,
        name: str,
        *,
        label: str | None = None,
        score: float | None = None,
        explanation: str | None = None,
        annotator_kind: AnnotatorKind = "LLM",
        metadata: Mapping[str, Any] | None = None,
        identifier: str = "",
    ) -> str:
        """Write (or, same name and identifier, update) one span annotation; its id."""
        ids = await self.annotate_spans(
            [
                PhoenixAnnotation(
                    _span_hex(span_id),
                    name,
                    annotator_kind,
                    label,
                    score,
                    explanation,
                    metadata or {},
                    identifier,
                )
            ]
        )
        return ids[0] if ids else ""

    async def annotate_spans(self, annotations: Sequence[PhoenixAnnotation]) -> list[str]:
        """Write several span annotations in one request; their ids."""
        body = {"data": [_annotation_body(a) for a in annotations]}
        response = await self.request(
            "POST", "/v1/span_annotations", params={"sync": "true"}, json=body
        )
        data = _page(self, response)[0] if response is not None else []
        return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]

    async def span_annotations(
        self, project: str, span_ids: Iterable[str | int], *, page_size: int = 100
    ) -> list[PhoenixAnnotation]:
        """The annotations of the given spans in a project."""
        params = [("limit", str(page_size))] + [("span_ids", _span_hex(s)) for s in span_ids]
        path = f"/v1/projects/{_project(project)}/span_annotations"
        items = [item async for item in self._pages(path, params)]
        try:
            return [_annotation(item) for item in items]
        except (TypeError, AttributeError) as exc:
            raise self.error(f"GET {path}: unreadable annotation ({exc})") from exc

    async def _pages(self, path: str, params: list[tuple[str, str]]) -> AsyncIterator[Any]:
        cursor: str | None = None
        while True:
            query = params + ([("cursor", cursor)] if cursor else [])
            response = await self.request("GET", path, params=query)
            if response is None:
                return
            data, cursor = _page(self, response)
            for item in data:
                yield item
            if not cursor:
                return


def _page(client: HttpBackend, response: httpx.Response) -> tuple[list[Any], str | None]:
    try:
        answer = response.json()
        data, cursor = answer["data"], answer.get("next_cursor")
        if not isinstance(data, list) or not (cursor is None or isinstance(cursor, str)):
            raise TypeError("data must be a list and next_cursor a string or null")
    except (ValueError, TypeError, KeyError) as exc:
        raise client.error(f"{response.request.url.path}: unreadable answer ({exc})") from exc
    return data, cursor


def _project(project: str) -> str:
    if not project or any(c in project for c in "/?#"):
        reason = f"a project name cannot be empty or hold / ? #: {project!r}"
        raise ConfigurationError(f"phoenix: {reason}")
    return quote(project, safe="")


def _span_hex(span_id: str | int) -> str:
    if isinstance(span_id, int) and not isinstance(span_id, bool) and 0 < span_id < 1 << 64:
        return f"{span_id:016x}"
    if isinstance(span_id, str) and len(span_id) == 16:
        try:
            bytes.fromhex(span_id)
            return span_id.lower()
        except ValueError:
            pass
    raise ConfigurationError(f"not a span id: {span_id!r}")


def _annotation_body(annotation: PhoenixAnnotation) -> dict[str, Any]:
    result = {
        "label": annotation.label,
        "score": annotation.score,
        "explanation": annotation.explanation,
    }
    return {
        "span_id": annotation.span_id,
        "name": annotation.name,
        "annotator_kind": annotation.annotator_kind,
        "result": {k: v for k, v in result.items() if v is not None} or None,
        "metadata": dict(annotation.metadata),
        "identifier": annotation.identifier,
    }


def _annotation(item: Any) -> PhoenixAnnotation:
    if not isinstance(item, dict):
        raise TypeError(f"an annotation must be an object, got {type(item).__name__}")
    result = item.get("result") or {}
    return PhoenixAnnotation(
        span_id=str(item.get("span_id", "")),
        name=str(item.get("name", "")),
        annotator_kind=str(item.get("annotator_kind", "")),
        label=result.get("label"),
        score=result.get("score"),
        explanation=result.get("explanation"),
        metadata=item.get("metadata") or {},
        identifier=str(item.get("identifier") or ""),
        id=str(item.get("id", "")),
    )
