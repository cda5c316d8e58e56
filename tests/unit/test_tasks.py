"""The system under test: sync, async and threaded tasks, and task failures."""

from __future__ import annotations

import asyncio
import threading

from opentelemetry.sdk.trace import TracerProvider

from evaltrace import Case, Contains, ScriptedProvider, evaluate
from evaltrace.providers import Model


async def test_async_task_calls_are_traced_as_task(tracer_provider: TracerProvider) -> None:
    model = Model(ScriptedProvider("4"))

    async def task(question: str) -> str:
        first = await model.complete(question)
        second = await model.complete(f"check: {first.text}")
        return second.text

    result = await evaluate(
        [Case(input="2+2?", expected="4")],
        metrics=[Contains()],
        task=task,
        tracer_provider=tracer_provider,
    )
    assert [i.purpose for i in result.interactions] == ["task", "task"]
    assert result.cases[0].output == "4"
    assert [i.prompt for i in result.cases[0].interactions] == ["2+2?", "check: 4"]


async def test_sync_task_runs_off_the_loop_and_keeps_its_calls_in_the_case(
    tracer_provider: TracerProvider,
) -> None:
    model = Model(ScriptedProvider("answer"))
    threads: set[str] = set()
    loop = asyncio.get_running_loop()

    def task(question: str) -> str:
        threads.add(threading.current_thread().name)
        return asyncio.run_coroutine_threadsafe(model.complete(question), loop).result().text

    result = await evaluate(
        [Case(input=f"q{i}") for i in range(3)], task=task, tracer_provider=tracer_provider
    )
    assert threading.main_thread().name not in threads
    for case in result.cases:
        assert [i.case_id for i in case.interactions] == [case.case_id]


async def test_a_failing_task_is_a_case_error_not_a_crash(tracer_provider: TracerProvider) -> None:
    def task(question: str) -> str:
        if question == "bad":
            raise RuntimeError("system under test crashed")
        return "fine"

    result = await evaluate(
        [Case(input="good", expected="fine"), Case(input="bad")],
        metrics=[Contains()],
        task=task,
        tracer_provider=tracer_provider,
    )
    good, bad = result.cases
    assert good.error is None and good.scores[0].value == 1.0
    assert bad.error == "RuntimeError: system under test crashed"
    assert bad.scores[0].value is None and "no output" in (bad.scores[0].error or "")
    assert result.complete


async def test_task_given_as_provider_string(tracer_provider: TracerProvider) -> None:
    from evaltrace import register_provider

    register_provider("unit-scripted", lambda model: ScriptedProvider(f"from {model}", model=model))
    result = await evaluate(
        [Case(input="q")], task="unit-scripted:m1", tracer_provider=tracer_provider
    )
    assert result.cases[0].output == "from m1"
    assert result.interactions[0].model == "m1"


async def test_one_at_a_time_models_start_their_spans_when_their_turn_comes(
    tracer_provider: TracerProvider,
) -> None:
    class OneAtATime(ScriptedProvider):
        max_concurrency = 1  # like an in-process model with one context

    result = await evaluate(
        [Case(input=f"q{i}") for i in range(4)],
        task=OneAtATime("a", delay=0.01),
        max_concurrency=4,
        tracer_provider=tracer_provider,
    )
    spans = sorted((i.timestamp, i.timestamp.timestamp() + i.latency) for i in result.interactions)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start.timestamp() >= end  # no call's span includes another call's time
    assert Model(OneAtATime("a")).max_concurrency == 1
    assert Model(ScriptedProvider("a")).max_concurrency == 16


def test_models_built_from_strings_follow_the_run_but_not_past_the_provider() -> None:
    from evaltrace import register_provider
    from evaltrace.providers import as_model

    class Single(ScriptedProvider):
        max_concurrency = 1

    register_provider("unit-single", lambda model: Single("a", model=model))
    register_provider("unit-many", lambda model: ScriptedProvider("a", model=model))
    assert as_model("unit-many:m", max_concurrency=64).max_concurrency == 64
    assert as_model("unit-single:m", max_concurrency=64).max_concurrency == 1
