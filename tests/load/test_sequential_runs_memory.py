"""100 runs one after another in one process hold no more memory than the first few.

The judge is a real HTTP server behind one ``Model`` that every run shares, as
an application would share it, and every run shares one tracer provider, so one
collector serves every run. (A fresh ``"openai:..."`` judge per run also
creates a fresh HTTP client and TLS context each time, whose C memory glibc
does not hand back to the OS: that would measure the allocator, not evaltrace.)
Memory is measured, not timed: the collector's state after each run and the
tracemalloc / RSS growth between run 10 and run 100.
"""

from __future__ import annotations

import gc
import os
import tracemalloc

import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import Case, SemanticSimilarity, evaluate
from evaltrace.providers import as_model
from evaltrace.tracing._telemetry import _collectors
from tests.load.conftest import SpanCounter
from tests.support.fault_server import FaultServer

RUNS = 100
WARM_UP = 10
CASES = 20
# Python-level bytes still allocated after 90 more runs (their results dropped).
MAX_TRACED_GROWTH = 512 * 1024
MAX_RSS_GROWTH = 16 * 1024 * 1024


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@pytest.mark.integration  # about a minute: tracemalloc slows every allocation
async def test_100_sequential_runs_do_not_grow(
    fault_server: FaultServer,
    bare_tracer_provider: TracerProvider,
    span_counter: SpanCounter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fault_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    cases = [Case(id=str(i), input=f"q{i}", output="a", expected="a") for i in range(CASES)]
    judge = as_model("openai:judge-model")
    baseline_traced = baseline_rss = requests = 0
    try:
        for n in range(1, RUNS + 1):
            result = await evaluate(
                cases,
                [SemanticSimilarity()],
                judge=judge,
                max_concurrency=8,
                tracer_provider=bare_tracer_provider,
            )
            assert result.complete and len(result.interactions) == CASES
            del result
            requests += len(fault_server.chat_requests)
            fault_server.clear()  # the server's log is the test's memory, not the library's
            collector = _collectors[bare_tracer_provider]
            assert collector.open_spans == 0, n
            assert not collector._runs and not collector._attached, n  # noqa: SLF001
            if n == WARM_UP:  # from here on, count what is allocated and kept
                tracemalloc.start()
                baseline_traced, baseline_rss = _traced(), _rss()
        traced_growth = _traced() - baseline_traced
        rss_growth = _rss() - baseline_rss
    finally:
        tracemalloc.stop()
        await judge.aclose()
    print(f"after {RUNS - WARM_UP} more runs: traced {traced_growth:+,} B, RSS {rss_growth:+,} B")
    assert requests == RUNS * CASES
    assert span_counter.started == span_counter.ended
    assert traced_growth < MAX_TRACED_GROWTH
    assert rss_growth < MAX_RSS_GROWTH


async def test_runs_do_not_accumulate_proxy_meters_on_the_global_meter_provider(
    bare_tracer_provider: TracerProvider,
) -> None:
    from opentelemetry.metrics import _internal as metrics_api

    from evaltrace import ScriptedProvider

    proxy = metrics_api._PROXY_METER_PROVIDER  # noqa: SLF001
    judge = ScriptedProvider('{"score": 1, "explanation": "ok"}')
    cases = [Case(id="0", input="q", output="a", expected="a")]

    async def one_run() -> None:
        await evaluate(
            cases, [SemanticSimilarity()], judge=judge, tracer_provider=bare_tracer_provider
        )

    await one_run()
    before = len(proxy._meters)  # noqa: SLF001
    for _ in range(10):
        await one_run()
    assert len(proxy._meters) == before  # noqa: SLF001
