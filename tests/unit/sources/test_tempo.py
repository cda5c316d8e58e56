"""TempoClient against an in-process server answering Tempo's documented formats."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from evaltrace.exceptions import ConfigurationError
from evaltrace.sources import BackendError, RetryPolicy, TempoClient, decode_traces
from tests.unit.sources._backend import FakeBackend, Reply, fixture, serve

T1 = "4bf92f3577b34da6a3ce929d0e0e4736"
T2 = "0af7651916cd43dd8448eb211c80319c"
T3 = "0000000000000000d6e9329d67b6146a"
START = dt.datetime(2026, 5, 28, 21, 0, tzinfo=dt.UTC)
END = dt.datetime(2026, 5, 28, 23, 0, 0, 500, tzinfo=dt.UTC)
QUERY = '{ span.gen_ai.operation.name = "chat" }'
FAST = RetryPolicy(attempts=3, backoff=0.0)


@pytest.fixture
async def backend() -> AsyncIterator[FakeBackend]:
    async for server in serve():
        yield server


@pytest.fixture
async def tempo(backend: FakeBackend) -> AsyncIterator[TempoClient]:
    async with TempoClient(backend.base_url, retry=FAST) as client:
        yield client


def _serve_tempo(backend: FakeBackend) -> None:
    """T1 in v2 (and v1); T2 only in v1; T3 only in Tempo 1.x's v1 (legacy spelling)."""
    backend.on("/api/search", Reply(body=fixture("tempo_search.json")))
    backend.on(f"/api/v2/traces/{T1}", Reply(body=fixture("tempo_trace_v2.json")))
    backend.on(f"/api/traces/{T2}", Reply(body=fixture("tempo_trace_v1.json")))
    backend.on(f"/api/traces/{T3}", Reply(body=fixture("tempo_trace_v1_legacy.json")))


async def test_search_sends_traceql_and_window_and_pads_ids(
    backend: FakeBackend, tempo: TempoClient
) -> None:
    _serve_tempo(backend)
    ids = await tempo.search(QUERY, start=START, end=END, limit=50, spans_per_spanset=2)
    assert ids == [T1, T2, T3]  # T3 came as "d6e9329d67b6146a"
    assert dict(backend.seen[0].query) == {
        "q": QUERY,
        "start": str(int(START.timestamp())),
        "end": str(int(END.timestamp()) + 1),  # rounded up: the window's end is kept
        "limit": "50",
        "spss": "2",
    }


async def test_v2_trace_with_base64_ids_and_enum_names(
    backend: FakeBackend, tempo: TempoClient
) -> None:
    _serve_tempo(backend)
    spans = await tempo.get_trace(T1)
    assert {s.trace_hex for s in spans} == {T1} and len(spans) == 3
    chat = next(s for s in spans if s.name.startswith("chat"))
    assert chat.kind == "client" and chat.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert backend.requests_to(f"/api/traces/{T1}") == []  # v2 answered


async def test_v1_batches_when_v2_is_not_there(backend: FakeBackend, tempo: TempoClient) -> None:
    _serve_tempo(backend)
    spans = await tempo.get_trace(T2)
    assert len(backend.requests_to(f"/api/v2/traces/{T2}")) == 1  # 404, not retried
    chat = next(s for s in spans if s.kind == "client")
    assert chat.status == "error" and chat.status_message == "rate limited"
    assert chat.attributes["error.type"] == "RateLimitError"
    assert sorted(spans) == sorted(decode_traces(fixture("tempo_trace_v1.json")))


async def test_tempo_1x_instrumentation_library_spans(
    backend: FakeBackend, tempo: TempoClient
) -> None:
    _serve_tempo(backend)
    spans = await tempo.get_trace("d6e9329d67b6146a")
    assert {s.trace_hex for s in spans} == {T3} and len(spans) == 3
    assert {s.scope for s in spans} == {"opentelemetry.instrumentation.openai_v2"}


async def test_unknown_trace_is_empty(backend: FakeBackend, tempo: TempoClient) -> None:
    backend.on("/api/v2/traces/" + "1" * 32, Reply(body={"trace": {}, "metrics": {}}))
    assert await tempo.get_trace("1" * 32) == []  # v2 answers an empty 200
    assert await tempo.get_trace("2" * 32) == []  # 404 from both


async def test_find_traces_searches_then_fetches_each(
    backend: FakeBackend, tempo: TempoClient
) -> None:
    _serve_tempo(backend)
    spans = await tempo.find_traces(QUERY, start=START, end=END)
    assert sorted({s.trace_hex for s in spans}) == sorted([T1, T2, T3]) and len(spans) == 9
    fetched = [s for s in backend.seen if s.path != "/api/search"]
    assert all(dict(s.query) == dict(backend.seen[0].query[:2]) for s in fetched)  # same window


async def test_search_with_no_match(backend: FakeBackend, tempo: TempoClient) -> None:
    backend.on("/api/search", Reply(body={"traces": [], "metrics": {"inspectedBytes": "0"}}))
    assert await tempo.find_traces(QUERY) == []
    backend.on("/api/search", Reply(body={"metrics": {}}))
    assert await tempo.search(QUERY) == []


async def test_503_then_success(backend: FakeBackend, tempo: TempoClient) -> None:
    _serve_tempo(backend)
    backend.on(
        "/api/search",
        Reply(503, "", headers={"Retry-After": "0"}),
        Reply(body=fixture("tempo_search.json")),
    )
    assert len(await tempo.search(QUERY)) == 3
    assert len(backend.requests_to("/api/search")) == 2


async def test_a_timeout_is_reported_after_the_retries(backend: FakeBackend) -> None:
    backend.on("/api/search", Reply(hang=True))
    async with TempoClient(backend.base_url, timeout=0.2, retry=FAST) as client:
        with pytest.raises(BackendError, match="failed after 3 attempt\\(s\\): timed out"):
            await client.search(QUERY)
    assert len(backend.seen) == 3


async def test_basic_auth_for_grafana_cloud(backend: FakeBackend) -> None:
    _serve_tempo(backend)
    async with TempoClient(backend.base_url, username="123456", token="glc_key") as client:
        await client.search(QUERY)
        assert "glc_key" not in repr(client)
    assert backend.seen[0].headers["Authorization"] == "Basic MTIzNDU2OmdsY19rZXk="


async def test_credentials_in_the_url_become_basic_auth(backend: FakeBackend) -> None:
    _serve_tempo(backend)
    url = backend.base_url.replace("http://", "http://user:pa55@")
    async with TempoClient(url) as client:
        assert "pa55" not in repr(client) and "pa55" not in client.base_url
        await client.search(QUERY)
    assert backend.seen[0].headers["Authorization"] == "Basic dXNlcjpwYTU1"


async def test_unreadable_search_answers(backend: FakeBackend, tempo: TempoClient) -> None:
    for body in ({"traces": [{"rootServiceName": "x"}]}, {"traces": [{"traceID": "zz"}]}, "nope"):
        backend.on("/api/search", Reply(body=body))
        with pytest.raises(BackendError, match="unreadable answer"):
            await tempo.search(QUERY)


async def test_a_bad_window_is_refused(tempo: TempoClient) -> None:
    with pytest.raises(ConfigurationError, match="both start and end"):
        await tempo.search(QUERY, start=START)
    with pytest.raises(ConfigurationError, match="before end"):
        await tempo.search(QUERY, start=END, end=START)


async def test_one_failing_trace_fails_find_traces_cleanly(backend: FakeBackend) -> None:
    _serve_tempo(backend)
    backend.on(f"/api/v2/traces/{T1}", Reply(500, "boom"))
    backend.on(f"/api/v2/traces/{T2}", Reply(hang=True))  # still running when T1 fails
    async with TempoClient(backend.base_url, retry=RetryPolicy(2, 0.0), concurrency=3) as client:
        with pytest.raises(BackendError, match="HTTP 500") as caught:
            await client.find_traces(QUERY)
    assert caught.value.status_code == 500 and caught.value.attempts == 2
