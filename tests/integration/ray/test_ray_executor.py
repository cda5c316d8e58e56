"""evaluate() on a real multi-node Ray cluster: the same result as a local run, one trace.

Workers call a real OpenAI-compatible server on loopback (``FaultServer``,
which logs every request); the cluster is the session's (``conftest.py``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import (
    Case,
    Contains,
    Correctness,
    EvaluationResult,
    LostAttempt,
    MetricContext,
    Model,
    RayExecutor,
    Score,
    evaluate,
    read_case_results,
)
from evaltrace.providers._local_runtime import load_counts
from evaltrace.providers.openai_compat import OpenAIProvider
from tests.support import servers
from tests.support.fault_server import Action, FaultServer, Outcome, RequestRecord

pytestmark = pytest.mark.integration


@pytest.fixture
async def server() -> AsyncIterator[FaultServer]:
    async with FaultServer(reply="yes, it is") as started:
        yield started


def _cases(prefix: str, n: int) -> list[Case]:
    return [
        Case(id=f"{prefix}{i}", input=f"{prefix} question {i}", expected="yes") for i in range(n)
    ]


def _case_of(request: RequestRecord) -> str:
    """The case a request was for: prompts start with the case's input (its id)."""
    return request.text().split(" ")[0]


def _model(server: FaultServer) -> Model:
    # An explicit key on the driver: it must not travel to the workers (they read their own).
    return Model(OpenAIProvider("fault-model", base_url=server.base_url, api_key="sk-driver-only"))


def _summary(result: EvaluationResult) -> list[tuple[Any, ...]]:
    return [
        (
            c.case_id,
            c.output,
            c.error,
            [(s.metric, s.value, s.error_type) for s in c.scores],
            sorted(i.purpose for i in c.interactions),
        )
        for c in result.cases
    ]


async def test_a_ray_run_gives_the_local_result(ray_cluster: Any, server: FaultServer) -> None:
    cases = _cases("same", 12)
    options: dict[str, Any] = {"task": _model(server), "judge": _model(server)}
    local = await evaluate(cases, [Contains(), Correctness()], **options)
    on_ray: list[str] = []
    remote = await evaluate(
        cases,
        [Contains(), Correctness()],
        executor=RayExecutor(workers=2, concurrency_per_worker=2),
        on_case=lambda c: on_ray.append(c.case_id),
        **options,
    )
    assert remote.complete and not remote.lost_attempts
    assert _summary(remote) == _summary(local)
    assert sorted(on_ray) == sorted(c.case_id for c in remote.cases)
    assert len(remote.interactions) == len(local.interactions) == 24
    assert len(server.chat_requests) == 48  # every call of both runs reached the server once
    assert {i.trace_id for i in remote.interactions} == {remote.trace_id}
    assert remote.metrics["correctness"].mean == local.metrics["correctness"].mean


async def test_one_trace_across_the_workers_with_the_apps_provider(
    ray_cluster: Any, server: FaultServer, tmp_path: Path
) -> None:
    exporter = InMemorySpanExporter()
    app_provider = TracerProvider()  # the driver's application set up its own tracing
    app_provider.add_span_processor(SimpleSpanProcessor(exporter))
    with servers.run_rotel(tmp_path) as rotel:
        executor = RayExecutor(
            workers=2,
            concurrency_per_worker=2,
            runtime_env={
                "env_vars": {
                    "OTEL_TRACES_EXPORTER": "otlp",
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{rotel.grpc_endpoint}",
                }
            },
        )
        result = await evaluate(
            _cases("trace", 6),
            [Contains()],
            task=_model(server),
            executor=executor,
            tracer_provider=app_provider,
        )
        received = rotel.wait_for_spans(
            lambda spans: sum(s.name.startswith("case ") for s in spans) >= 6
        )
    (root,) = [s for s in exporter.get_finished_spans() if s.name.startswith("evaluate ")]
    root_id = f"{root.context.span_id:016x}"
    assert f"{root.context.trace_id:032x}" == result.trace_id
    case_spans = {s.span_id: s for s in received if s.name.startswith("case ")}
    assert len(case_spans) == 6
    assert {(s.trace_id, s.parent_span_id) for s in case_spans.values()} == {
        (result.trace_id, root_id)
    }
    chat_spans = [s for s in received if s.name.startswith("chat ")]
    assert len(chat_spans) == len(result.interactions) == 6
    assert all(s.parent_span_id in case_spans for s in chat_spans)
    assert {i.span_id for i in result.interactions} == {s.span_id for s in chat_spans}
    # The driver's provider got the root span and none of the workers' spans.
    assert not [s for s in exporter.get_finished_spans() if s.name.startswith("case ")]


async def test_the_spans_a_workers_exporter_drops_are_counted_on_the_driver(
    ray_cluster: Any, server: FaultServer
) -> None:
    with socket.socket() as closed:  # a collector that is down: nothing listens there
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    executor = RayExecutor(
        workers=1,
        runtime_env={
            "env_vars": {
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
                # Room for one span, exported only at the run's end: the rest are dropped.
                "OTEL_BSP_MAX_QUEUE_SIZE": "1",
                "OTEL_BSP_SCHEDULE_DELAY": "600000",
            }
        },
    )
    result = await evaluate(_cases("down", 3), [Contains()], task=_model(server), executor=executor)
    assert result.complete and len(result.interactions) == 3
    # The driver exports nothing (no OTEL_* here). The worker's 9 spans (each case's case,
    # metric and chat span): 8 found the queue full; the one queued may also have failed
    # by the time the worker closed the run (else it goes on retrying in the background).
    assert result.dropped_spans in (8, 9)


async def test_two_concurrent_runs_on_one_cluster_do_not_mix(
    ray_cluster: Any, server: FaultServer
) -> None:
    executor = RayExecutor(workers=2, concurrency_per_worker=3)
    await executor.start()  # both runs share the same two actors
    try:
        first, second = await asyncio.gather(
            evaluate(_cases("alpha", 15), [Contains()], task=_model(server), executor=executor),
            evaluate(_cases("beta", 10), [Contains()], task=_model(server), executor=executor),
        )
    finally:
        executor.shutdown()
    for result, marker, n in ((first, "alpha", 15), (second, "beta", 10)):
        assert result.complete and len(result.cases) == n
        assert all(c.case_id.startswith(marker) for c in result.cases)
        assert len(result.interactions) == n
        assert all(marker in i.prompt for i in result.interactions)
        assert {i.trace_id for i in result.interactions} == {result.trace_id}
    assert first.trace_id != second.trace_id


class _Exploding:
    """A metric with a bug on some cases (defined here: workers import it from this module)."""

    name = "exploding"
    purpose = "exploding_evaluation"

    async def score(self, context: MetricContext) -> Score:
        if "3" in str(context.case.input):
            raise ZeroDivisionError("metric bug")
        return Score(metric=self.name, value=1.0)


async def _task(question: str) -> str:
    if question.endswith("5"):
        raise ValueError("task bug")
    return "yes"


async def test_task_and_metric_exceptions_on_workers_are_data(ray_cluster: Any) -> None:
    cases = _cases("err", 8)
    local = await evaluate(cases, [Contains(), _Exploding()], task=_task)
    remote = await evaluate(
        cases, [Contains(), _Exploding()], task=_task, executor=RayExecutor(workers=2)
    )
    assert remote.complete
    assert _summary(remote) == _summary(local)
    by_id = {c.case_id: c for c in remote.cases}
    assert by_id["err5"].error == "ValueError: task bug"
    assert by_id["err3"].scores[1].error_type == "ZeroDivisionError"


async def test_cancelling_the_driver_stops_the_workers_and_keeps_what_finished(
    ray_cluster: Any, tmp_path: Path
) -> None:
    def slow_after_four(index: int, body: dict[str, Any]) -> Action | Outcome:
        return Outcome.OK if index < 4 else Action(Outcome.SLOW, delay=30.0)

    async with FaultServer(slow_after_four, reply="yes") as slow:
        finished: list[str] = []
        stream = tmp_path / "cases.jsonl"
        run = asyncio.create_task(
            evaluate(
                _cases("cancel", 40),
                [Contains()],
                task=_model(slow),
                executor=RayExecutor(workers=2, concurrency_per_worker=2),
                results_path=stream,
                on_case=lambda c: finished.append(c.case_id),
            )
        )
        while len(finished) < 4 or slow.in_flight < 4:
            await asyncio.sleep(0.05)
        requests_at_cancel = len(slow.chat_requests)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        while slow.in_flight:  # the workers' calls were cancelled, not left running for 30 s
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        assert len(slow.chat_requests) == requests_at_cancel  # and no case started after
    saved = read_case_results(stream)
    assert sorted(c.case_id for c in saved) == sorted(finished)
    summary = json.loads(stream.read_text().splitlines()[-1])
    assert summary["type"] == "summary" and summary["complete"] is False


def _each_case_once_and_attempts_lost_on(
    result: EvaluationResult, cases: list[Case], pid: int
) -> dict[str, LostAttempt]:
    """The run finished every case once; its lost attempts, each a first one on ``pid``."""
    assert result.complete
    assert sorted(c.case_id for c in result.cases) == sorted(c.id or "" for c in cases)
    assert all(a.attempt == 1 and str(pid) in a.worker for a in result.lost_attempts)
    return {a.case_id: a for a in result.lost_attempts}


async def test_a_worker_killed_mid_case_counts_each_call_once(ray_cluster: Any) -> None:
    victim = "kill3"

    seen: list[int] = []

    def slow_victim(index: int, body: dict[str, Any]) -> Action | Outcome:
        if victim + " " not in json.dumps(body):
            return Outcome.OK
        seen.append(index)  # the victim's first attempt hangs until its worker is killed
        return Action(Outcome.SLOW, delay=5.0) if len(seen) == 1 else Outcome.OK

    async with FaultServer(slow_victim, reply="yes") as server:
        model = _model(server)

        async def task(question: str) -> str:  # the prompt names the worker's process
            return (await model.complete(f"{question} pid={os.getpid()}")).text

        cases = [Case(id=f"kill{i}", input=f"kill{i} ", expected="yes") for i in range(10)]
        executor = RayExecutor(workers=2, concurrency_per_worker=1)
        await executor.start()
        try:
            run = asyncio.create_task(evaluate(cases, [Contains()], task=task, executor=executor))
            while not [r for r in server.chat_requests if victim + " " in r.text()]:
                await asyncio.sleep(0.05)
            (request,) = [r for r in server.chat_requests if victim + " " in r.text()]
            pid = int(request.text().rsplit("pid=", 1)[1])
            os.kill(pid, signal.SIGKILL)
            result = await run
        finally:
            executor.shutdown()
    lost = _each_case_once_and_attempts_lost_on(result, cases, pid)
    assert (lost[victim].attempt, lost[victim].calls) == (1, None)  # its call never came back
    # With it, the worker lost at most the job queued there for its next free slot.
    assert len(lost) <= 2
    logged = server.chat_requests
    lost_requests = [r for r in logged if f"pid={pid}" in r.text() and _case_of(r) in lost]
    assert len(lost_requests) == 1  # the victim's: the queued job never called
    assert len(result.interactions) == len(logged) - len(lost_requests) == len(cases)
    (victim_case,) = [c for c in result.cases if c.case_id == victim]
    assert len(victim_case.interactions) == 1
    assert f"pid={pid}" not in victim_case.interactions[0].prompt


async def test_a_lost_attempt_reports_the_calls_its_worker_had_reported(
    ray_cluster: Any,
) -> None:
    victim = "seen3"
    victim_calls: list[int] = []

    def second_victim_call_hangs(index: int, body: dict[str, Any]) -> Action | Outcome:
        if victim + " " not in json.dumps(body):
            return Action(Outcome.SLOW, delay=0.3)  # the others keep both workers busy
        victim_calls.append(index)
        return Action(Outcome.SLOW, delay=5.0) if len(victim_calls) == 2 else Outcome.OK

    async with FaultServer(second_victim_call_hangs, reply="yes") as server:
        model = _model(server)

        async def task(question: str) -> str:
            first = await model.complete(f"{question} first pid={os.getpid()}")
            if question.startswith(victim):
                await model.complete(f"{question} second pid={os.getpid()}")
            return first.text

        cases = [Case(id=f"seen{i}", input=f"seen{i} ", expected="yes") for i in range(16)]
        finished: list[str] = []
        executor = RayExecutor(workers=2, concurrency_per_worker=2)
        await executor.start()
        try:
            run = asyncio.create_task(
                evaluate(
                    cases, [Contains()], task=task, executor=executor,
                    on_case=lambda c: finished.append(c.case_id),
                )
            )  # fmt: skip
            while len(victim_calls) < 2:
                await asyncio.sleep(0.05)
            first_call, hanging = [r for r in server.chat_requests if _case_of(r) == victim]
            pid = int(hanging.text().rsplit("pid=", 1)[1])

            def reported_after_first_call() -> bool:
                """A case of the victim's worker began after its first call and came back.

                Its worker's report then carried the victim's progress: one call.
                """
                return any(
                    f"pid={pid}" in r.text()
                    and _case_of(r) in finished
                    and r.time > (first_call.finished or 0.0)
                    for r in server.chat_requests
                )

            while not reported_after_first_call():
                await asyncio.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
            result = await run
        finally:
            executor.shutdown()
    # The victim was lost with the case in the worker's other slot and the one queued
    # there; the driver had seen the victim's first call (its worker reported it).
    lost = _each_case_once_and_attempts_lost_on(result, cases, pid)
    assert victim in lost and len(lost) <= 3
    assert (lost[victim].calls, lost[victim].cost_usd) == (1, 0.0)  # a local server costs 0
    logged = server.chat_requests
    lost_requests = [r for r in logged if f"pid={pid}" in r.text() and _case_of(r) in lost]
    assert len(result.interactions) == len(logged) - len(lost_requests)
    (victim_case,) = [c for c in result.cases if c.case_id == victim]
    assert len(victim_case.interactions) == 2  # the attempt that came back: both its calls
    assert all(f"pid={pid}" not in i.prompt for i in victim_case.interactions)


async def _model_loads_here(question: str) -> str:
    """This worker's process id and how many llama.cpp models it has loaded."""
    return f"{os.getpid()} {load_counts()['llama.cpp']}"


async def test_the_embedded_model_loads_once_per_worker(ray_cluster: Any) -> None:
    # One case at a time on each worker and none queued: each run's two cases go one to each.
    executor = RayExecutor(workers=2, concurrency_per_worker=1, queued_per_worker=0)
    await executor.start()
    try:
        for run in range(2):  # two runs, each building "local:" on both workers
            result = await evaluate(
                _cases(f"local{run}-", 2), [Contains()], task="local:", executor=executor
            )
            assert result.complete and not [c for c in result.cases if c.error]
            assert {i.model for i in result.interactions} == {"gemma-3-270m"}
        loads = await evaluate(_cases("loads", 4), [], task=_model_loads_here, executor=executor)
    finally:
        executor.shutdown()
    per_worker = {tuple(str(c.output).split()) for c in loads.cases}
    assert len({pid for pid, _ in per_worker}) == 2
    assert {count for _, count in per_worker} == {"1"}


def test_the_cli_runs_a_dataset_on_the_cluster(ray_cluster: Any, tmp_path: Path) -> None:
    from evaltrace.cli import main

    rows = [
        {"id": f"cli{i}", "input": "q", "output": "yes" if i % 2 else "no", "expected": "yes"}
        for i in range(6)
    ]
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    output = tmp_path / "result.json"
    argv = ["run", str(dataset), "--metric", "contains", "--output", str(output)]
    code = main([*argv, "--ray", ray_cluster.address, "--workers", "2", "--no-progress"])
    assert code == 0
    result = EvaluationResult.load(output)
    assert sorted(c.case_id for c in result.cases) == [f"cli{i}" for i in range(6)]
    assert result.metrics["contains"].mean == 0.5


async def test_trials_run_on_the_workers(ray_cluster: Any, server: FaultServer) -> None:
    cases = _cases("trial", 4)
    remote = await evaluate(
        cases, [Contains()], task=_model(server), repeat=3,
        executor=RayExecutor(workers=2, concurrency_per_worker=2),
    )  # fmt: skip
    keys = sorted((c.case_id, c.trial) for c in remote.cases)
    assert keys == [(f"trial{i}", t) for i in range(4) for t in range(3)]
    assert sorted((i.case_id, i.trial) for i in remote.interactions) == keys
    assert len(server.chat_requests) == 12  # one model call per trial, each counted once
    assert [t.case_id for t in remote.trials] == [f"trial{i}" for i in range(4)]
    assert remote.metrics["contains"].mean == 1.0
