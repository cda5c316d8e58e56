"""The Ray executor without a cluster: pickles without keys, the worker class, options."""

from __future__ import annotations

import pickle
from contextlib import AsyncExitStack

import pytest

from evaltrace import Case, ConfigurationError, Contains, RayExecutor, ScriptedProvider, evaluate
from evaltrace.providers import Model, as_model
from evaltrace.providers.anthropic import AnthropicProvider
from evaltrace.providers.openai_compat import OpenAIProvider
from evaltrace.runner import CaseJob, CaseKey, RunRecipe
from evaltrace.runner._ray_worker import CaseWorker
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
    outcome = await worker.run("run-1", [recipe], job)
    assert outcome.result.output == "yes" and outcome.result.scores[0].value == 1.0
    assert len(outcome.result.interactions) == 1
    assert await worker.close_run("run-1") == 0
    assert await worker.close_run("run-1") == 0  # closing twice is harmless


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


async def test_a_local_run_reports_no_lost_attempts() -> None:
    result = await evaluate(
        [Case(input="q", expected="a")], [Contains()], task=ScriptedProvider("a")
    )
    assert result.lost_attempts == []
