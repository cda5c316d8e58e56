"""Jaeger v2 ``api_v3`` over HTTP: find traces, get a trace, as ``SpanRecord``.

Endpoints (``jaegertracing/jaeger-idl``, ``proto/api_v3/query_service.proto``;
Jaeger's ``cmd/jaeger/internal/extension/jaegerquery/internal/apiv3``):

* ``GET /api/v3/traces`` (FindTraces) with ``query.service_name``,
  ``query.operation_name``, ``query.start_time_min`` / ``query.start_time_max``
  (RFC 3339, both required), ``query.search_depth``, ``query.attributes``
  (a JSON object of strings), ``query.duration_min`` / ``_max`` (Go durations).
* ``GET /api/v3/traces/{trace_id}`` (GetTrace), optional ``start_time`` /
  ``end_time``.

Parameters are sent in snake_case, the spelling every Jaeger v2 release
reads (releases since mid-2026 prefer camelCase ``query.serviceName`` but keep
snake_case as aliases). The search limit is sent both as
``query.search_depth`` and as its older name ``query.num_traces``: each release
reads the one it knows. ``query.attributes`` is only honoured by recent
releases (older ones ignore it and answer more traces), so the client also
keeps only traces with a span whose attributes (or resource) match, comparing
values as text the way Jaeger does.

Answers are OTLP/JSON in Jaeger's ``{"result": {...}}`` envelope, possibly
several chunks concatenated; ids hex or (some versions) base64; the decoder
reads every spelling. Jaeger answers HTTP 404 ("No traces found") when
nothing matches: that is an empty result, not an error.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import httpx

from evaltrace.exceptions import ConfigurationError
from evaltrace.sources._common import (
    as_text,
    by_trace,
    check_window,
    rfc3339,
    span_matches,
    trace_hex,
)
from evaltrace.sources._errors import log_skipped
from evaltrace.sources._http import HttpBackend, RetryPolicy, Secret, resolve_secret
from evaltrace.sources._otlp_json import ErrorHandler
from evaltrace.tracing._record import SpanRecord

__all__ = ["JAEGER_TOKEN_ENV", "JaegerClient"]

#: The variable a Jaeger bearer token is read from when none is given.
JAEGER_TOKEN_ENV = "EVALTRACE_JAEGER_TOKEN"
_NOT_FOUND = (404,)


class JaegerClient(HttpBackend):
    """Read traces from Jaeger's query service (``api_v3``, port 16686 by default).

    Args:
        base_url: e.g. ``http://localhost:16686``.
        token: a bearer token (or an API key, with ``header``); default
            ``$EVALTRACE_JAEGER_TOKEN``; none sent when neither is set.
        header: ``"authorization"`` (Bearer) or an API key header's name.
        on_error: gets each span that cannot be decoded (skipped); default:
            a warning on the ``evaltrace.sources`` logger.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | Secret | None = None,
        token_env: str | None = JAEGER_TOKEN_ENV,
        header: str = "authorization",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_error: ErrorHandler | None = None,
    ) -> None:
        super().__init__(
            base_url,
            backend="jaeger",
            secret=resolve_secret(token, token_env),
            secret_env=token_env,
            header=header,
            timeout=timeout,
            retry=retry,
            transport=transport,
        )
        self._on_error = on_error or log_skipped

    async def get_trace(
        self,
        trace_id: str | int,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> list[SpanRecord]:
        """The spans of one trace ([] when Jaeger does not have it)."""
        params = {}
        if start is not None:
            params["start_time"] = rfc3339(start)
        if end is not None:
            params["end_time"] = rfc3339(end)
        path = f"/api/v3/traces/{trace_hex(trace_id)}"
        response = await self.request("GET", path, params=params, nothing_there=_NOT_FOUND)
        return self.spans_of(path, response, self._on_error)

    async def find_traces(
        self,
        *,
        start: dt.datetime,
        end: dt.datetime,
        service: str | None = None,
        operation: str | None = None,
        attributes: Mapping[str, str | int | float | bool] | None = None,
        search_depth: int = 20,
        duration_min: str | None = None,
        duration_max: str | None = None,
    ) -> list[SpanRecord]:
        """The spans of the traces with a span started in [start, end) that matches.

        ``attributes`` must all match one span's (or its resource's)
        attributes, compared as text; durations are Go durations (``"10ms"``).
        """
        params = _find_params(
            start, end, service, operation, attributes, search_depth, duration_min, duration_max
        )
        path = "/api/v3/traces"
        response = await self.request("GET", path, params=params, nothing_there=_NOT_FOUND)
        spans = self.spans_of(path, response, self._on_error)
        return _matching(spans, attributes) if attributes else spans


def _find_params(
    start: dt.datetime,
    end: dt.datetime,
    service: str | None,
    operation: str | None,
    attributes: Mapping[str, str | int | float | bool] | None,
    search_depth: int,
    duration_min: str | None,
    duration_max: str | None,
) -> dict[str, str]:
    check_window("jaeger", start, end)
    if search_depth < 1:
        raise ConfigurationError(f"jaeger: search_depth must be positive, got {search_depth}")
    params = {
        "query.start_time_min": rfc3339(start),
        "query.start_time_max": rfc3339(end),
        "query.search_depth": str(search_depth),
        "query.num_traces": str(search_depth),
    }
    optional = {
        "query.service_name": service,
        "query.operation_name": operation,
        "query.duration_min": duration_min,
        "query.duration_max": duration_max,
    }
    params.update({key: value for key, value in optional.items() if value})
    if attributes:
        texts = {key: as_text(value) for key, value in attributes.items()}
        params["query.attributes"] = json.dumps(texts, separators=(",", ":"))
    return params


def _matching(spans: list[SpanRecord], wanted: Mapping[str, Any]) -> list[SpanRecord]:
    """The spans of the traces in which some span matches every wanted attribute."""
    kept: list[SpanRecord] = []
    for trace in by_trace(spans).values():
        if any(span_matches(span, wanted) for span in trace):
            kept.extend(trace)
    return kept
