"""A real llama.cpp OpenAI-compatible server, driven by the unchanged ``OpenAIProvider``.

The module starts ``python -m llama_cpp.server`` on the packaged Gemma 3 270M
file and a free local port, and stops it when the module ends. Every HTTP
exchange is observed through an httpx event hook (no mock: the server answers),
so the tests can compare each interaction with exactly what the server sent.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from evaltrace import (
    Case,
    Correctness,
    GenerationParams,
    LLMInteraction,
    Model,
    RetryPolicy,
    evaluate,
)
from evaltrace.metrics._parse import JUDGE_SCHEMA
from evaltrace.providers.openai_compat import OpenAIProvider
from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import is_inference

pytestmark = pytest.mark.integration

MODEL = "gemma-3-270m"
TASK_PARAMS = GenerationParams(max_tokens=24, temperature=0.0)
# Schema-constrained decoding runs at 8-19 tokens/s here: keep judge replies short.
JUDGE = Correctness(max_tokens=64)
STARTUP_DEADLINE = 180.0  # seconds to wait for /v1/models; a guard, not a timed assertion

# llama-cpp-python 0.3.36 crashes (SIGSEGV in ggml_backend_amx_mul_mat) on this
# model when llama.cpp uses its AMX weight buffers, and its server has no flag
# to turn them off. On AMX CPUs the server module is therefore run exactly as
# ``python -m`` would run it, after switching those buffers off.
_SERVER_WITHOUT_AMX = """
import runpy
import llama_cpp.llama_cpp as lib
_default = lib.llama_model_default_params
def _without_extra_buffers():
    params = _default()
    params.use_extra_bufts = False
    return params
lib.llama_model_default_params = _without_extra_buffers
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    log: Path


@dataclass
class Exchange:
    status: int
    request: dict[str, Any]
    body: dict[str, Any]


@dataclass
class Recorder:
    """Keeps every request the providers sent and every body the server answered."""

    exchanges: list[Exchange] = field(default_factory=list)

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(event_hooks={"response": [self._record]})

    async def _record(self, response: httpx2.Response) -> None:
        await response.aread()
        self.exchanges.append(
            Exchange(response.status_code, json.loads(response.request.content), response.json())
        )

    def by_id(self, response_id: str) -> dict[str, Any]:
        (body,) = [e.body for e in self.exchanges if e.body.get("id") == response_id]
        return body


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_command() -> list[str]:
    import llama_cpp

    if b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info():
        return [sys.executable, "-c", _SERVER_WITHOUT_AMX]
    return [sys.executable, "-m", "llama_cpp.server"]


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{_tail(log)}")
        try:
            if httpx2.get(f"{url}/models", timeout=2.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"llama_cpp.server did not answer within {STARTUP_DEADLINE} s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture(scope="module")
def llama_server(gemma_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    threads = str(os.cpu_count() or 1)
    command = [
        *_server_command(),
        "--model", str(gemma_gguf),
        "--model_alias", MODEL,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chat_format", "gemma",
        "--n_ctx", "1024",
        "--n_threads", threads,
        "--n_threads_batch", threads,
        "--verbose", "False",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/v1"
        _wait_until_ready(process, url, log)
        yield Server(url=url, port=port, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _provider(server: Server, recorder: Recorder) -> OpenAIProvider:
    # A generous timeout: a timed-out request keeps the single-slot server busy.
    return OpenAIProvider(
        model=MODEL, base_url=server.url, timeout=600.0, http_client=recorder.client()
    )


# No per-attempt deadline beyond the HTTP client's own: on a loaded 2-core machine a
# schema-constrained reply can take minutes, and an attempt cut short would be one
# more interaction than the server answered.
PATIENT = RetryPolicy(timeout=None)


def _model(server: Server, recorder: Recorder) -> Model:
    return Model(_provider(server, recorder), retry=PATIENT)


def _inference(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if is_inference(s.attributes or {})]


def _span_of(spans: list[ReadableSpan], interaction: LLMInteraction) -> ReadableSpan:
    (span,) = [s for s in spans if format(s.context.span_id, "016x") == interaction.span_id]
    return span


def _assert_client_span(span: ReadableSpan, server: Server) -> None:
    attributes = span.attributes or {}
    assert span.kind is SpanKind.CLIENT
    assert span.name == f"chat {MODEL}"
    assert attributes[attr.OPERATION_NAME] == "chat"
    assert attributes[attr.PROVIDER_NAME] == "openai"
    assert attributes[attr.SERVER_ADDRESS] == "127.0.0.1"
    assert attributes[attr.SERVER_PORT] == server.port


def _assert_server_usage(
    interaction: LLMInteraction, span: ReadableSpan, recorder: Recorder
) -> None:
    assert interaction.response_id is not None
    usage = recorder.by_id(interaction.response_id)["usage"]
    attributes = span.attributes or {}
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert interaction.input_tokens == attributes[attr.USAGE_INPUT_TOKENS] == usage["prompt_tokens"]
    assert (
        interaction.output_tokens
        == attributes[attr.USAGE_OUTPUT_TOKENS]
        == usage["completion_tokens"]
    )
    assert interaction.tokens_used == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_task_and_judge_over_http_carry_the_servers_usage(
    llama_server: Server, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    recorder = Recorder()
    task_model, judge = _model(llama_server, recorder), _model(llama_server, recorder)

    async def answer(question: str) -> str:
        # The base model never ends a chat turn by itself: without max_tokens the
        # server generates until its context is full (minutes per call on 2 cores).
        completion = await task_model.complete(question, params=TASK_PARAMS)
        return completion.text

    try:
        result = await evaluate(
            [
                Case(input="What is the capital of France?", expected="Paris"),
                Case(input="What color is the sky on a clear day?", expected="Blue"),
            ],
            [JUDGE],
            task=answer,
            judge=judge,
            tracer_provider=tracer_provider,
            # One case at a time: the first judge call then fails alone (see the next test).
            max_concurrency=1,
        )
    finally:
        await task_model.aclose()
        await judge.aclose()

    assert result.complete
    spans = _inference(span_exporter)
    assert len(result.interactions) == len(spans) == len(recorder.exchanges)
    purposes = [i.purpose for i in result.interactions]
    assert purposes.count("task") == 2
    assert purposes.count("correctness_evaluation") == 3  # 1 rejected format + 2 answers
    for interaction in result.interactions:
        span = _span_of(spans, interaction)
        _assert_client_span(span, llama_server)
        assert interaction.server_address == "127.0.0.1"
        assert interaction.server_port == llama_server.port
        if interaction.error is None:
            _assert_server_usage(interaction, span, recorder)
    for interaction in result.interactions:
        if interaction.purpose == "task":
            assert interaction.shape.max_tokens == TASK_PARAMS.max_tokens
            assert 0 < (interaction.output_tokens or 0) <= 24
    for case in result.cases:
        assert case.output is not None and case.error is None
        assert len(case.scores) == 1


async def test_structured_output_falls_back_from_json_schema_to_json_object(
    llama_server: Server, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    recorder = Recorder()
    judge = _model(llama_server, recorder)
    try:
        result = await evaluate(
            [Case(input="What is the capital of France?", output="Paris", expected="Paris")],
            [JUDGE],
            judge=judge,
            tracer_provider=tracer_provider,
        )
    finally:
        await judge.aclose()

    assert result.complete
    # What the server did: HTTP 500 for json_schema, an answer for json_object + schema.
    rejected, accepted = recorder.exchanges
    assert rejected.request["response_format"]["type"] == "json_schema"
    assert rejected.status == 500
    assert "json_schema" in rejected.body["error"]["message"]
    assert accepted.request["response_format"] == {"type": "json_object", "schema": JUDGE_SCHEMA}
    assert accepted.status == 200

    spans = _inference(span_exporter)
    failed, retried = result.interactions
    assert len(spans) == 2
    assert failed.purpose == retried.purpose == "correctness_evaluation"
    assert failed.attempt == 1
    assert failed.error is not None and failed.error.startswith("UnsupportedResponseFormat")
    failed_span = _span_of(spans, failed)
    assert failed_span.status.status_code is StatusCode.ERROR
    assert (failed_span.attributes or {})[attr.ERROR_TYPE] == "UnsupportedResponseFormat"
    _assert_client_span(failed_span, llama_server)

    assert retried.attempt == 2
    assert retried.error is None
    assert retried.response_id == accepted.body["id"]
    _assert_server_usage(retried, _span_of(spans, retried), recorder)
    (score,) = result.cases[0].scores
    assert score.raw_reply == retried.response == accepted.body["choices"][0]["message"]["content"]
