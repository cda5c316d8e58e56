"""The Ray executor without a cluster: pickles without keys, the worker class, options."""

from __future__ import annotations

import asyncio
import pickle
from contextlib import AsyncExitStack

import pytest

from evaltrace import (
    Case,
    ConfigurationError,
    Contains,
    MetricContext,
    RayExecutor,
    Score,
    ScriptedProvider,
    evaluate,
)
from evaltrace.providers import Model, as_model
from evaltrace.providers.anthropic import AnthropicProvider
from evaltrace.providers.openai_compat import OpenAIProvider
from evaltrace.runner import CaseJob, CaseKey, RunRecipe
from evaltrace.runner._ray_worker import CaseWorker, Progress
from evaltrace.runner._recipe import open_environment

SECRET = "sk-test-secret-0123456789"


def test_openai_and_anthropic_pickle_without_their_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-worker")
    openai = as_model(
        OpenAIProvider("m", api_key=SECRET, base_url="http://127.0.0.1:9/v1", timeout=7.0),
        max_concurrency=3,
    )
    anthropic = Model(AnthropicProvider("claude", api_key=SECRET))
    for model in (openai, anthropic):
        data = pickle.dumps(model)
        assert SECRET.encode() not in data
        assert b"sk-test" not in data
    copy = pickle.loads(pickle.dumps(openai))
    assert isinstance(copy.provider, OpenAIProvider)
    assert copy.provider._secret is None  # no key on this "worker": none sent
    assert (copy.provider.server_address, copy.provider.server_port) == ("127.0.0.1", 9)
    assert copy._slots.limit == 3 and copy.provider._options["timeout"] == 7.0
    worker_side = pickle.loads(pickle.dumps(anthropic))
    assert worker_side.provider._secret == "sk-ant-worker"  # the worker's own key


def test_a_recipe_pickles_with_its_models_rebuilt() -> None:
    recipe = RunRecipe(
        name="r",
        run_id="abc",
        metrics=(Contains(),),
        task=OpenAIProvider("m", api_key=SECRET, base_url="http://127.0.0.1:9/v1"),
        judge="openai:gpt-4o-mini",
    )
    data = pickle.dumps(recipe)
    assert SECRET.encode() not in data
    assert pickle.loads(data).judge == "openai:gpt-4o-mini"


async def test_the_worker_class_runs_jobs_like_run_case() -> None:
    recipe = RunRecipe(
        name="w", run_id="run-1", metrics=(Contains(),), task=ScriptedProvider("yes")
    )
    worker = CaseWorker(None, 2)
    job = CaseJob(CaseKey("c0"), 0, Case(id="c0", input="q", expected="yes"), {})
    reports = [report async for report in worker.run("run-1", [recipe], [job])]
    [(index, outcome)] = [item for report in reports for item in report.finished]
    assert index == 0
    assert outcome.result.output == "yes" and outcome.result.scores[0].value == 1.0
    assert len(outcome.result.interactions) == 1
    assert await worker.close_run("run-1") == 0
    assert await worker.close_run("run-1") == 0  # closing twice is harmless


def _jobs(*ids: str) -> list[CaseJob]:
    return [
        CaseJob(CaseKey(i), n, Case(id=i, input=i, expected="yes"), {}) for n, i in enumerate(ids)
    ]


async def test_a_batch_reports_what_finished_and_the_calls_of_what_still_runs() -> None:
    model = Model(ScriptedProvider("yes"))
    two_calls_made, let_slow_end = asyncio.Event(), asyncio.Event()

    async def task(question: str) -> str:
        if question == "slow":
            await model.complete("one")
            await model.complete("two")
            two_calls_made.set()
            await let_slow_end.wait()
        else:
            await two_calls_made.wait()
        return (await model.complete(question)).text

    recipe = RunRecipe(name="w", run_id="run-3", metrics=(Contains(),), task=task)
    worker = CaseWorker(None, 4)
    reports = worker.run("run-3", [recipe], _jobs("fast0", "slow", "fast1"))
    finished: list[int] = []
    while len(finished) < 2:
        report = await anext(reports)
        finished += [index for index, _ in report.finished]
    assert sorted(finished) == [0, 2]
    assert report.running == {CaseKey("slow"): Progress(2, 0.0)}  # in-process calls cost 0
    let_slow_end.set()
    last = await anext(reports)
    assert [index for index, _ in last.finished] == [1] and last.running == {}
    assert len(last.finished[0][1].result.interactions) == 3
    with pytest.raises(StopAsyncIteration):
        await anext(reports)
    await worker.close_run("run-3")


async def test_a_worker_runs_at_most_its_concurrency_the_rest_wait_there() -> None:
    running, most = 0, 0
    release = asyncio.Event()

    async def task(question: str) -> str:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1
        return "yes"

    recipe = RunRecipe(name="w", run_id="run-5", metrics=(Contains(),), task=task)
    worker = CaseWorker(None, 2)
    reports = worker.run("run-5", [recipe], _jobs("a", "b", "c", "d", "e"))
    first = asyncio.ensure_future(anext(reports))
    while running < 2:
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)  # the queued jobs had every chance to start: they did not
    assert (running, most) == (2, 2)
    release.set()
    finished = [index for index, _ in (await first).finished]
    async for report in reports:
        finished += [index for index, _ in report.finished]
    assert sorted(finished) == [0, 1, 2, 3, 4] and most == 2
    await worker.close_run("run-5")


class _Misconfigured(Contains):
    """A metric whose configuration error (unlike a bug) stops the run, as locally."""

    def __init__(self) -> None:
        super().__init__()
        self.good_scored = asyncio.Event()
        self.good = 0

    async def score(self, context: MetricContext) -> Score:
        if context.case.id == "bad":
            await self.good_scored.wait()  # the good cases finish first
            raise ConfigurationError("the metric is misconfigured")
        self.good += 1
        if self.good == 2:
            self.good_scored.set()
        return await super().score(context)


async def test_a_run_case_error_ends_the_stream_after_what_finished() -> None:
    recipe = RunRecipe(
        name="w", run_id="run-4", metrics=(_Misconfigured(),), task=ScriptedProvider("yes")
    )
    worker = CaseWorker(None, 4)
    finished: list[int] = []
    with pytest.raises(ConfigurationError, match="misconfigured"):
        async for report in worker.run("run-4", [recipe], _jobs("good0", "bad", "good1")):
            finished += [index for index, _ in report.finished]
    assert sorted(finished) == [0, 2]
    await worker.close_run("run-4")


async def test_open_environment_closes_what_it_opened() -> None:
    recipe = RunRecipe(name="w", run_id="run-2", metrics=())
    async with AsyncExitStack() as owned:
        environment = await open_environment(recipe, owned, 4)
        assert environment.run_id == "run-2" and environment.task is None


def test_options_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="at least 1"):
        RayExecutor(workers=0)
    executor = RayExecutor(workers=3, concurrency_per_worker=4)
    assert executor.concurrency == 12 and executor.remote
    assert (executor.queued_per_worker, executor.jobs_per_worker) == (1, 5)
    assert RayExecutor(concurrency_per_worker=16).queued_per_worker == 4
    assert RayExecutor(concurrency_per_worker=2, queued_per_worker=0).jobs_per_worker == 2
    with pytest.raises(ConfigurationError, match="queued_per_worker"):
        RayExecutor(queued_per_worker=-1)


async def test_a_local_run_reports_no_lost_attempts() -> None:
    result = await evaluate(
        [Case(input="q", expected="a")], [Contains()], task=ScriptedProvider("a")
    )
    assert result.lost_attempts == []
