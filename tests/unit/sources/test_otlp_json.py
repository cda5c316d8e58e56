"""The OTLP/JSON decoder: OTel's own encoder output, every spelling, every envelope, errors."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

import pytest

from evaltrace.sources import DecodeError, decode_json, decode_traces, iter_json_documents
from evaltrace.tracing._record import SpanRecord
from tests.unit.sources._support import (
    CHAT_ATTRIBUTES,
    expected,
    genai_spans,
    otlp_json,
    respell,
)

TRACE = "5b8efff798038103d269b633813fc700"
SPAN = "eee19b7ec3c1b100"


def _span(**fields: Any) -> dict[str, Any]:
    return {"traceId": TRACE, "spanId": SPAN, "name": "s", **fields}


def _doc(*spans: dict[str, Any], resource: Any = None, scope: Any = None) -> dict[str, Any]:
    block: dict[str, Any] = {"scopeSpans": [{"spans": list(spans)}]}
    if resource is not None:
        block["resource"] = resource
    if scope is not None:
        block["scopeSpans"][0]["scope"] = scope
    return {"resourceSpans": [block]}


def _one(document: Any) -> SpanRecord:
    (record,) = decode_traces(document)
    return record


def _by_id(records: list[SpanRecord]) -> dict[int, SpanRecord]:
    return {r.span_id: r for r in records}


# --------------------------------------------------------------------------
# OTel's own encoder, respelled every way
# --------------------------------------------------------------------------


def test_decodes_what_otels_own_json_encoder_writes() -> None:
    spans = genai_spans(traces=2)
    records = list(decode_traces(otlp_json(spans)))
    assert len(records) == len(spans) == 6
    assert _by_id(records) == {s.get_span_context().span_id: expected(s) for s in spans}  # type: ignore[union-attr]


def test_the_oracle_sees_what_matters() -> None:
    """The chat span's record carries every typed attribute, the event, link and error."""
    spans = genai_spans()
    chat = next(r for r in decode_traces(otlp_json(spans)) if r.kind == "client")
    assert dict(chat.attributes) == CHAT_ATTRIBUTES
    assert chat.status == "error" and chat.status_message == "upstream timed out"
    assert chat.events[0].name == "gen_ai.evaluation.result"
    assert chat.events[0].attributes["gen_ai.evaluation.score.value"] == 0.75
    assert chat.links[0].attributes == {"evaltrace.link": "judged"}
    assert chat.parent_span_id is not None and chat.scope == "evaltrace.sources-test"
    assert chat.resource["service.name"] == "sources-test"
    assert chat.end_time > chat.start_time > 1_600_000_000 * 10**9


SPELLINGS = list(
    itertools.product(
        ["hex", "HEX", "base64", "base64url"],
        ["numbers", "names", "lower"],
        ["strings", "numbers"],
        ["camel", "snake"],
    )
)


@pytest.mark.parametrize(("ids", "enums", "ints", "keys"), SPELLINGS)
def test_every_spelling_decodes_to_the_same_records(
    ids: str, enums: str, ints: str, keys: str
) -> None:
    spans = genai_spans()
    document = respell(otlp_json(spans), ids=ids, enums=enums, ints=ints, keys=keys)
    text = json.dumps(document)
    assert ("resource_spans" in text) == (keys == "snake")
    assert _by_id(list(decode_json(text))) == _by_id([expected(s) for s in spans])


def test_legacy_instrumentation_library_spans() -> None:
    spans = genai_spans()
    document = respell(otlp_json(spans), legacy_scope=True, ids="base64", enums="names")
    assert "instrumentationLibrarySpans" in json.dumps(document)
    records = list(decode_traces(document))
    assert {r.scope for r in records} == {"evaltrace.sources-test"}
    assert _by_id(records) == _by_id([expected(s) for s in spans])


def test_tempo_docs_example_v2_base64_ids_and_enum_names() -> None:
    """Verbatim from Tempo's docs/sources/tempo/api_docs/pushing-spans-with-http.md."""
    answer = (
        '{"trace": {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":'
        '{"stringValue":"my.service"}}]},"scopeSpans":[{"scope":{"name":"my.library","version":'
        '"1.0.0"},"spans":[{"traceId":"W47/95gDgQPSabYzgT/HAA==","spanId":"7uGbfsPBsQA=","name":'
        '"I am a span!","kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1689969302000000000",'
        '"endTimeUnixNano":"1689970000000000000","attributes":[{"key":"my.span.attr","value":'
        '{"stringValue":"some value"}}],"status":{}}]}]}]}}'
    )
    (record,) = decode_json(answer)
    assert record.trace_hex == TRACE and record.span_hex == SPAN
    assert record.kind == "server" and record.status == "unset" and record.parent_span_id is None
    assert record.start_time == 1689969302000000000 and record.duration == 698.0
    assert record.attributes == {"my.span.attr": "some value"}
    assert record.resource == {"service.name": "my.service"} and record.scope == "my.library"


# --------------------------------------------------------------------------
# Envelopes and streams
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrap",
    [
        lambda d: d,
        lambda d: {"result": d},  # Jaeger api_v3
        lambda d: {"batches": d["resourceSpans"]},  # Tempo v1
        lambda d: {"trace": d, "status": "COMPLETE", "metrics": {}},  # Tempo v2
        lambda d: {"result": {"trace": d}},
        lambda d: [d, {"resourceSpans": []}],  # a JSON array of documents
    ],
    ids=["bare", "jaeger-result", "tempo-batches", "tempo-v2", "nested", "array"],
)
def test_every_envelope(wrap: Any) -> None:
    assert _one(wrap(_doc(_span()))).span_hex == SPAN


@pytest.mark.parametrize(
    "empty",
    [{}, {"result": {}}, {"trace": {}, "metrics": {}}, {"batches": []}, {"resourceSpans": []}],
)
def test_empty_answers_hold_no_spans(empty: Any) -> None:
    assert list(decode_traces(empty)) == []


@pytest.mark.parametrize("separator", ["", "\n", "\r\n", "  \n\t"])
def test_concatenated_stream_chunks(separator: str) -> None:
    first = json.dumps({"result": _doc(_span())})
    second = json.dumps({"result": _doc(_span(spanId="00000000000000b4"))})
    records = list(decode_json(separator.join(["\ufeff" + first, second]) + separator))
    assert [r.span_hex for r in records] == [SPAN, "00000000000000b4"]


def test_bytes_input_and_bom() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(_doc(_span())).encode()
    assert len(list(decode_json(data))) == 1


# --------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name"),
    [(0, "internal"), (1, "internal"), (2, "server"), (3, "client"), (4, "producer"),
     (5, "consumer"), ("SPAN_KIND_CLIENT", "client"), ("span_kind_consumer", "consumer"),
     ("SPAN_KIND_UNSPECIFIED", "internal"), ("client", "client"), ("Server", "server"),
     ("3", "client"), (3.0, "client")],
)  # fmt: skip
def test_span_kinds(kind: Any, name: str) -> None:
    assert _one(_doc(_span(kind=kind))).kind == name


@pytest.mark.parametrize(
    ("code", "name"),
    [(0, "unset"), (1, "ok"), (2, "error"), ("STATUS_CODE_ERROR", "error"),
     ("status_code_ok", "ok"), ("ERROR", "error"), ("unset", "unset"), (None, "unset")],
)  # fmt: skip
def test_status_codes(code: Any, name: str) -> None:
    status = {} if code is None else {"code": code, "message": "why"}
    record = _one(_doc(_span(status=status)))
    assert record.status == name
    assert record.status_message == (None if code is None else "why")


@pytest.mark.parametrize("parent", [None, "", "0000000000000000", "AAAAAAAAAAA="])
def test_roots(parent: Any) -> None:
    fields = {} if parent is None else {"parentSpanId": parent}
    assert _one(_doc(_span(**fields))).parent_span_id is None


@pytest.mark.parametrize(
    ("flags", "remote"), [(None, False), (256, False), (768, True), (513, False)]
)
def test_parent_is_remote_from_flags(flags: int | None, remote: bool) -> None:
    fields = {} if flags is None else {"flags": flags}
    assert _one(_doc(_span(**fields))).parent_is_remote is remote


def _value(any_value: dict[str, Any]) -> Any:
    record = _one(_doc(_span(attributes=[{"key": "k", "value": any_value}])))
    return record.attributes.get("k", "<dropped>")


@pytest.mark.parametrize(
    ("any_value", "value"),
    [
        ({"stringValue": "x"}, "x"),
        ({"intValue": "9007199254740993"}, 9007199254740993),  # past float precision
        ({"intValue": -3}, -3),
        ({"int_value": "5"}, 5),
        ({"doubleValue": 0.5}, 0.5),
        ({"doubleValue": 2}, 2.0),
        ({"doubleValue": "1e3"}, 1000.0),
        ({"doubleValue": "-Infinity"}, float("-inf")),
        ({"boolValue": False}, False),
        ({"bytesValue": base64.b64encode(b"\x00\xff").decode()}, b"\x00\xff"),
        ({"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"}]}}, ("a", 1)),
        ({"arrayValue": {}}, ()),
        ({"kvlistValue": {"values": [{"key": "role", "value": {"stringValue": "user"}}]}},
         {"role": "user"}),
        ({"kvlistValue": {"values": [{"key": "parts", "value": {"arrayValue": {"values": [
            {"kvlistValue": {"values": [{"key": "n", "value": {"intValue": 1}}]}}]}}}]}},
         {"parts": ({"n": 1},)}),
        ({}, "<dropped>"),
    ],
)  # fmt: skip
def test_any_values(any_value: dict[str, Any], value: Any) -> None:
    assert _value(any_value) == value


def test_nan_double() -> None:
    assert _value({"doubleValue": "NaN"}) != _value({"doubleValue": "NaN"})  # NaN != NaN


def test_events_and_links_in_snake_case() -> None:
    span = {
        "trace_id": TRACE,
        "span_id": SPAN,
        "events": [{"time_unix_nano": 5, "name": "e", "attributes": []}],
        "links": [{"trace_id": TRACE, "span_id": "00000000000000b4"}],
    }
    record = _one(_doc(span))
    assert record.events[0].timestamp == 5 and record.events[0].name == "e"
    assert record.links[0].span_id == 0xB4


def test_resources_are_shared_by_their_spans() -> None:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]}
    first, second = decode_traces(
        _doc(_span(), _span(spanId="00000000000000b4"), resource=resource)
    )
    assert first.resource == {"service.name": "svc"} and first.resource is second.resource


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "reason"),
    [
        (_span(traceId="abc"), "traceId must be 16 bytes"),
        (_span(traceId="zz" * 16), "traceId is not hex"),
        (_span(traceId="0" * 32), "all zeros"),
        (_span(spanId=None), "spanId must be a string"),
        (_span(kind="SPAN_KIND_SIDEWAYS"), "unknown span kind"),
        (_span(kind=True), "span kind must be a number"),
        (_span(startTimeUnixNano="soon"), "malformed span"),
        (_span(startTimeUnixNano=1.5), "expected an integer"),
        (_span(attributes={"k": "v"}), "attributes must be a list"),
        (_span(attributes=[{"key": 1, "value": {}}]), "attribute key must be a string"),
        (_span(attributes=[{"value": {}}]), "missing field 'key'"),
        (_span(attributes=[{"key": "k", "value": {"boolValue": "yes"}}]), "expected true or false"),
        (_span(attributes=[{"key": "k", "value": {"bytesValue": "!!"}}]), "not base64"),
        (_span(status={"code": 7}), "unknown status code"),
        (_span(name=5), "expected a string"),
    ],
)
def test_bad_spans_raise_decode_errors_naming_the_span(span: dict[str, Any], reason: str) -> None:
    with pytest.raises(DecodeError, match=reason) as caught:
        list(decode_traces(_doc(span)))
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.span_id == (span["spanId"] if isinstance(span["spanId"], str) else None)
    assert error.trace_id is not None


def test_on_error_skips_bad_spans_and_keeps_the_rest() -> None:
    errors: list[DecodeError] = []
    document = _doc(_span(spanId="bad"), _span(), _span(kind="?", spanId="00000000000000b4"))
    records = list(decode_traces(document, on_error=errors.append))
    assert [r.span_hex for r in records] == [SPAN]
    assert [e.span_id for e in errors] == ["bad", "00000000000000b4"]
    assert "trace 5b8efff798038103d269b633813fc700 span bad" in str(errors[0])


def test_on_error_skips_a_resource_that_cannot_be_read() -> None:
    errors: list[DecodeError] = []
    document = {
        "resourceSpans": [{"resource": "x", "scopeSpans": []}, _doc(_span())["resourceSpans"][0]]
    }
    assert len(list(decode_traces(document, on_error=errors.append))) == 1
    assert "resource must be an object" in errors[0].reason


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([1], "expected a JSON object"),
        ("resourceSpans", "expected a JSON object"),
        ({"resourceSpans": {"a": 1}}, "resourceSpans must be a list"),
        ({"spans": []}, "no resourceSpans"),
        ({"error": {"httpCode": 500, "message": "boom"}}, "error answer"),
        ({"result": {"result": {"result": {"result": {}}}}}, "nested too deeply"),
    ],
)
def test_documents_that_are_not_traces(document: Any, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        list(decode_traces(document))


@pytest.mark.parametrize(
    ("text", "line"),
    [("{", 1), ('{"resourceSpans": []}\n\n{"a": ', 3), (b"\xff\xfe{}", None)],
)
def test_text_that_is_not_json(text: str | bytes, line: int | None) -> None:
    with pytest.raises(DecodeError) as caught:
        list(iter_json_documents(text))
    assert caught.value.line == line


def test_decode_errors_pickle_with_their_location() -> None:
    import pickle

    error = DecodeError("bad", path="f.json", line=3, trace_id="t", span_id="s")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.line, copy.trace_id, copy.span_id, str(copy)) == (
        "f.json", 3, "t", "s", str(error)
    )  # fmt: skip
    assert str(error) == "f.json:3: trace t span s: bad"
