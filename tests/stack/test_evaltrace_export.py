"""evaltrace's own spans through real receivers: rotel (gRPC and HTTP), Phoenix, rotel -> Phoenix.

Every interaction must arrive as a span with its semconv attributes and its
parent chain evaluate -> case -> (metric ->) chat; collectors that are down,
restarted or slow must never fail a run, and spans that could not be exported
are counted in the result.
"""

from __future__ import annotations

import logging
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from evaltrace import Case, EvaluationResult, ScriptedProvider, SemanticSimilarity, evaluate_sync
from tests.support import servers

pytestmark = pytest.mark.integration

JUDGE_REPLY = '{"score": 0.75, "explanation": "mostly the same"}'
SEMCONV = (
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "evaltrace.purpose",
)


def run_evaluation(name: str, cases: int = 3, task=None) -> EvaluationResult:  # type: ignore[no-untyped-def]
    return evaluate_sync(
        [Case(input=f"{name} question {i}", expected=f"answer {i}") for i in range(cases)],
        metrics=[SemanticSimilarity()],
        task=task or ScriptedProvider("an answer", model="task-model"),
        judge=ScriptedProvider(JUDGE_REPLY, model="judge-model"),
        name=name,
        max_concurrency=1,
    )


def _export_to(monkeypatch: pytest.MonkeyPatch, endpoint: str, protocol: str) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")


def _has_all(result: EvaluationResult, span_ids: set[str]) -> bool:
    return {i.span_id for i in result.interactions} <= span_ids


def assert_arrived_intact(result: EvaluationResult, spans: list[servers.ReceivedSpan]) -> None:
    by_id = {s.span_id: s for s in spans if s.trace_id == result.trace_id}
    for interaction in result.interactions:
        span = by_id[interaction.span_id]
        values = span.attribute_values()
        for key in SEMCONV:
            assert key in values, (key, span.name)
        assert values["gen_ai.usage.input_tokens"] == interaction.input_tokens
        assert values["gen_ai.usage.output_tokens"] == interaction.output_tokens
        assert values["evaltrace.purpose"] == interaction.purpose
        assert span.attribute_types()["gen_ai.usage.input_tokens"] == "Int"
        chain = [span.name]
        while span.parent_span_id is not None:
            span = by_id[span.parent_span_id]
            chain.append(span.name.split(" ")[0])
        expected = (
            ["case", "evaluate"]
            if interaction.purpose == "task"
            else ["metric", "case", "evaluate"]
        )
        assert chain[1:] == expected, chain
    root = next(s for s in by_id.values() if s.parent_span_id is None)
    resource = root.resource_values()
    assert resource["service.name"] == "evaltrace"
    assert resource["evaltrace.run.name"] == result.name
    assert "service.version" in resource


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_every_interaction_reaches_rotel_with_its_attributes_and_parents(
    protocol: str, rotel: servers.RotelAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = rotel.grpc_port if protocol == "grpc" else rotel.http_port
    _export_to(monkeypatch, f"http://127.0.0.1:{port}", protocol)
    result = run_evaluation(f"rotel-{protocol.split('/')[0]}")
    assert len(result.interactions) == 6 and result.dropped_spans == 0
    spans = rotel.wait_for_spans(lambda got: _has_all(result, {s.span_id for s in got}))
    assert_arrived_intact(result, spans)
    assert len([s for s in spans if s.trace_id == result.trace_id]) == 1 + 3 + 3 + 6


def _phoenix_inference_spans(
    spans: list[dict[str, Any]], trace_id: str
) -> dict[str, dict[str, Any]]:
    return {
        s["context"]["span_id"]: s
        for s in spans
        if s["context"]["trace_id"] == trace_id and "gen_ai.operation.name" in s["attributes"]
    }


def assert_in_phoenix(
    phoenix: servers.PhoenixServer, project: str, result: EvaluationResult
) -> None:
    spans = phoenix.wait_for_spans(
        lambda got: len(_phoenix_inference_spans(got, result.trace_id)) >= 6, project=project
    )
    found = _phoenix_inference_spans(spans, result.trace_id)
    assert set(found) == {i.span_id for i in result.interactions}
    for interaction in result.interactions:
        attributes = found[interaction.span_id]["attributes"]
        assert attributes["gen_ai.usage.input_tokens"] == interaction.input_tokens
        assert attributes["gen_ai.usage.output_tokens"] == interaction.output_tokens
        assert attributes["gen_ai.request.model"] == interaction.model


def test_spans_read_back_from_phoenix(
    phoenix: servers.PhoenixServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = f"evaltrace-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", phoenix.otlp_http_traces_url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"openinference.project.name={project}")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    result = run_evaluation("phoenix-direct")
    assert_in_phoenix(phoenix, project, result)


def test_through_rotel_into_phoenix(
    phoenix: servers.PhoenixServer,
    servers_venv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = f"evaltrace-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"openinference.project.name={project}")
    with servers.run_rotel(
        tmp_path,
        forward_to=f"http://{phoenix.grpc_endpoint}",
        forward_protocol="grpc",
        venv=servers_venv,
    ) as collector:
        _export_to(monkeypatch, f"http://{collector.grpc_endpoint}", "grpc")
        result = run_evaluation("rotel-to-phoenix")
        assert_in_phoenix(phoenix, project, result)


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_collector_restarted_mid_run_receives_the_spans_ended_after(
    protocol: str, servers_venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = (servers.free_port(), servers.free_port())
    port = ports[0] if protocol == "grpc" else ports[1]
    _export_to(monkeypatch, f"http://127.0.0.1:{port}", protocol)
    first = servers.run_rotel(tmp_path / "first", ports=ports, venv=servers_venv)
    first.__enter__()
    second: list[servers.RotelAgent] = []
    restart_cm = servers.run_rotel(tmp_path / "second", ports=ports, venv=servers_venv)

    def task(question: str) -> str:  # runs in a worker thread, one case at a time
        index = int(question.rsplit(" ", 1)[1])
        if index == 2:
            first.__exit__(None, None, None)  # the collector goes away...
        if index == 5:
            second.append(restart_cm.__enter__())  # ...and comes back on the same ports
        return "an answer"

    try:
        result = run_evaluation(f"restart-{protocol.split('/')[0]}", cases=10, task=task)
        assert result.complete and len(result.interactions) == 10  # 10 judge calls
        after = [c for c in result.cases if int(str(c.case.input).rsplit(" ", 1)[1]) >= 6]
        wanted = {i.span_id for c in after for i in c.interactions}
        got = second[0].wait_for_spans(
            lambda spans: wanted <= {s.span_id for s in spans}, timeout=90
        )
        assert wanted <= {s.span_id for s in got}
    finally:
        if second:
            restart_cm.__exit__(None, None, None)


def test_slow_collector_drops_are_counted_and_reported(
    rotel: servers.RotelAgent, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _export_to(monkeypatch, rotel.http_endpoint, "http/protobuf")
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "16")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "3")
    caplog.set_level(logging.WARNING, logger="evaltrace")
    os.kill(rotel.process.pid, signal.SIGSTOP)  # accepts connections, never answers
    try:
        result = run_evaluation("slow-collector", cases=20)
    finally:
        os.kill(rotel.process.pid, signal.SIGCONT)
    assert result.complete and len(result.interactions) == 40
    assert result.dropped_spans > 0
    assert any("could not be exported" in r.getMessage() for r in caplog.records)
