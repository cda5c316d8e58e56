"""OTLP/JSON ``TracesData`` -> ``SpanRecord``: one decoder for every spelling in the wild.

Accepted, in any mix:

* ids as hex (the OTLP/JSON spec; any case) or base64 (the protobuf JSON
  mapping, as Tempo and some Jaeger versions return them; standard or URL-safe
  alphabet, padded or not). Trace ids are 16 bytes, span ids 8; the length of
  the text tells the two encodings apart (32/16 hex digits, 24/22 and 12/11
  base64 characters). An empty or all-zero parent id means a root span.
* enums as numbers (kind 0..5, status code 0..2), as their proto names
  (``SPAN_KIND_CLIENT``, ``STATUS_CODE_ERROR``), lower case, or bare
  (``client``, ``error``). ``SPAN_KIND_UNSPECIFIED`` (0) becomes ``internal``.
* 64-bit integers (times, ``intValue``) as JSON numbers or decimal strings.
* camelCase or snake_case keys (``resourceSpans``/``resource_spans``,
  ``startTimeUnixNano``/``start_time_unix_nano``...), and the legacy
  ``instrumentationLibrarySpans`` with its ``instrumentationLibrary``.
* each backend's envelope: the bare ``TracesData``, Jaeger api_v3's
  ``{"result": {...}}``, Tempo's ``{"batches": [...]}`` (v1) and
  ``{"trace": {...}}`` (v2), or a JSON array of any of these.

AnyValues become plain Python values (``_values``): arrays as tuples,
``kvlistValue`` as a plain ``dict`` (structure kept), ``bytesValue`` as
``bytes``; an empty AnyValue drops its attribute.

``parent_is_remote`` comes from the span's ``flags`` (bits 8 and 9, as the
OTLP proto defines them); ``scope`` is the scope's name (None when empty);
``resource`` the resource's attributes, one dict shared by the spans of a
``ResourceSpans``: records are read-only, do not mutate it.

Nothing but ``DecodeError`` leaves this module for any JSON input. Without an
``on_error`` callback the first bad span raises; with one, each bad span (or
``ResourceSpans`` whose resource cannot be read) is reported to it and
skipped, and decoding goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from evaltrace.sources._errors import DecodeError
from evaltrace.sources._values import (
    MALFORMED,
    SHOWN,
    attributes,
    int64,
    parent_id,
    parse_id,
    show,
    string,
)
from evaltrace.tracing._record import EMPTY_ATTRIBUTES, SpanEvent, SpanLink, SpanRecord

__all__ = [
    "ErrorHandler",
    "decode_json",
    "decode_traces",
    "iter_json_documents",
    "resource_spans_of",
    "status_name",
]

#: Called with each error when decoding goes on past bad spans.
ErrorHandler = Callable[[DecodeError], None]

# Errors a malformed value can raise inside the walk; all become DecodeError.
_MALFORMED = (*MALFORMED, RecursionError)

_RESOURCE_SPANS_KEYS = ("resourceSpans", "resource_spans", "batches")
_ENVELOPE_KEYS = ("result", "trace")
# Keys an envelope may carry beside (or instead of) spans: a document with only
# these holds no spans (Tempo v2's ``metrics``/``status``, Jaeger's empty result).
_QUIET_KEYS = frozenset({"metrics", "status", "message", "schemaUrl", "schema_url"})
_SCOPE_SPANS_KEYS = (
    "scopeSpans",
    "scope_spans",
    "instrumentationLibrarySpans",
    "instrumentation_library_spans",
)
_SCOPE_KEYS = ("scope", "instrumentationLibrary", "instrumentation_library")

# Per-spelling keys of a span, unpacked once per span.
_CAMEL = ("traceId", "spanId", "parentSpanId", "startTimeUnixNano", "endTimeUnixNano")
_SNAKE = ("trace_id", "span_id", "parent_span_id", "start_time_unix_nano", "end_time_unix_nano")

_FLAG_HAS_IS_REMOTE = 0x100
_FLAG_IS_REMOTE = 0x200

_KIND_ORDER = ("internal", "internal", "server", "client", "producer", "consumer")
_STATUS_ORDER = ("unset", "ok", "error")


def _enum_table(prefix: str, names: tuple[str, ...], extra: dict[str, str]) -> dict[Any, str]:
    table: dict[Any, str] = {}
    for number, name in enumerate(names):
        table[number] = name
    for proto_name, name in extra.items():
        for spelling in (proto_name, f"{prefix}{proto_name}"):
            table[spelling] = name
            table[spelling.lower()] = name
    return table


_KINDS = _enum_table(
    "SPAN_KIND_",
    _KIND_ORDER,
    {n.upper(): n for n in _KIND_ORDER[1:]} | {"UNSPECIFIED": "internal"},
)
_STATUSES = _enum_table("STATUS_CODE_", _STATUS_ORDER, {n.upper(): n for n in _STATUS_ORDER})


# --------------------------------------------------------------------------
# Spans
# --------------------------------------------------------------------------


def _enum(table: dict[Any, str], value: Any, what: str) -> str:
    if type(value) is bool:
        raise DecodeError(f"{what} must be a number or a name, got {value!r}")
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is int or type(value) is str:
        found = table.get(value)
        if found is None and type(value) is str:
            found = table.get(value.upper()) or table.get(value.strip().upper())
            if found is None and value.isdigit():
                found = table.get(int(value))
        if found is not None:
            return found
    raise DecodeError(f"unknown {what} {show(value)}")


def status_name(value: Any) -> str:
    """``SpanRecord.status`` from any spelling of a status code (0..2, names, lower case).

    Raises:
        DecodeError: not a status code.
    """
    return _enum(_STATUSES, value, "status code")


def _status(status: Any) -> tuple[str, str | None]:
    if not status:
        return "unset", None
    if type(status) is not dict:
        raise DecodeError(f"status must be an object, got {show(status)}")
    code = status.get("code")
    name = "unset" if code is None else _enum(_STATUSES, code, "status code")
    message = status.get("message")
    if message is not None and type(message) is not str:
        raise DecodeError(f"status message must be a string, got {show(message)}")
    return name, message or None


def _events(events: Any) -> tuple[SpanEvent, ...]:
    if not events:
        return ()
    if type(events) is not list:
        raise DecodeError(f"events must be a list, got {show(events)}")
    out = []
    for event in events:
        time = event.get("timeUnixNano")
        if time is None:
            time = event.get("time_unix_nano")
        name = event.get("name")
        out.append(
            SpanEvent(
                "" if name is None else string(name),
                0 if time is None else int64(time),
                attributes(event.get("attributes")),
            )
        )
    return tuple(out)


def _links(links: Any) -> tuple[SpanLink, ...]:
    if not links:
        return ()
    if type(links) is not list:
        raise DecodeError(f"links must be a list, got {show(links)}")
    out = []
    for link in links:
        keys = _CAMEL if "traceId" in link or "spanId" in link else _SNAKE
        out.append(
            SpanLink(
                parse_id(link.get(keys[0]), 16, "link traceId"),
                parse_id(link.get(keys[1]), 8, "link spanId"),
                attributes(link.get("attributes")),
            )
        )
    return tuple(out)


def _span(span: Any, scope: str | None, resource: Any) -> SpanRecord:
    """One span object -> SpanRecord (raises DecodeError, or a _MALFORMED error)."""
    if type(span) is not dict:
        raise DecodeError(f"a span must be an object, got {show(span)}")
    get = span.get
    k_trace, k_span, k_parent, k_start, k_end = (
        _CAMEL if "traceId" in span or "spanId" in span else _SNAKE
    )
    start = get(k_start)
    end = get(k_end)
    kind = get("kind")
    name = get("name")
    flags = get("flags")
    status, message = _status(get("status"))
    # Positional, in SpanRecord's field order (the fastest way to build one).
    return SpanRecord(
        parse_id(get(k_trace), 16, "traceId"),
        parse_id(get(k_span), 8, "spanId"),
        "" if name is None else string(name),
        0 if start is None else int64(start),
        0 if end is None else int64(end),
        attributes(get("attributes")),
        parent_id(get(k_parent)),
        "internal" if kind is None else _enum(_KINDS, kind, "span kind"),
        status,
        message,
        _events(get("events")),
        _links(get("links")),
        scope,
        resource,
        bool(flags) and _remote(flags),
        None,
    )


def _remote(flags: Any) -> bool:
    bits = int64(flags)
    return bool(bits & _FLAG_HAS_IS_REMOTE) and bool(bits & _FLAG_IS_REMOTE)


def _span_error(span: Any, exc: BaseException) -> DecodeError:
    """A DecodeError naming the span as the document spelled its ids."""
    reason = exc.reason if isinstance(exc, DecodeError) else _describe(exc)
    trace_id = span_id = None
    if type(span) is dict:
        trace_id = _raw_id(span.get("traceId", span.get("trace_id")))
        span_id = _raw_id(span.get("spanId", span.get("span_id")))
    return DecodeError(reason, trace_id=trace_id, span_id=span_id)


def _raw_id(value: Any) -> str | None:
    if value is None:
        return None
    text = value if type(value) is str else repr(value)
    return text if len(text) <= SHOWN else f"{text[: SHOWN - 3]}..."


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "value nested too deeply"
    if isinstance(exc, KeyError):
        return f"missing field {exc}"
    return f"malformed span ({type(exc).__name__}: {exc})"


# --------------------------------------------------------------------------
# ResourceSpans / ScopeSpans
# --------------------------------------------------------------------------


def _first(mapping: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def _scope_name(scope_spans: dict[str, Any]) -> str | None:
    scope = _first(scope_spans, _SCOPE_KEYS)
    if not scope:
        return None
    if type(scope) is not dict:
        raise DecodeError(f"scope must be an object, got {show(scope)}")
    name = scope.get("name")
    if name is None:
        return None
    return string(name) or None


def _resource_attributes(resource_spans: dict[str, Any]) -> Any:
    resource = resource_spans.get("resource")
    if not resource:
        return EMPTY_ATTRIBUTES
    if type(resource) is not dict:
        raise DecodeError(f"resource must be an object, got {show(resource)}")
    return attributes(resource.get("attributes"))


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if type(value) is not list:
        raise DecodeError(f"{what} must be a list, got {show(value)}")
    return value


def _decode_resource_spans(block: Any, on_error: ErrorHandler | None) -> Iterator[SpanRecord]:
    """The spans of one ResourceSpans; bad spans raise, or go to ``on_error``."""
    try:
        if type(block) is not dict:
            raise DecodeError(f"a ResourceSpans must be an object, got {show(block)}")
        resource = _resource_attributes(block)
        scopes = _list(_first(block, _SCOPE_SPANS_KEYS), "scopeSpans")
    except DecodeError as exc:
        _report(exc, on_error)
        return
    except _MALFORMED as exc:
        _report(DecodeError(f"malformed resource: {_describe(exc)}"), on_error)
        return
    for scope_spans in scopes:
        yield from _decode_scope_spans(scope_spans, resource, on_error)


def _decode_scope_spans(
    block: Any, resource: Any, on_error: ErrorHandler | None
) -> Iterator[SpanRecord]:
    try:
        if type(block) is not dict:
            raise DecodeError(f"a ScopeSpans must be an object, got {show(block)}")
        scope = _scope_name(block)
        spans = _list(block.get("spans"), "spans")
    except DecodeError as exc:
        _report(exc, on_error)
        return
    except _MALFORMED as exc:
        _report(DecodeError(f"malformed scope: {_describe(exc)}"), on_error)
        return
    for span in spans:
        try:
            record = _span(span, scope, resource)
        except _MALFORMED as exc:  # DecodeError is a ValueError
            _report(_span_error(span, exc), on_error)
            continue
        yield record


def _report(error: DecodeError, on_error: ErrorHandler | None) -> None:
    if on_error is None:
        raise error
    on_error(error)


# --------------------------------------------------------------------------
# Envelopes and documents
# --------------------------------------------------------------------------


def resource_spans_of(document: Any) -> list[Any]:
    """The ``ResourceSpans`` list inside any backend's envelope.

    Raises:
        DecodeError: the document is no TracesData in any known envelope,
            or is the error object a backend answers with.
    """
    current = document
    for _ in range(len(_ENVELOPE_KEYS) + 1):
        if type(current) is not dict:
            raise DecodeError(f"expected a JSON object holding resourceSpans, got {show(current)}")
        found = _first(current, _RESOURCE_SPANS_KEYS)
        if found is not None:
            return _list(found, "resourceSpans")
        inner = _first(current, _ENVELOPE_KEYS)
        if inner is None:
            return _no_spans(current)
        current = inner
    raise DecodeError("envelopes nested too deeply")


def _no_spans(document: dict[str, Any]) -> list[Any]:
    if "error" in document:
        raise DecodeError(f"the document is an error answer: {show(document['error'])}")
    if document.keys() <= _QUIET_KEYS:
        return []
    keys = ", ".join(sorted(map(str, document))[:5])
    raise DecodeError(f"no resourceSpans (nor batches, result, trace) in an object with {keys}")


def decode_traces(document: Any, *, on_error: ErrorHandler | None = None) -> Iterator[SpanRecord]:
    """The spans of one parsed OTLP/JSON document (any envelope; a list of them too).

    Raises:
        DecodeError: the document (or, without ``on_error``, one of its spans)
            cannot be read.
    """
    documents = document if type(document) is list else (document,)
    for item in documents:
        for block in resource_spans_of(item):
            yield from _decode_resource_spans(block, on_error)


def iter_json_documents(text: str | bytes) -> Iterator[Any]:
    """Each JSON value in ``text``: one, or several concatenated or newline-separated.

    A leading UTF-8 byte order mark is skipped (OTel's file format allows one).

    Raises:
        DecodeError: text that is not JSON, with its line number.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    decoder = json.JSONDecoder()
    position = 1 if text.startswith("\ufeff") else 0
    end = len(text)
    while True:
        while position < end and text[position] in " \t\r\n":
            position += 1
        if position >= end:
            return
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            reason = f"not JSON: {exc.msg} (column {exc.colno})"
            raise DecodeError(reason, line=exc.lineno) from None
        except ValueError as exc:  # e.g. an integer literal past int_max_str_digits
            raise DecodeError(f"not JSON: {exc}") from None
        except RecursionError:
            raise DecodeError("JSON nested too deeply") from None
        yield document


def decode_json(text: str | bytes, *, on_error: ErrorHandler | None = None) -> Iterator[SpanRecord]:
    """The spans of OTLP/JSON text: one document or several concatenated (a stream).

    Raises:
        DecodeError: the text is not JSON, not TracesData in a known envelope,
            or (without ``on_error``) holds a span that cannot be read.
    """
    for document in iter_json_documents(text):
        yield from decode_traces(document, on_error=on_error)
