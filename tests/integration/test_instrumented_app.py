"""An application already instrumented, calling a real local OpenAI-compatible server.

The system under test uses the ``openai`` SDK against ``llama_cpp.server``
(the embedded Gemma model, started by the test), instrumented by the OTel
project's ``opentelemetry-instrumentation-genai-openai`` or by
``openinference-instrumentation-openai``. Each of its calls must appear once in
``result.interactions`` with purpose ``task``, the server's real token counts
and the right case; evaltrace's own judge calls through the same instrumented
SDK must not be counted twice.
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider

from evaltrace import Case, Correctness, evaluate
from tests.integration import test_llama_server as llama
from tests.integration.test_llama_server import MODEL, Recorder, Server
from tests.support.openai_sdk import instrumented_openai

# The real server fixture, shared with the llama.cpp server tests' module.
llama_server = llama.llama_server

pytestmark = pytest.mark.integration
QUESTIONS = ["What is the capital of France?", "What colour is the sky on a clear day?"]


@pytest.fixture(params=["otel-genai", "openinference"])
def instrumented(request: pytest.FixtureRequest, tracer_provider: TracerProvider) -> Iterator[str]:
    with instrumented_openai(request.param, tracer_provider):
        yield request.param


async def test_instrumented_application_calls_are_task_interactions(
    instrumented: str, llama_server: Server, tracer_provider: TracerProvider
) -> None:
    recorder = Recorder()
    client = openai.AsyncOpenAI(
        base_url=llama_server.url, api_key="unused", http_client=recorder.client()
    )
    usage_by_question: dict[str, tuple[int, int]] = {}

    async def application(question: str) -> str:
        reply = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": question}],
            max_tokens=16,
            temperature=0.0,
        )
        assert reply.usage is not None
        usage_by_question[question] = (reply.usage.prompt_tokens, reply.usage.completion_tokens)
        return reply.choices[0].message.content or ""

    result = await evaluate(
        [Case(input=q) for q in QUESTIONS],
        task=application,
        max_concurrency=1,
        tracer_provider=tracer_provider,
    )
    assert len(recorder.exchanges) == len(QUESTIONS)
    assert len(result.interactions) == len(QUESTIONS)
    for case in result.cases:
        (call,) = case.interactions
        assert call.purpose == "task" and call.case_id == case.case_id
        assert (call.input_tokens, call.output_tokens) == usage_by_question[str(case.case.input)]
        assert call.input_tokens is not None and call.output_tokens is not None
        assert call.input_tokens > 0 and call.output_tokens > 0
        assert call.provider == "openai"


async def test_judge_through_an_instrumented_sdk_is_counted_once(
    instrumented: str, llama_server: Server, tracer_provider: TracerProvider
) -> None:
    recorder = Recorder()
    judge = llama._model(llama_server, recorder)
    result = await evaluate(
        [Case(input=QUESTIONS[0], output="Paris", expected="Paris")],
        metrics=[Correctness(max_tokens=48)],
        judge=judge,
        tracer_provider=tracer_provider,
    )
    requests = len(recorder.exchanges)
    assert requests >= 1
    assert len(result.interactions) == requests  # one per HTTP request, fallbacks included
    assert all(i.instrumentation == "evaltrace" for i in result.interactions)
