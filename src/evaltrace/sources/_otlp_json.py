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

AnyValues become plain Python values: strings, ints, floats, bools, ``bytes``
(``bytesValue`` is base64), arrays as tuples, and ``kvlistValue`` as a plain
``dict`` of the same values (nested as sent: the structure is kept, not
flattened into dotted keys or re-encoded as a JSON string). An empty AnyValue
(no field set) drops its attribute: a live span cannot hold a null value.

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

import binascii
import json
from collections.abc import Callable, Iterator
from typing import Any

from evaltrace.sources._errors import DecodeError
from evaltrace.tracing._record import EMPTY_ATTRIBUTES, SpanEvent, SpanLink, SpanRecord

__all__ = [
    "ErrorHandler",
    "decode_json",
    "decode_traces",
    "iter_json_documents",
    "resource_spans_of",
]

#: Called with each error when decoding goes on past bad spans.
ErrorHandler = Callable[[DecodeError], None]

# Errors a malformed value can raise inside the walk; all become DecodeError.
_MALFORMED = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError)
_RECURSION = RecursionError

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
_ID_SHOWN = 64  # characters of a bad id quoted in an error

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


class _Empty:
    """The value of an AnyValue with no field set."""


_NOTHING = _Empty()


# --------------------------------------------------------------------------
# Scalars
# --------------------------------------------------------------------------


def _int(value: Any) -> int:
    """A 64-bit integer as OTLP/JSON spells it: a number or a decimal string."""
    kind = type(value)
    if kind is int:
        return int(value)
    if kind is str:
        return int(value)
    if kind is float and value.is_integer():
        return int(value)
    raise DecodeError(f"expected an integer, got {_show(value)}")


def _float(value: Any) -> float:
    kind = type(value)
    if kind is float or kind is int:
        return float(value)
    if kind is str:
        return float(value)  # also "NaN", "Infinity", "-Infinity"
    raise DecodeError(f"expected a number, got {_show(value)}")


def _str(value: Any) -> str:
    if type(value) is str:
        return str(value)
    raise DecodeError(f"expected a string, got {_show(value)}")


def _bool(value: Any) -> bool:
    if type(value) is bool:
        return bool(value)
    raise DecodeError(f"expected true or false, got {_show(value)}")


def _bytes(value: Any) -> bytes:
    text = _str(value)
    return _b64(text)


def _b64(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    if "-" in padded or "_" in padded:
        padded = padded.replace("-", "+").replace("_", "/")
    try:
        return binascii.a2b_base64(padded, strict_mode=True)
    except binascii.Error as exc:
        raise DecodeError(f"not base64: {_show(text)} ({exc})") from None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _ID_SHOWN else f"{text[: _ID_SHOWN - 3]}..."


# --------------------------------------------------------------------------
# Ids
# --------------------------------------------------------------------------


def _id(value: Any, size: int, what: str) -> int:
    """A trace (16 bytes) or span (8 bytes) id from hex or base64 text."""
    if type(value) is not str:
        raise DecodeError(f"{what} must be a string, got {_show(value)}")
    if len(value) == 2 * size:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise DecodeError(f"{what} is not hex: {_show(value)}") from None
    else:
        raw = _b64(value)
    if len(raw) != size:
        raise DecodeError(f"{what} must be {size} bytes (hex or base64), got {_show(value)}")
    number = int.from_bytes(raw, "big")
    if number == 0:
        raise DecodeError(f"{what} is all zeros")
    return number


def _parent_id(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return _id(value, 8, "parentSpanId")
    except DecodeError as exc:
        if exc.reason.endswith("all zeros"):
            return None
        raise


# --------------------------------------------------------------------------
# AnyValue and attributes
# --------------------------------------------------------------------------


def _array(value: Any) -> tuple[Any, ...]:
    values = value.get("values") if value else None
    if not values:
        return ()
    if type(values) is not list:
        raise DecodeError(f"arrayValue.values must be a list, got {_show(values)}")
    items = [_any(item) for item in values]
    return tuple(item for item in items if item is not _NOTHING)


def _kvlist(value: Any) -> dict[str, Any]:
    values = value.get("values") if value else None
    return dict(_attributes(values)) if values else {}


_ANY: dict[str, Callable[[Any], Any]] = {
    "stringValue": _str,
    "intValue": _int,
    "doubleValue": _float,
    "boolValue": _bool,
    "arrayValue": _array,
    "kvlistValue": _kvlist,
    "bytesValue": _bytes,
}
for _camel, _convert in list(_ANY.items()):
    _ANY["".join("_" + c.lower() if c.isupper() else c for c in _camel)] = _convert


def _any(value: Any) -> Any:
    """A plain Python value from an AnyValue object (``_NOTHING`` when empty)."""
    if type(value) is not dict:
        raise DecodeError(f"an AnyValue must be an object, got {_show(value)}")
    for tag, inner in value.items():
        convert = _ANY.get(tag)
        if convert is not None:
            return convert(inner)
    return _NOTHING


def _attributes(kvs: Any) -> dict[str, Any] | Any:
    """A dict from a list of ``{"key": ..., "value": AnyValue}`` (the shared empty one if none)."""
    if not kvs:
        return EMPTY_ATTRIBUTES
    if type(kvs) is not list:
        raise DecodeError(f"attributes must be a list, got {_show(kvs)}")
    out: dict[str, Any] = {}
    for kv in kvs:
        key = kv["key"]
        if type(key) is not str:
            raise DecodeError(f"attribute key must be a string, got {_show(key)}")
        value = kv.get("value")
        if value is None:
            continue
        # Fast path for the common single string value.
        text = value.get("stringValue")
        if type(text) is str and len(value) == 1:
            out[key] = text
            continue
        decoded = _any(value)
        if decoded is not _NOTHING:
            out[key] = decoded
    return out


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
    raise DecodeError(f"unknown {what} {_show(value)}")


def _status(status: Any) -> tuple[str, str | None]:
    if not status:
        return "unset", None
    if type(status) is not dict:
        raise DecodeError(f"status must be an object, got {_show(status)}")
    code = status.get("code")
    name = "unset" if code is None else _enum(_STATUSES, code, "status code")
    message = status.get("message")
    if message is not None and type(message) is not str:
        raise DecodeError(f"status message must be a string, got {_show(message)}")
    return name, message or None


def _events(events: Any) -> tuple[SpanEvent, ...]:
    if not events:
        return ()
    if type(events) is not list:
        raise DecodeError(f"events must be a list, got {_show(events)}")
    out = []
    for event in events:
        time = event.get("timeUnixNano")
        if time is None:
            time = event.get("time_unix_nano")
        name = event.get("name")
        out.append(
            SpanEvent(
                "" if name is None else _str(name),
                0 if time is None else _int(time),
                _attributes(event.get("attributes")),
            )
        )
    return tuple(out)


def _links(links: Any) -> tuple[SpanLink, ...]:
    if not links:
        return ()
    if type(links) is not list:
        raise DecodeError(f"links must be a list, got {_show(links)}")
    out = []
    for link in links:
        keys = _CAMEL if "traceId" in link or "spanId" in link else _SNAKE
        out.append(
            SpanLink(
                _id(link.get(keys[0]), 16, "link traceId"),
                _id(link.get(keys[1]), 8, "link spanId"),
                _attributes(link.get("attributes")),
            )
        )
    return tuple(out)


def _span(span: Any, scope: str | None, resource: Any) -> SpanRecord:
    """One span object -> SpanRecord (raises DecodeError, or a _MALFORMED error)."""
    if type(span) is not dict:
        raise DecodeError(f"a span must be an object, got {_show(span)}")
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
        _id(get(k_trace), 16, "traceId"),
        _id(get(k_span), 8, "spanId"),
        "" if name is None else _str(name),
        0 if start is None else _int(start),
        0 if end is None else _int(end),
        _attributes(get("attributes")),
        _parent_id(get(k_parent)),
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
    bits = _int(flags)
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
    return text if len(text) <= _ID_SHOWN else f"{text[: _ID_SHOWN - 3]}..."


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
        raise DecodeError(f"scope must be an object, got {_show(scope)}")
    name = scope.get("name")
    if name is None:
        return None
    return _str(name) or None


def _resource_attributes(resource_spans: dict[str, Any]) -> Any:
    resource = resource_spans.get("resource")
    if not resource:
        return EMPTY_ATTRIBUTES
    if type(resource) is not dict:
        raise DecodeError(f"resource must be an object, got {_show(resource)}")
    return _attributes(resource.get("attributes"))


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if type(value) is not list:
        raise DecodeError(f"{what} must be a list, got {_show(value)}")
    return value


def _decode_resource_spans(block: Any, on_error: ErrorHandler | None) -> Iterator[SpanRecord]:
    """The spans of one ResourceSpans; bad spans raise, or go to ``on_error``."""
    try:
        if type(block) is not dict:
            raise DecodeError(f"a ResourceSpans must be an object, got {_show(block)}")
        resource = _resource_attributes(block)
        scopes = _list(_first(block, _SCOPE_SPANS_KEYS), "scopeSpans")
    except DecodeError as exc:
        _report(exc, on_error)
        return
    except (*_MALFORMED, _RECURSION) as exc:
        _report(DecodeError(f"malformed resource: {_describe(exc)}"), on_error)
        return
    for scope_spans in scopes:
        yield from _decode_scope_spans(scope_spans, resource, on_error)


def _decode_scope_spans(
    block: Any, resource: Any, on_error: ErrorHandler | None
) -> Iterator[SpanRecord]:
    try:
        if type(block) is not dict:
            raise DecodeError(f"a ScopeSpans must be an object, got {_show(block)}")
        scope = _scope_name(block)
        spans = _list(block.get("spans"), "spans")
    except DecodeError as exc:
        _report(exc, on_error)
        return
    except (*_MALFORMED, _RECURSION) as exc:
        _report(DecodeError(f"malformed scope: {_describe(exc)}"), on_error)
        return
    for span in spans:
        try:
            record = _span(span, scope, resource)
        except (*_MALFORMED, _RECURSION) as exc:  # DecodeError is a ValueError
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
            raise DecodeError(f"expected a JSON object holding resourceSpans, got {_show(current)}")
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
        raise DecodeError(f"the document is an error answer: {_show(document['error'])}")
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
            raise DecodeError(f"not JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
        except ValueError as exc:  # e.g. an integer literal past int_max_str_digits
            raise DecodeError(f"not JSON: {exc}") from None
        except RecursionError:
            raise DecodeError("JSON nested too deeply") from None
        yield document


def decode_json(
    text: str | bytes, *, on_error: ErrorHandler | None = None
) -> Iterator[SpanRecord]:
    """The spans of OTLP/JSON text: one document or several concatenated (a stream).

    Raises:
        DecodeError: the text is not JSON, not TracesData in a known envelope,
            or (without ``on_error``) holds a span that cannot be read.
    """
    for document in iter_json_documents(text):
        yield from decode_traces(document, on_error=on_error)
