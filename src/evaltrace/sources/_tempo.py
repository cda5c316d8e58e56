"""Grafana Tempo over HTTP: TraceQL search, then each trace by id, as ``SpanRecord``.

Endpoints (Tempo's ``docs/sources/tempo/api_docs/_index.md``):

* ``GET /api/search?q=<TraceQL>&start=&end=&limit=&spss=`` (``start``/``end``
  in unix seconds) answers ``{"traces": [{"traceID": ..., ...}], "metrics": ...}``.
  Trace ids may come without their leading zeros; they are padded to 32 digits.
* ``GET /api/v2/traces/<id>`` answers ``{"trace": {"resourceSpans": [...]}, ...}``;
  ``GET /api/traces/<id>`` (v1, every release) answers ``{"batches": [...]}``.
  Both are protobuf JSON: base64 ids, enum names (``SPAN_KIND_SERVER``),
  string 64-bit ints; the decoder reads them as they are.

``get_trace`` asks v2 and falls back to v1 when v2 answers 404 (releases
before v2 existed answer 404 for the route itself); 404 from both, or an empty
trace, means Tempo does not have the trace.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx

from evaltrace.exceptions import ConfigurationError
from evaltrace.sources._common import check_window, trace_hex, unix_seconds
from evaltrace.sources._errors import log_skipped
from evaltrace.sources._http import HttpBackend, RetryPolicy, Secret, resolve_secret
from evaltrace.sources._otlp_json import ErrorHandler
from evaltrace.tracing._record import SpanRecord

__all__ = ["TEMPO_TOKEN_ENV", "TempoClient"]

#: The variable a Tempo bearer token (or Basic password) is read from when none is given.
TEMPO_TOKEN_ENV = "EVALTRACE_TEMPO_TOKEN"
_NOT_FOUND = (404,)


class TempoClient(HttpBackend):
    """Read traces from Grafana Tempo's query frontend (port 3200 by default).

    Args:
        base_url: e.g. ``http://localhost:3200``.
        token: a bearer token; with ``username`` the password of Basic auth
            (Grafana Cloud: instance id and API token); default
            ``$EVALTRACE_TEMPO_TOKEN``.
        header: ``"authorization"`` or an API key header's name.
        concurrency: how many traces ``find_traces`` fetches at once.
        on_error: gets each span that cannot be decoded (skipped).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | Secret | None = None,
        token_env: str | None = TEMPO_TOKEN_ENV,
        username: str | None = None,
        header: str = "authorization",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = 4,
        on_error: ErrorHandler | None = None,
    ) -> None:
        super().__init__(
            base_url,
            backend="tempo",
            secret=resolve_secret(token, token_env),
            secret_env=token_env,
            header=header,
            username=username,
            timeout=timeout,
            retry=retry,
            transport=transport,
        )
        if concurrency < 1:
            raise ConfigurationError(f"tempo: concurrency must be positive, got {concurrency}")
        self._concurrency = concurrency
        self._on_error = on_error or log_skipped

    async def search(
        self,
        query: str,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        limit: int = 20,
        spans_per_spanset: int | None = None,
    ) -> list[str]:
        """The ids (32 hex digits) of the traces a TraceQL query finds.

        Example query: ``{ span.gen_ai.operation.name = "chat" }``.
        """
        params = _window(start, end)
        params.update(q=query, limit=str(limit))
        if spans_per_spanset is not None:
            params["spss"] = str(spans_per_spanset)
        response = await self.request("GET", "/api/search", params=params)
        return self._trace_ids(response) if response is not None else []

    async def get_trace(
        self,
        trace_id: str | int,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> list[SpanRecord]:
        """The spans of one trace ([] when Tempo does not have it)."""
        hex_id = trace_hex(trace_id)
        params = _window(start, end)
        for path in (f"/api/v2/traces/{hex_id}", f"/api/traces/{hex_id}"):
            response = await self.request("GET", path, params=params, nothing_there=_NOT_FOUND)
            if response is not None:
                return self.spans_of(path, response, self._on_error)
        return []

    async def find_traces(
        self,
        query: str,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        limit: int = 20,
    ) -> list[SpanRecord]:
        """The spans of every trace a TraceQL query finds (search, then each trace)."""
        trace_ids = await self.search(query, start=start, end=end, limit=limit)
        gate = asyncio.Semaphore(self._concurrency)

        async def fetch(trace_id: str) -> list[SpanRecord]:
            async with gate:
                return await self.get_trace(trace_id, start=start, end=end)

        tasks = [asyncio.ensure_future(fetch(trace_id)) for trace_id in trace_ids]
        try:
            traces = await asyncio.gather(*tasks)
        except BaseException:  # one failed: stop the others before the error leaves
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return [span for trace in traces for span in trace]

    def _trace_ids(self, response: httpx.Response) -> list[str]:
        try:
            answer: Any = response.json()
            traces = answer.get("traces") or []
            return [trace_hex(trace["traceID"]) for trace in traces]
        except (ValueError, TypeError, KeyError, AttributeError, ConfigurationError) as exc:
            raise self.error(f"GET /api/search: unreadable answer ({exc})") from exc


def _window(start: dt.datetime | None, end: dt.datetime | None) -> dict[str, str]:
    if (start is None) != (end is None):
        raise ConfigurationError("tempo: give both start and end, or neither")
    if start is None or end is None:
        return {}
    check_window("tempo", start, end)
    return {"start": str(unix_seconds(start)), "end": str(unix_seconds(end, round_up=True))}
