"""JaegerClient against an in-process server answering Jaeger api_v3's documented formats."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator

import pytest

from evaltrace.exceptions import ConfigurationError
from evaltrace.sources import BackendError, JaegerClient, RetryPolicy, decode_traces
from tests.unit.sources._backend import FakeBackend, Reply, fixture, serve

T1 = "4bf92f3577b34da6a3ce929d0e0e4736"
T2 = "0af7651916cd43dd8448eb211c80319c"
START = dt.datetime(2026, 5, 28, 21, 0, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=2)
FAST = RetryPolicy(attempts=4, backoff=0.0)
TOKEN = "s3cr3t-jaeger-token"


@pytest.fixture
async def backend() -> AsyncIterator[FakeBackend]:
    async for server in serve():
        yield server


@pytest.fixture
async def jaeger(backend: FakeBackend) -> AsyncIterator[JaegerClient]:
    async with JaegerClient(backend.base_url, token=TOKEN, retry=FAST) as client:
        yield client


async def test_find_traces_sends_snake_case_parameters_and_the_token(
    backend: FakeBackend, jaeger: JaegerClient
) -> None:
    backend.on("/api/v3/traces", Reply(body=fixture("jaeger_find_traces.json")))
    spans = await jaeger.find_traces(
        start=START, end=END, service="support-bot", operation="chat gpt-4o-mini",
        search_depth=5, duration_min="10ms",
    )  # fmt: skip
    assert {s.trace_hex for s in spans} == {T1, T2} and len(spans) == 6
    (seen,) = backend.seen
    assert dict(seen.query) == {
        "query.start_time_min": "2026-05-28T21:00:00.000000Z",
        "query.start_time_max": "2026-05-28T23:00:00.000000Z",
        "query.search_depth": "5",
        "query.num_traces": "5",
        "query.service_name": "support-bot",
        "query.operation_name": "chat gpt-4o-mini",
        "query.duration_min": "10ms",
    }
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_spans_are_decoded_with_every_field(
    backend: FakeBackend, jaeger: JaegerClient
) -> None:
    backend.on(f"/api/v3/traces/{T2}", Reply(body=fixture("jaeger_get_trace.json")))
    backend.on(f"/api/v3/traces/{T1}", Reply(body=fixture("jaeger_get_trace.json")))
    spans = await jaeger.get_trace(int(T1, 16))
    chat = next(s for s in spans if s.kind == "client")
    assert chat.name == "chat gpt-4o-mini" and chat.trace_hex == T1
    assert chat.attributes["gen_ai.usage.input_tokens"] == 31
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert chat.events[0].attributes["gen_ai.evaluation.score.value"] == 0.8
    assert chat.resource["service.name"] == "support-bot"
    assert chat.scope == "opentelemetry.instrumentation.openai_v2"
    root = next(s for s in spans if s.parent_span_id is None)
    assert chat.parent_span_id == root.span_id and root.name == "invoke_agent support"


async def test_get_trace_sends_the_hex_id_and_window(
    backend: FakeBackend, jaeger: JaegerClient
) -> None:
    backend.on(f"/api/v3/traces/{T1}", Reply(body=fixture("jaeger_get_trace.json")))
    assert len(await jaeger.get_trace(T1.upper(), start=START, end=END)) == 3
    assert dict(backend.seen[0].query) == {
        "start_time": "2026-05-28T21:00:00.000000Z",
        "end_time": "2026-05-28T23:00:00.000000Z",
    }


async def test_base64_ids_of_older_releases_decode_the_same(
    backend: FakeBackend, jaeger: JaegerClient
) -> None:
    backend.on(f"/api/v3/traces/{T1}", Reply(body=fixture("jaeger_get_trace_base64.json")))
    from_base64 = sorted(await jaeger.get_trace(T1))
    assert from_base64 == sorted(decode_traces(fixture("jaeger_get_trace.json")))
    assert "==" in json.dumps(fixture("jaeger_get_trace_base64.json"))


async def test_404_no_traces_found_is_an_empty_result(
    backend: FakeBackend, jaeger: JaegerClient
) -> None:
    not_found = Reply(404, json.dumps(fixture("jaeger_no_traces.json")))
    backend.on("/api/v3/traces", not_found)
    backend.on(f"/api/v3/traces/{T1}", not_found)
    assert await jaeger.find_traces(start=START, end=END, service="nobody") == []
    assert await jaeger.get_trace(T1) == []
    assert len(backend.seen) == 2  # no retries for a 404


@pytest.mark.parametrize("separator", ["", "\n"])
async def test_stream_chunks_concatenated(
    backend: FakeBackend, jaeger: JaegerClient, separator: str
) -> None:
    chunks = fixture("jaeger_stream_chunks.json")["chunks"]
    backend.on("/api/v3/traces", Reply(body=separator.join(json.dumps(c) for c in chunks)))
    spans = await jaeger.find_traces(start=START, end=END)
    assert {s.trace_hex for s in spans} == {T1, T2} and len(spans) == 6


async def test_attributes_are_sent_and_also_checked_client_side(
    backend: FakeBackend, jaeger: JaegerClient
) -> None:
    """Releases before query.attributes existed ignore it: the client filters too."""
    backend.on("/api/v3/traces", Reply(body=fixture("jaeger_find_traces.json")))
    wanted: dict[str, str | int] = {"error.type": "RateLimitError", "gen_ai.usage.input_tokens": 32}
    spans = await jaeger.find_traces(start=START, end=END, attributes=wanted)
    assert {s.trace_hex for s in spans} == {T2} and len(spans) == 3  # the whole trace
    sent = json.loads(dict(backend.seen[0].query)["query.attributes"])
    assert sent == {"error.type": "RateLimitError", "gen_ai.usage.input_tokens": "32"}
    by_resource = await jaeger.find_traces(
        start=START, end=END, attributes={"service.name": "support-bot"}
    )
    assert len(by_resource) == 6
    assert await jaeger.find_traces(start=START, end=END, attributes={"error.type": "x"}) == []


async def test_503_then_success_is_retried(backend: FakeBackend, jaeger: JaegerClient) -> None:
    backend.on(
        "/api/v3/traces",
        Reply(503, "upstream unavailable"),
        Reply(502, "bad gateway"),
        Reply(body=fixture("jaeger_find_traces.json")),
    )
    assert len(await jaeger.find_traces(start=START, end=END)) == 6
    assert len(backend.seen) == 3


async def test_5xx_until_the_last_attempt_is_a_clear_error(
    backend: FakeBackend, jaeger: JaegerClient
) -> None:
    body = json.dumps({"error": {"httpCode": 500, "message": "storage is down"}})
    backend.on("/api/v3/traces", Reply(500, body))
    with pytest.raises(BackendError) as caught:
        await jaeger.find_traces(start=START, end=END)
    error = caught.value
    assert (error.status_code, error.retryable, error.attempts) == (500, True, 4)
    assert "jaeger: GET /api/v3/traces failed after 4 attempt(s): HTTP 500" in str(error)
    assert "storage is down" in str(error) and len(backend.seen) == 4


async def test_a_timeout_is_retried_then_reported(backend: FakeBackend) -> None:
    backend.on("/api/v3/traces", Reply(hang=True))
    retry = RetryPolicy(attempts=2, backoff=0.0)
    async with JaegerClient(backend.base_url, timeout=0.2, retry=retry) as client:
        with pytest.raises(BackendError, match="timed out") as caught:
            await client.find_traces(start=START, end=END)
    assert caught.value.status_code is None and caught.value.retryable
    assert len(backend.seen) == 2


async def test_a_timeout_then_success(backend: FakeBackend) -> None:
    backend.on("/api/v3/traces", Reply(hang=True), Reply(body=fixture("jaeger_find_traces.json")))
    # Generous: the answer that follows the hang must arrive within it on a busy machine.
    async with JaegerClient(backend.base_url, timeout=2.0, retry=FAST) as client:
        assert len(await client.find_traces(start=START, end=END)) == 6


async def test_the_token_never_shows(
    backend: FakeBackend, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("EVALTRACE_JAEGER_TOKEN", TOKEN)
    backend.on("/api/v3/traces", Reply(503, f"proxy echoes Bearer {TOKEN}"))
    backend.on(f"/api/v3/traces/{T1}", Reply(401, f"bad token {TOKEN}"))
    with caplog.at_level(logging.DEBUG):
        async with JaegerClient(backend.base_url, retry=RetryPolicy(2, 0.0)) as client:
            assert TOKEN not in repr(client) and "***" in repr(client)
            with pytest.raises(BackendError) as unavailable:
                await client.find_traces(start=START, end=END)
            with pytest.raises(BackendError) as unauthorized:
                await client.get_trace(T1)
    assert backend.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"  # from the env
    for error in (unavailable.value, unauthorized.value):
        assert TOKEN not in str(error) and TOKEN not in repr(error.args)
    assert unauthorized.value.status_code == 401 and not unauthorized.value.retryable
    assert "EVALTRACE_JAEGER_TOKEN" in str(unauthorized.value)
    assert len(backend.requests_to(f"/api/v3/traces/{T1}")) == 1  # 401 is not retried
    assert TOKEN not in caplog.text


async def test_api_key_header_instead_of_bearer(backend: FakeBackend) -> None:
    backend.on(f"/api/v3/traces/{T1}", Reply(body=fixture("jaeger_get_trace.json")))
    async with JaegerClient(backend.base_url, token=TOKEN, header="X-API-Key") as client:
        await client.get_trace(T1)
    assert backend.seen[0].headers["X-API-Key"] == TOKEN
    assert "Authorization" not in backend.seen[0].headers


async def test_an_answer_that_is_not_otlp_is_a_backend_error(
    backend: FakeBackend, jaeger: JaegerClient
) -> None:
    backend.on("/api/v3/traces", Reply(body="<html>login</html>"))
    with pytest.raises(BackendError, match="unreadable answer"):
        await jaeger.find_traces(start=START, end=END)


async def test_bad_queries_are_refused_before_sending(jaeger: JaegerClient) -> None:
    with pytest.raises(ConfigurationError, match="before end"):
        await jaeger.find_traces(start=END, end=START)
    with pytest.raises(ConfigurationError, match="timezone"):
        await jaeger.find_traces(start=START.replace(tzinfo=None), end=END)
    with pytest.raises(ConfigurationError, match="not a trace id"):
        await jaeger.get_trace("not-hex")
