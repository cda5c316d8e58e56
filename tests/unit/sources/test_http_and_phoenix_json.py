"""The shared HTTP layer (secrets, retry policy) and the Phoenix span reader."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from evaltrace.exceptions import ConfigurationError, EvaltraceError
from evaltrace.sources import (
    BackendError,
    DecodeError,
    PhoenixClient,
    RetryPolicy,
    Secret,
    SourceError,
    flatten_attributes,
    phoenix_span,
)
from evaltrace.sources._http import resolve_secret
from evaltrace.sources._phoenix_json import iso_to_ns

# --------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------


def test_secrets_never_print() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret} {[secret]}" and secret.reveal() == "hunter2"
    with pytest.raises(ConfigurationError):
        Secret("")


def test_secrets_come_from_the_argument_else_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_TOKEN", "from-env")
    assert resolve_secret("given", "X_TOKEN") == Secret("given")
    assert resolve_secret(None, "X_TOKEN") == Secret("from-env")
    monkeypatch.delenv("X_TOKEN")
    assert resolve_secret(None, "X_TOKEN") is None and resolve_secret(None, None) is None


def test_backoff_is_exponential_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(attempts=6, backoff=0.5, max_backoff=3.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(1, retry_after=2.5) == 2.5 and policy.delay(1, retry_after=60) == 3.0
    with pytest.raises(ConfigurationError):
        RetryPolicy(attempts=0)


def test_bad_base_urls() -> None:
    with pytest.raises(ConfigurationError, match="http"):
        PhoenixClient("ftp://example.test")
    with pytest.raises(ConfigurationError, match="password"):
        PhoenixClient("http://user@example.test")


def test_error_tree() -> None:
    error = BackendError("boom", backend="tempo", status_code=503, retryable=True, attempts=4)
    assert isinstance(error, SourceError) and isinstance(error, EvaltraceError)
    assert issubclass(DecodeError, SourceError) and issubclass(DecodeError, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.status_code, copy.retryable, copy.attempts) == (
        "tempo: boom", 503, True, 4
    )  # fmt: skip


# --------------------------------------------------------------------------
# Phoenix span JSON
# --------------------------------------------------------------------------

TRACE = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4"
SPAN = "1a2b3c4d5e6f7a8b"


def _phoenix(**fields: Any) -> dict[str, Any]:
    span: dict[str, Any] = {
        "id": "U3BhbjoxMg==",
        "name": "ChatCompletion",
        "context": {"trace_id": TRACE, "span_id": SPAN},
        "span_kind": "LLM",
        "parent_id": None,
        "start_time": "2025-05-01T10:30:00.123456+00:00",
        "end_time": "2025-05-01T10:30:01.5Z",
        "status_code": "OK",
        "status_message": "",
        "attributes": {},
        "events": [],
    }
    return {**span, **fields}


def test_a_phoenix_span() -> None:
    record = phoenix_span(
        _phoenix(
            parent_id="00000000000000b4",
            status_code="ERROR",
            status_message="rate limited",
            attributes={"llm.model_name": "gpt-4o", "llm.token_count.prompt": 12},
            events=[{"name": "exception", "timestamp": "2025-05-01T10:30:01Z",
                     "attributes": {"exception.message": "429"}}],
        )
    )  # fmt: skip
    assert record.trace_hex == TRACE and record.span_hex == SPAN and record.parent_span_id == 0xB4
    assert record.name == "ChatCompletion" and record.kind == "internal"
    assert record.status == "error" and record.status_message == "rate limited"
    assert record.start_time == 1746095400_123456000 and record.duration == pytest.approx(1.376544)
    assert record.attributes == {
        "llm.model_name": "gpt-4o",
        "llm.token_count.prompt": 12,
        "openinference.span.kind": "LLM",  # Phoenix moved it to span_kind
    }
    assert record.events[0].attributes == {"exception.message": "429"}
    assert record.events[0].timestamp == 1746095401_000000000


def test_nested_attributes_are_flattened_into_dotted_otel_keys() -> None:
    nested = {
        "llm": {
            "input_messages": [
                {"message": {"role": "system", "content": "be brief"}},
                {"message": {"role": "user", "content": "hi", "contents": [
                    {"message_content": {"type": "text", "text": "hi"}}]}},
            ],
            "invocation_parameters": '{"temperature": 0}',
            "token_count": {"prompt": 3, "completion": None},
        },
        "tag": {"tags": ["a", "b"]},
        "output.value": "hello",  # already flat keys stay
    }  # fmt: skip
    assert flatten_attributes(nested) == {
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "be brief",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": "hi",
        "llm.input_messages.1.message.contents.0.message_content.type": "text",
        "llm.input_messages.1.message.contents.0.message_content.text": "hi",
        "llm.invocation_parameters": '{"temperature": 0}',
        "llm.token_count.prompt": 3,
        "tag.tags": ("a", "b"),  # lists of plain values stay arrays
        "output.value": "hello",
    }


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:01.000000001+00:00", 1_000_000_001),
        ("1970-01-01T01:00:00+01:00", 0),
        ("1970-01-01T00:00:00.5", 500_000_000),  # no zone: UTC
        ("2025-05-01 10:30:00.1234567891Z", 1746095400_123456789),
    ],
)
def test_iso_times_keep_nanoseconds(text: str, ns: int) -> None:
    assert iso_to_ns(text) == ns


@pytest.mark.parametrize(
    ("span", "reason"),
    [
        (_phoenix(context={"trace_id": "xyz", "span_id": SPAN}), "context.trace_id must be 32 hex"),
        (_phoenix(context={"trace_id": TRACE, "span_id": "0" * 16}), "all zeros"),
        (_phoenix(start_time="yesterday"), "not an ISO 8601 time"),
        (_phoenix(status_code="MAYBE"), "unknown status code"),
        (_phoenix(attributes=["a"]), "attributes must be an object"),
        (_phoenix(context=None), "malformed Phoenix span"),
    ],
)
def test_bad_phoenix_spans(span: dict[str, Any], reason: str) -> None:
    with pytest.raises(DecodeError, match=reason) as caught:
        phoenix_span(span)
    if isinstance(span.get("context"), dict):
        assert caught.value.span_id == span["context"]["span_id"]
