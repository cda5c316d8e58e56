"""Score trends at a real OTLP receiver: each run's summaries as ``evaltrace.evaluation.*`` gauges.

rotel logs every metric point it receives; the run's gauges must arrive beside
the GenAI client metrics, from the same resource and scope, with their
attributes (run name, metric name) and nothing per case.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evaltrace import Case, Contains, ExactMatch, ScriptedProvider, evaluate_sync
from evaltrace.tracing._scores import (
    CASES_METRIC,
    ERRORS_METRIC,
    PASS_RATE_METRIC,
    SCORE_MEAN_METRIC,
    SCORE_METRICS,
)
from tests.support import servers

pytestmark = pytest.mark.integration


@pytest.fixture
def rotel_metrics(servers_venv: Path, tmp_path: Path) -> Iterator[servers.RotelAgent]:
    """A rotel-agent that logs every metric point it receives."""
    with servers.run_rotel(
        tmp_path / "rotel", venv=servers_venv, debug_signals=("metrics",)
    ) as agent:
        yield agent


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_score_gauges_reach_rotel_with_their_attributes(
    protocol: str, rotel_metrics: servers.RotelAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = rotel_metrics.grpc_port if protocol == "grpc" else rotel_metrics.http_port
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    name = f"trend-{protocol.split('/')[0]}"
    result = evaluate_sync(
        [
            Case(id="a", input="Capital of France?", expected="Paris"),
            Case(id="b", input="Capital of Japan?", expected="Tokyo"),
            Case(id="c", input="Capital of Peru?", expected="Lima"),
            Case(id="d", input="Capital of Chad?", expected="N'Djamena"),
        ],
        [Contains(), ExactMatch()],
        task=ScriptedProvider(["Paris", "It is Tokyo", "Quito", RuntimeError("down")], model="m"),
        name=name,
        max_concurrency=1,
    )
    assert result.metrics["contains"].mean == pytest.approx(2 / 3)

    def ours(points: list[servers.ReceivedPoint]) -> list[servers.ReceivedPoint]:
        return [p for p in points if p.attribute_values().get("evaltrace.run.name") == name]

    points = rotel_metrics.wait_for_points(
        lambda got: {p.metric for p in ours(got)} >= set(SCORE_METRICS)
    )
    got: dict[tuple[str, str | None], float | None] = {}
    for point in ours(points):
        values = point.attribute_values()
        assert set(values) == set(SCORE_METRICS[point.metric][1]), (point.metric, values)
        assert (point.unit, point.data_type) == (SCORE_METRICS[point.metric][0], "Gauge")
        assert point.scope.startswith("evaltrace ")
        assert point.resource_values()["evaltrace.run.name"] == name
        got[(point.metric, values.get("gen_ai.evaluation.name"))] = point.value
    assert got == {
        (SCORE_MEAN_METRIC, "contains"): pytest.approx(2 / 3),
        (SCORE_MEAN_METRIC, "exact_match"): pytest.approx(1 / 3),
        (PASS_RATE_METRIC, "contains"): pytest.approx(2 / 3),
        (PASS_RATE_METRIC, "exact_match"): pytest.approx(1 / 3),
        (CASES_METRIC, None): 4,
        (ERRORS_METRIC, None): 1,
    }
    client = {p.metric for p in rotel_metrics.metric_points()}
    assert "gen_ai.client.operation.duration" in client  # beside the GenAI client metrics
