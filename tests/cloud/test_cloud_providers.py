"""Live calls to cloud providers: opt-in (``pytest --run-cloud``) with the provider's API key set.

The conftest's autouse fixture clears the keys for every other test; these
tests read them from the environment captured at import.
"""

from __future__ import annotations

import os

import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import Case, Correctness, evaluate

pytestmark = pytest.mark.cloud
KEYS = {name: os.environ.get(name) for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}


@pytest.mark.parametrize(
    ("judge", "key"),
    [
        ("openai:gpt-4o-mini", "OPENAI_API_KEY"),
        ("anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
    ],
)
async def test_a_cloud_judge_is_traced_priced_and_keyless(
    judge: str, key: str, monkeypatch: pytest.MonkeyPatch, tracer_provider: TracerProvider
) -> None:
    api_key = KEYS[key]
    if not api_key:
        pytest.fail(f"--run-cloud needs {key} set")
    monkeypatch.setenv(key, api_key)
    result = await evaluate(
        [Case(input="What is the capital of France?", output="Paris", expected="Paris")],
        metrics=[Correctness()],
        judge=judge,
        tracer_provider=tracer_provider,
    )
    (call,) = [i for i in result.interactions if i.error is None]
    assert call.purpose == "correctness_evaluation"
    assert call.input_tokens and call.output_tokens
    cost = call.cost()
    assert cost is not None and cost > 0
    assert result.cases[0].scores[0].value is not None
    assert api_key not in result.model_dump_json()
