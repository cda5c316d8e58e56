"""Real OTLP receivers (rotel, Phoenix) get what the plain OpenTelemetry SDK exports.

Only opentelemetry-sdk and its OTLP exporters are used on the sending side, so
these tests prove the receivers and the helpers in tests/support/servers.py, not
evaltrace. Every wait is a poll with a generous deadline; nothing is timed.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from tests.support import servers

pytestmark = pytest.mark.integration

CHILD_ATTRIBUTES: dict[str, AttributeValue] = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.request.temperature": 0.25,
    "gen_ai.usage.input_tokens": 12,
    "gen_ai.usage.output_tokens": 7,
    "gen_ai.response.finish_reasons": ("stop", "length"),
    "server.address": "api.example.test",
    "server.port": 443,
    "evaltrace.purpose": "semantic_evaluation",
    "evaltrace.streamed": False,
    "error.type": "TimeoutError",
}
EXPECTED_TYPES = {
    "gen_ai.operation.name": "Str",
    "gen_ai.request.temperature": "Double",
    "gen_ai.usage.input_tokens": "Int",
    "gen_ai.response.finish_reasons": "Slice",
    "evaltrace.streamed": "Bool",
}


@dataclasses.dataclass(frozen=True)
class Sent:
    trace_id: str
    parent_span_id: str
    child_span_id: str
    service: str
    run_id: str


def _expected_value(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def export_genai_trace(
    exporter: SpanExporter, *, project: str | None = None, extra_children: int = 0
) -> Sent:
    """Export one trace: "evaluate <run>" -> "chat gpt-4o-mini" (+ optional extra children)."""
    run_id = uuid.uuid4().hex[:12]
    service = f"stack-test-{run_id}"
    resource_attrs: dict[str, str] = {"service.name": service}
    if project is not None:
        resource_attrs[servers.PHOENIX_PROJECT_RESOURCE_ATTRIBUTE] = project
    provider = TracerProvider(resource=Resource.create(resource_attrs))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("evaltrace.stack-test", "0.0.0")
    try:
        with tracer.start_as_current_span(f"evaluate {run_id}") as parent:
            parent.set_attribute("evaltrace.run.id", run_id)
            with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as child:
                for key, value in CHILD_ATTRIBUTES.items():
                    child.set_attribute(key, value)
                child.add_event(
                    "gen_ai.evaluation.result",
                    {"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.75},
                )
                child.set_status(Status(StatusCode.ERROR, "upstream timed out"))
            for i in range(extra_children):
                with tracer.start_as_current_span(f"metric extra-{i}") as extra:
                    extra.set_attribute("evaltrace.metric.name", f"extra-{i}")
    finally:
        provider.shutdown()  # flushes; SimpleSpanProcessor already exported each span
    return Sent(
        trace_id=format(parent.get_span_context().trace_id, "032x"),
        parent_span_id=format(parent.get_span_context().span_id, "016x"),
        child_span_id=format(child.get_span_context().span_id, "016x"),
        service=service,
        run_id=run_id,
    )


def make_exporter(protocol: str, *, grpc_endpoint: str, http_traces_url: str) -> SpanExporter:
    if protocol == "grpc":
        return GrpcSpanExporter(endpoint=grpc_endpoint, insecure=True, timeout=30)
    return HttpSpanExporter(endpoint=http_traces_url, timeout=30)


# --------------------------------------------------------------------------
# rotel
# --------------------------------------------------------------------------


def assert_rotel_trace(spans: list[servers.ReceivedSpan], sent: Sent) -> None:
    by_id = {s.span_id: s for s in spans if s.trace_id == sent.trace_id}
    assert set(by_id) == {sent.parent_span_id, sent.child_span_id}
    parent, child = by_id[sent.parent_span_id], by_id[sent.child_span_id]

    assert parent.parent_span_id is None
    assert parent.name == f"evaluate {sent.run_id}"
    assert parent.kind == "SPAN_KIND_INTERNAL"
    assert parent.attribute_values() == {"evaltrace.run.id": sent.run_id}

    assert child.parent_span_id == sent.parent_span_id
    assert child.name == "chat gpt-4o-mini"
    assert child.kind == "SPAN_KIND_CLIENT"
    assert child.status_code == "STATUS_CODE_ERROR"
    assert child.status_message == "upstream timed out"
    assert child.attribute_values() == {k: _expected_value(v) for k, v in CHILD_ATTRIBUTES.items()}
    types = child.attribute_types()
    assert {k: types[k] for k in EXPECTED_TYPES} == EXPECTED_TYPES
    assert [(e.name, e.attribute_values()) for e in child.events] == [
        (
            "gen_ai.evaluation.result",
            {"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.75},
        )
    ]
    assert child.resource_values()["service.name"] == sent.service
    assert child.scope.split()[0] == "evaltrace.stack-test"
    assert child.start_time_unix_nano and child.end_time_unix_nano
    assert child.start_time_unix_nano <= child.end_time_unix_nano


def _has_trace(sent: Sent) -> Callable[[list[servers.ReceivedSpan]], bool]:
    return lambda spans: (
        {sent.parent_span_id, sent.child_span_id}
        <= {s.span_id for s in spans if s.trace_id == sent.trace_id}
    )


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_rotel_logs_genai_spans_with_types_and_parentage(
    rotel: servers.RotelAgent, protocol: str
) -> None:
    exporter = make_exporter(
        protocol,
        grpc_endpoint=rotel.grpc_endpoint,
        http_traces_url=f"{rotel.http_endpoint}/v1/traces",
    )
    sent = export_genai_trace(exporter)
    spans = rotel.wait_for_spans(_has_trace(sent))
    assert_rotel_trace(spans, sent)


def test_rotel_wait_fails_when_nothing_arrives(rotel: servers.RotelAgent) -> None:
    """The poll can fail: nothing was sent, so waiting for a span must time out."""
    with pytest.raises(TimeoutError, match="rotel"):
        rotel.wait_for_spans(lambda spans: bool(spans), timeout=3, what="any span in rotel")


def test_rotel_listens_only_on_loopback(rotel: servers.RotelAgent) -> None:
    addresses = servers.listening_addresses(rotel.process.pid)
    assert {port for _, port in addresses} >= {rotel.grpc_port, rotel.http_port}
    assert all(servers.is_loopback(addr) for addr, _ in addresses), addresses


def test_rotel_is_stopped_after_its_context(servers_venv: Path, tmp_path: Path) -> None:
    with servers.run_rotel(tmp_path, venv=servers_venv) as agent:
        process = agent.process
        assert process.poll() is None
    assert process.poll() is not None
    assert not servers.port_open(servers.LOOPBACK, agent.grpc_port)


def test_rotel_parser_on_recorded_output() -> None:
    """The parser on a verbatim rotel log, plus a string value holding a newline."""
    log = (
        "\x1b[2m2026-11-25T13:43:05.347183Z\x1b[0m \x1b[32m INFO\x1b[0m Starting Rotel.\n"
        "ResourceSpans #0\n"
        "Resource SchemaURL: \n"
        "Resource attributes:\n"
        "     -> service.name: Str(svc)\n"
        "ScopeSpans #0\n"
        "ScopeSpans SchemaURL: \n"
        "InstrumentationScope x \n"
        "Span #0\n"
        "    Trace ID       : DEF9E4897EDCF904EDF75960A6444ED0\n"
        "    Parent ID      : \n"
        "    ID             : ade709cceb92a267\n"
        "    Name           : evaluate demo\n"
        "    Kind           : SPAN_KIND_INTERNAL\n"
        "Start time: 1795614194257815416\n"
        "End time: 1795614194260764555\n"
        "    Status code    : STATUS_CODE_UNSET\n"
        "    Status message : \n"
        "Attributes:\n"
        "     -> gen_ai.input.messages: Str(line one\n"
        "line (two))\n"
        "     -> ids: Slice(Int(1), Int(2))\n"
        "     -> empty: Str()\n"
    )
    [span] = servers.parse_rotel_debug_log(log)
    assert span.trace_id == "def9e4897edcf904edf75960a6444ed0"
    assert span.parent_span_id is None
    assert span.span_id == "ade709cceb92a267"
    assert span.attribute_values() == {
        "gen_ai.input.messages": "line one\nline (two)",
        "ids": [1, 2],
        "empty": "",
    }
    assert span.resource_values() == {"service.name": "svc"}
    assert servers.parse_rotel_debug_log("nothing here\n") == []


# --------------------------------------------------------------------------
# Phoenix
# --------------------------------------------------------------------------


@pytest.fixture
def project() -> str:
    return f"evaltrace-stack-{uuid.uuid4().hex[:10]}"


def assert_phoenix_trace(spans: list[dict[str, Any]], sent: Sent) -> None:
    by_id = {s["context"]["span_id"]: s for s in spans if s["context"]["trace_id"] == sent.trace_id}
    assert set(by_id) == {sent.parent_span_id, sent.child_span_id}
    parent, child = by_id[sent.parent_span_id], by_id[sent.child_span_id]

    assert parent["parent_id"] is None
    assert parent["name"] == f"evaluate {sent.run_id}"
    assert parent["attributes"]["evaltrace.run.id"] == sent.run_id

    assert child["parent_id"] == sent.parent_span_id
    assert child["name"] == "chat gpt-4o-mini"
    assert child["status_code"] == "ERROR"
    assert child["status_message"] == "upstream timed out"
    attrs = child["attributes"]
    for key, value in CHILD_ATTRIBUTES.items():
        assert attrs[key] == _expected_value(value), key
    assert type(attrs["gen_ai.usage.input_tokens"]) is int
    assert type(attrs["gen_ai.request.temperature"]) is float
    assert attrs["evaltrace.streamed"] is False
    [event] = child["events"]
    assert event["name"] == "gen_ai.evaluation.result"
    assert event["attributes"] == {
        "gen_ai.evaluation.name": "relevance",
        "gen_ai.evaluation.score.value": 0.75,
    }


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_phoenix_stores_genai_spans(
    phoenix: servers.PhoenixServer, project: str, protocol: str
) -> None:
    exporter = make_exporter(
        protocol, grpc_endpoint=phoenix.grpc_endpoint, http_traces_url=phoenix.otlp_http_traces_url
    )
    sent = export_genai_trace(exporter, project=project)
    spans = phoenix.wait_for_spans(
        lambda s: len(s) >= 2, project=project, what=f"2 spans of project {project} in Phoenix"
    )
    assert_phoenix_trace(spans, sent)
    # Filtering by trace id goes through the same endpoint.
    assert {
        s["context"]["span_id"] for s in phoenix.get_spans(project, trace_ids=[sent.trace_id])
    } == {
        sent.parent_span_id,
        sent.child_span_id,
    }


def test_phoenix_pagination_returns_every_span(
    phoenix: servers.PhoenixServer, project: str
) -> None:
    exporter = make_exporter("grpc", grpc_endpoint=phoenix.grpc_endpoint, http_traces_url="")
    sent = export_genai_trace(exporter, project=project, extra_children=5)  # 7 spans
    phoenix.wait_for_spans(lambda s: len(s) >= 7, project=project, what="7 spans in Phoenix")
    page_of_3 = phoenix.get_json(f"/v1/projects/{project}/spans", [("limit", "3")])
    assert len(page_of_3["data"]) == 3 and page_of_3["next_cursor"]
    spans = phoenix.get_spans(project, page_size=3)
    ids = [s["context"]["span_id"] for s in spans]
    assert len(ids) == 7 == len(set(ids))
    assert {s["context"]["trace_id"] for s in spans} == {sent.trace_id}


def test_phoenix_unknown_project_is_empty(phoenix: servers.PhoenixServer) -> None:
    assert phoenix.get_spans(f"no-such-project-{uuid.uuid4().hex[:8]}") == []


def test_phoenix_listens_only_on_loopback(phoenix: servers.PhoenixServer) -> None:
    addresses = servers.listening_addresses(phoenix.process.pid)
    ports = {port for _, port in addresses}
    assert {phoenix.port, phoenix.grpc_port} <= ports, addresses
    assert all(servers.is_loopback(addr) for addr, _ in addresses), addresses


# --------------------------------------------------------------------------
# evaltrace-style pipeline: SDK -> rotel -> Phoenix
# --------------------------------------------------------------------------


@pytest.fixture(params=["grpc", "http"])
def forwarding_rotel(
    request: pytest.FixtureRequest,
    phoenix: servers.PhoenixServer,
    servers_venv: Path,
    tmp_path: Path,
) -> Iterator[servers.RotelAgent]:
    protocol = request.param
    target = f"http://{phoenix.grpc_endpoint}" if protocol == "grpc" else phoenix.base_url
    with servers.run_rotel(
        tmp_path / "rotel-fwd", forward_to=target, forward_protocol=protocol, venv=servers_venv
    ) as agent:
        yield agent


def test_rotel_forwards_to_phoenix(
    forwarding_rotel: servers.RotelAgent, phoenix: servers.PhoenixServer, project: str
) -> None:
    exporter = make_exporter(
        "grpc", grpc_endpoint=forwarding_rotel.grpc_endpoint, http_traces_url=""
    )
    sent = export_genai_trace(exporter, project=project)
    # rotel saw it ...
    assert_rotel_trace(forwarding_rotel.wait_for_spans(_has_trace(sent)), sent)
    # ... and passed it on, ids and attributes intact.
    spans = phoenix.wait_for_spans(
        lambda s: len(s) >= 2, project=project, what=f"forwarded spans of {project} in Phoenix"
    )
    assert_phoenix_trace(spans, sent)
