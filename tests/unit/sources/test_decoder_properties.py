"""Property tests: on any JSON input the decoders succeed or raise DecodeError, nothing else.

Three kinds of input: arbitrary JSON values, arbitrary text (and bytes), and
valid documents (OTel's own encoder output, respelled) with random mutations:
a value replaced by arbitrary JSON, a key dropped, or a list emptied. With
``on_error`` the same inputs never raise past the envelope.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaltrace.sources import (
    DecodeError,
    decode_json,
    decode_traces,
    phoenix_span,
    read_otlp_files,
)
from evaltrace.sources._otlp_json import resource_spans_of
from tests.unit.sources._support import genai_spans, otlp_json, respell

_SETTINGS = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

_KEYS = st.sampled_from(
    ["resourceSpans", "resource_spans", "batches", "result", "trace", "scopeSpans", "spans",
     "traceId", "spanId", "parentSpanId", "kind", "status", "code", "attributes", "key", "value",
     "stringValue", "intValue", "arrayValue", "kvlistValue", "values", "bytesValue", "events",
     "links", "flags", "startTimeUnixNano", "name", "scope", "resource", "error", "context",
     "trace_id", "span_id", "start_time", "end_time", "status_code", "parent_id", "timestamp"]
) | st.text(max_size=8)  # fmt: skip

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(
        ["5b8efff798038103d269b633813fc700", "eee19b7ec3c1b100", "W47/95gDgQPSabYzgT/HAA==",
         "7uGbfsPBsQA=", "SPAN_KIND_CLIENT", "STATUS_CODE_ERROR", "1689969302000000000", "NaN",
         "2025-05-01T10:30:00.123456789+00:00", "0000000000000000", ""]
    )
)  # fmt: skip
JSON = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=5),
    max_leaves=40,
)

_VALID = [
    otlp_json(genai_spans()),
    respell(otlp_json(genai_spans()), ids="base64", enums="names", ints="numbers", keys="snake"),
    {"batches": respell(otlp_json(genai_spans()), legacy_scope=True)["resourceSpans"]},
]


def _decode(document: Any) -> None:
    try:
        list(decode_traces(document))
    except DecodeError:
        pass


def _decode_lenient(document: Any) -> None:
    """With on_error only the envelope may raise; every error is a DecodeError."""
    errors: list[DecodeError] = []
    try:
        list(decode_traces(document, on_error=errors.append))
    except DecodeError:
        resource_spans_of_raises(document)
    assert all(isinstance(e, DecodeError) for e in errors)


def resource_spans_of_raises(document: Any) -> None:
    documents = document if isinstance(document, list) else [document]
    for item in documents:
        try:
            resource_spans_of(item)
        except DecodeError:
            return
    raise AssertionError("on_error given, yet a DecodeError came from inside a span")


@_SETTINGS
@given(JSON)
def test_arbitrary_json_values(document: Any) -> None:
    _decode(document)
    _decode_lenient(document)


@_SETTINGS
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_arbitrary_text(text: str | bytes) -> None:
    try:
        list(decode_json(text))
    except DecodeError:
        pass


@_SETTINGS
@given(JSON.map(lambda d: json.dumps(d, allow_nan=True)))
def test_arbitrary_json_text(text: str) -> None:
    try:
        list(decode_json(text))
        list(decode_json(text + "\n" + text))
    except DecodeError:
        pass


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    document = copy.deepcopy(draw(st.sampled_from(_VALID)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(document)
        path = draw(st.sampled_from(paths))
        if not path:
            document = draw(JSON)
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "empty"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "empty" and isinstance(parent[path[-1]], list | dict):
            parent[path[-1]] = type(parent[path[-1]])()
        else:
            parent[path[-1]] = draw(JSON)
    return document


@_SETTINGS
@given(mutated())
def test_mutated_valid_documents(document: Any) -> None:
    _decode(document)
    _decode_lenient(document)
    try:
        list(decode_json(json.dumps(document, allow_nan=True)))
    except DecodeError:
        pass


@_SETTINGS
@given(JSON)
def test_phoenix_reader_on_arbitrary_json(span: Any) -> None:
    try:
        phoenix_span(span)
    except DecodeError:
        pass


def test_deeply_nested_values_are_decode_errors() -> None:
    value: dict[str, Any] = {"stringValue": "leaf"}
    for _ in range(5000):
        value = {"arrayValue": {"values": [value]}}
    span = {"traceId": "5b8efff798038103d269b633813fc700", "spanId": "eee19b7ec3c1b100",
            "attributes": [{"key": "deep", "value": value}]}  # fmt: skip
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    try:
        list(decode_traces(document))
    except DecodeError as exc:
        assert "nested too deeply" in str(exc)
    else:
        raise AssertionError("5000 levels decoded without a RecursionError?")
    deep_text = "[" * 100_000 + "]" * 100_000
    try:
        list(decode_json(deep_text))
    except DecodeError as exc:
        assert "nested too deeply" in str(exc) or "expected a JSON object" in str(exc)


_FILE_PREFIXES = st.sampled_from(
    [
        b"",
        b"\x1f\x8b",
        b"\x28\xb5\x2f\xfd",
        b"\x00\x00\x00\x10",
        b"\x00\x00\x00\x05\x28\xb5\x2f\xfd",
    ]
)


@settings(max_examples=150, deadline=None, database=None)
@given(_FILE_PREFIXES, st.binary(max_size=300), st.lists(JSON, max_size=3))
def test_arbitrary_files_only_report_decode_errors(
    prefix: bytes, noise: bytes, documents: list[Any]
) -> None:
    """Any bytes (compressed-looking or not) and JSON lines: reported, never raised."""
    lines = b"".join(json.dumps(d, allow_nan=True).encode() + b"\n" for d in documents)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "traces.json"
        path.write_bytes(prefix + noise + lines)
        errors: list[DecodeError] = []
        list(read_otlp_files(path, on_error=errors.append))
    assert all(isinstance(e, DecodeError) and e.path == str(path) for e in errors)
