"""Interrupted runs keep every finished case, end their spans and leave nothing running."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from evaltrace import Case, CaseResult, Contains, evaluate, evaluate_sync, read_case_results
from evaltrace.runner._plan import content_id


class OpenSpans(SpanProcessor):
    def __init__(self) -> None:
        self.started = 0
        self.ended = 0

    def on_start(self, span: object, parent_context: object = None) -> None:
        self.started += 1

    def on_end(self, span: object) -> None:
        self.ended += 1


def _slow_after(n: int):  # type: ignore[no-untyped-def]
    """A task that answers the first ``n`` cases at once and then hangs."""
    calls = {"n": 0}

    async def task(question: str) -> str:
        calls["n"] += 1
        if calls["n"] > n:
            await asyncio.sleep(3600)
        return "yes"

    return task


async def test_cancelled_run_saves_finished_cases_and_ends_every_span(
    tracer_provider: TracerProvider, tmp_path: Path
) -> None:
    spans = OpenSpans()
    tracer_provider.add_span_processor(spans)
    path = tmp_path / "results.jsonl"
    finished = asyncio.Event()
    done: list[str] = []

    def on_case(result: CaseResult) -> None:
        done.append(result.case_id)
        if len(done) == 3:
            finished.set()

    run = asyncio.create_task(
        evaluate(
            [Case(input=f"q{i}", expected="yes") for i in range(10)],
            metrics=[Contains()],
            task=_slow_after(3),
            max_concurrency=1,
            results_path=path,
            on_case=on_case,
            tracer_provider=tracer_provider,
        )
    )
    await asyncio.wait_for(finished.wait(), 30)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    saved = read_case_results(path)
    assert [c.case_id for c in saved] == done == _ids(3)
    summary = json.loads(path.read_text().splitlines()[-1])
    assert summary["type"] == "summary" and summary["complete"] is False
    assert spans.started == spans.ended  # no span left open
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    from evaltrace.tracing._telemetry import _collectors

    assert _collectors[tracer_provider].open_spans == 0


def test_ctrl_c_in_a_script_returns_the_partial_result(tracer_provider: TracerProvider) -> None:
    finished = threading.Event()
    count = {"n": 0}

    def on_case(result: CaseResult) -> None:
        count["n"] += 1
        if count["n"] == 2:
            finished.set()

    def press_ctrl_c() -> None:
        if finished.wait(30):  # deliver SIGINT to the main thread, as a terminal would
            main_thread_id = threading.main_thread().ident
            assert main_thread_id is not None  # the main thread is running
            signal.pthread_kill(main_thread_id, signal.SIGINT)

    timer = threading.Thread(target=press_ctrl_c)
    timer.start()
    result = evaluate_sync(
        [Case(input=f"q{i}", expected="yes") for i in range(6)],
        metrics=[Contains()],
        task=_slow_after(2),
        max_concurrency=1,
        on_case=on_case,
        tracer_provider=tracer_provider,
    )
    timer.join()
    assert result.complete is False
    assert [c.case_id for c in result.cases] == _ids(2)
    assert all(c.scores[0].value == 1.0 for c in result.cases)


def _ids(n: int) -> list[str]:
    """The ids of the first ``n`` cases ``q0``, ``q1``... (from their content)."""
    return [content_id(Case(input=f"q{i}", expected="yes")) for i in range(n)]
