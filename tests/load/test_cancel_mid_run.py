"""Cancelling a run mid-way against a real, slow judge server.

The JSONL file keeps every finished case and ends with a summary marked
incomplete; every span ends; no task of the run is left running; the collector
forgets the run.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import CaseResult, Model, SemanticSimilarity, evaluate, read_case_results
from evaltrace.providers.openai_compat import OpenAIProvider
from evaltrace.tracing._telemetry import _collectors
from tests.load.conftest import SpanCounter, StartFaultServer
from tests.support.fault_server import Action, Outcome

QUICK = 12  # requests answered at once; every later one hangs for a minute


def _quick_then_hang(index: int, body: dict[str, Any]) -> Action:
    return Action(Outcome.OK) if index < QUICK else Action(Outcome.SLOW, delay=60.0)


def _client_tasks() -> list[asyncio.Task[Any]]:
    """Tasks of this loop except the test itself and the fault server's own handlers."""
    server_code = str(Path(aiohttp.__file__).parent)
    tasks = []
    for task in asyncio.all_tasks():
        if task is asyncio.current_task():
            continue
        code = getattr(task.get_coro(), "cr_code", None)
        if code is not None and code.co_filename.startswith(server_code):
            continue
        tasks.append(task)
    return tasks


async def test_cancel_keeps_finished_cases_ends_spans_and_leaves_nothing_running(
    start_fault_server: StartFaultServer,
    bare_tracer_provider: TracerProvider,
    span_counter: SpanCounter,
    tmp_path: Path,
) -> None:
    server = await start_fault_server(_quick_then_hang)
    judge = Model(OpenAIProvider("judge-model", base_url=server.base_url, api_key="test"))
    path = tmp_path / "r.jsonl"
    finished: list[CaseResult] = []
    enough = asyncio.Event()

    def on_case(result: CaseResult) -> None:
        finished.append(result)
        if len(finished) >= 5:
            enough.set()

    cases = [
        {"id": f"c{i}", "input": f"question {i}", "output": "4", "expected": "4"}
        for i in range(200)
    ]
    run = asyncio.create_task(
        evaluate(
            cases,
            [SemanticSimilarity()],
            judge=judge,
            max_concurrency=8,
            results_path=path,
            on_case=on_case,
            tracer_provider=bare_tracer_provider,
        )
    )
    await asyncio.wait_for(enough.wait(), 60)
    # Let the quick replies drain, until judge calls are hanging on the server.
    await asyncio.wait_for(_until(lambda: server.in_flight >= 8), 60)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    await judge.aclose()

    # The file holds every finished case, then a summary line marked incomplete.
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["type"] for line in lines] == ["case"] * len(finished) + ["summary"]
    saved = read_case_results(path)
    assert [c.case_id for c in saved] == [c.case_id for c in finished]
    assert len(saved) == QUICK  # exactly the cases whose judge answered
    assert all(c.scores[0].value == 0.8 for c in saved)
    summary = lines[-1]
    assert summary["complete"] is False

    # Every span that started ended (the hanging judge calls included).
    assert span_counter.started == span_counter.ended, span_counter.open_names
    # No task of the run is left (the fault server's own handlers aside).
    assert _client_tasks() == []
    # The collector released the run.
    collector = _collectors[bare_tracer_provider]
    assert collector.open_spans == 0
    assert not collector._runs and not collector._attached  # noqa: SLF001


async def _until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0.01)
