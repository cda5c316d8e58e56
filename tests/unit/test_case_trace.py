"""CaseTrace: a case's spans as a tree, its tool calls, agents, model calls and trajectory.

The fixtures (``tests/fixtures/agent_spans``) are real runs of one scripted
weather agent under each framework and GenAI instrumentation; each carries the
tools its run really invoked, which ``tool_calls()`` must give back exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaltrace._interaction import LLMInteraction
from evaltrace.exceptions import ConfigurationError
from evaltrace.tracing import (
    CaseTrace,
    SpanEvent,
    SpanNode,
    SpanRecord,
    Step,
    inherit_all,
    interaction_of,
    validate_query,
)
from evaltrace.tracing._conventions import is_inference, operation_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agent_spans"
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))
TRACE = 0x5B8EFFF798038103D269B633813FC700
CASE_SPAN = 0xCA5E

# -- reading the fixtures -----------------------------------------------------------


def fixture_record(span: Mapping[str, Any]) -> SpanRecord:
    """One fixture span (ids hex, times ns) as a ``SpanRecord``."""
    parent = span.get("parent_span_id")
    return SpanRecord(
        trace_id=int(span["trace_id"], 16),
        span_id=int(span["span_id"], 16),
        name=span["name"],
        start_time=span["start_time"],
        end_time=span["end_time"],
        attributes=span["attributes"],
        parent_span_id=int(parent, 16) if parent else None,
        kind=span["kind"].lower(),
        status=span["status"].lower(),
        events=[
            SpanEvent(e["name"], e["timestamp"], e.get("attributes") or {})
            for e in span.get("events") or ()
        ],
        scope=span.get("scope"),
    )


def interactions_of(records: Sequence[SpanRecord]) -> list[LLMInteraction]:
    """The model calls among ``records``, as the collector makes them (a call in a call once)."""
    inherited = inherit_all(records)
    by_id = {record.span_id: record for record in records}
    calls = []
    for record in records:
        parent = by_id.get(record.parent_span_id or -1)
        in_call = parent is not None and inherited[parent.span_id].in_call
        if is_inference(record.attributes) and not in_call:
            calls.append(interaction_of(record, inherited[record.span_id]))
    return calls


def load(path: Path, *, under_case: bool = False) -> tuple[CaseTrace, dict[str, Any]]:
    """The fixture's trace; ``under_case``: its top spans under an open (absent) case span."""
    data = json.loads(path.read_text())
    records = [fixture_record(span) for span in data["spans"]]
    if under_case:
        records = [r._replace(parent_span_id=r.parent_span_id or CASE_SPAN) for r in records]
    root = CASE_SPAN if under_case else None
    trace = CaseTrace.from_records(records, interactions_of(records), root_span_id=root)
    return trace, data["run"]


# -- the fixtures: every framework and instrumentation -------------------------------


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
@pytest.mark.parametrize("under_case", [False, True], ids=["alone", "under-open-case"])
def test_tool_calls_are_what_the_tools_really_ran(path: Path, under_case: bool) -> None:
    trace, run = load(path, under_case=under_case)
    calls = trace.tool_calls()
    seen = [{"name": c.name, "arguments": c.arguments, "result": c.result} for c in calls]
    assert seen == run["tool_invocations"]
    assert len({c.span_id for c in calls}) == len(calls)  # one span each: nothing twice
    assert all(trace.get(c.span_id or "") is not None for c in calls)
    assert trace.missing_parents == ()


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_model_calls_and_agents_are_counted_once(path: Path) -> None:
    trace, run = load(path)
    calls = trace.model_calls()
    assert len(calls) == run["model_requests"]
    assert [c.timestamp for c in calls] == sorted(c.timestamp for c in calls)
    assert [agent.agent_name for agent in trace.agents()] == ["weather_agent"]


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_call_ids_tie_each_run_to_its_request_where_the_spans_carry_them(path: Path) -> None:
    trace, _ = load(path)
    requested = [c.call_id for c in trace.tool_requests()]
    ran = [c.call_id for c in trace.tool_calls()]
    if requested:  # OpenLLMetry's OpenAI Agents spans record no requests
        assert ran == requested == ["call_w1", "call_w2", "call_c1"]


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_the_trajectory_has_every_step_once_in_order(path: Path) -> None:
    trace, run = load(path)
    steps = trace.trajectory()
    kinds = [step.kind for step in steps]
    assert kinds.count("agent") == 1 and kinds[0] == "agent"
    assert kinds.count("model") == run["model_requests"]
    assert kinds.count("tool") == len(run["tool_invocations"])
    assert [s.start for s in steps] == sorted(s.start for s in steps)
    dumped = json.loads(json.dumps([step.model_dump(mode="json") for step in steps]))
    assert [Step.model_validate(step) for step in dumped] == steps
    text = trace.render()
    assert "tool get_weather" in text and "Paris" in text and text.startswith("1. agent")


def test_the_tree_of_a_fixture_under_the_open_case_span() -> None:
    trace, _ = load(FIXTURES / "openai-agents-openinference.json", under_case=True)
    assert trace.root is None
    (top,) = trace.roots
    assert top.name == "weather workflow" and top.parent_span_id == f"{CASE_SPAN:016x}"
    assert not top.orphan
    agent = trace.first(operation="invoke_agent", attributes={"agent.name": "weather_agent"})
    assert agent is not None
    assert [a.name for a in agent.ancestors()] == ["weather workflow", "weather workflow"]
    assert [c.name for c in agent.children] == ["turn"] * 4
    assert agent.count(operation="execute_tool") == 3


# -- operations in every convention ---------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "operation"),
    [
        ({"gen_ai.operation.name": "execute_tool"}, "execute_tool"),
        (
            {"gen_ai.operation.name": "invoke_agent", "openinference.span.kind": "LLM"},
            "invoke_agent",
        ),
        ({"openinference.span.kind": "LLM"}, "chat"),
        ({"openinference.span.kind": "TOOL"}, "execute_tool"),
        ({"openinference.span.kind": "AGENT"}, "invoke_agent"),
        ({"openinference.span.kind": "RETRIEVER"}, "retrieval"),
        ({"openinference.span.kind": "EMBEDDING"}, "embeddings"),
        ({"openinference.span.kind": "CHAIN"}, "workflow"),
        ({"openinference.span.kind": "SOMETHING_NEW"}, "something_new"),
        ({"traceloop.span.kind": "tool"}, "execute_tool"),
        ({"traceloop.span.kind": "agent"}, "invoke_agent"),
        ({"traceloop.span.kind": "workflow"}, "workflow"),
        ({"llm.request.type": "completion"}, "text_completion"),
        ({"llm.request.type": "embedding"}, "embeddings"),
        ({"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o"}, "chat"),
        ({"http.method": "GET"}, None),
    ],
)
def test_the_operation_is_read_in_every_convention(
    attributes: dict[str, Any], operation: str | None
) -> None:
    assert operation_of(attributes) == operation
    assert trace_of(span(1, attributes=attributes)).spans[0].operation == operation


# -- building hand-made traces ---------------------------------------------------------


def span(
    span_id: int,
    parent: int | None = None,
    name: str | None = None,
    *,
    start: int | None = None,
    end: int | None = None,
    attributes: Mapping[str, Any] | None = None,
    status: str = "unset",
    message: str | None = None,
) -> SpanRecord:
    begin = 1_700_000_000_000_000_000 + (span_id if start is None else start) * 1_000_000
    return SpanRecord(
        trace_id=TRACE,
        span_id=span_id,
        name=name or f"span {span_id}",
        start_time=begin,
        end_time=begin + 500_000 if end is None else begin + end,
        attributes=dict(attributes or {}),
        parent_span_id=parent,
        status=status,
        status_message=message,
    )


def trace_of(*records: SpanRecord, root: int | None = None) -> CaseTrace:
    return CaseTrace.from_records(records, interactions_of(records), root_span_id=root)


def tool_span(
    span_id: int,
    parent: int | None,
    tool: str,
    arguments: Any,
    result: Any = None,
    call_id: str | None = None,
) -> SpanRecord:
    attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool}
    if arguments is not None:
        attributes["gen_ai.tool.call.arguments"] = (
            arguments if isinstance(arguments, str) else json.dumps(arguments)
        )
    if result is not None:
        attributes["gen_ai.tool.call.result"] = result
    if call_id is not None:
        attributes["gen_ai.tool.call.id"] = call_id
    return span(span_id, parent, f"execute_tool {tool}", attributes=attributes)


def chat_span(span_id: int, parent: int | None, *calls: tuple[str, str, Any]) -> SpanRecord:
    """A model call whose output asks for ``calls`` (id, name, arguments)."""
    parts = [{"type": "tool_call", "id": i, "name": n, "arguments": a} for i, n, a in calls]
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 2,
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": parts}]),
    }
    return span(span_id, parent, "chat gpt-4o", attributes=attributes)


def names(nodes: Sequence[SpanNode]) -> list[str]:
    return [node.name for node in nodes]


@pytest.fixture
def shop() -> CaseTrace:
    """case > agent > (chat, search tool > http, pay tool [error]), and a late retrieval."""
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "shopper"}
    pay = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "pay"}
    return trace_of(
        span(1, None, "case 7", end=9_000_000_000),
        span(2, 1, "invoke_agent shopper", attributes={**agent, "tags": ("a", "b")}, end=5 * 10**9),
        chat_span(3, 2),
        tool_span(4, 2, "search", {"q": "shoes"}, "3 hits"),
        span(5, 4, "GET /search", attributes={"http.method": "GET"}),
        span(6, 2, "execute_tool pay", attributes=pay, status="error", message="card declined"),
        span(7, 1, "retrieve", attributes={"openinference.span.kind": "RETRIEVER"}),
        root=1,
    )


# -- the query API ---------------------------------------------------------------------


def test_spans_roots_and_relatives(shop: CaseTrace) -> None:
    assert len(shop) == 7 and names(shop.roots) == ["case 7"]
    assert shop.root is not None and shop.root.name == "case 7"
    agent = shop.first(operation="invoke_agent")
    assert agent is not None and agent.parent is shop.root
    assert names(agent.children) == ["chat gpt-4o", "execute_tool search", "execute_tool pay"]
    http = shop.get(5)
    assert http is not None and http is shop.get("0000000000000005")
    assert names(http.ancestors()) == ["execute_tool search", "invoke_agent shopper", "case 7"]
    below = ["chat gpt-4o", "execute_tool search", "GET /search", "execute_tool pay"]
    assert names(agent.descendants()) == below
    assert http.span_id == "0000000000000005" and http.trace_id == f"{TRACE:032x}"
    assert http.start_time < http.end_time and http.duration == pytest.approx(0.0005)
    assert http.start_time.tzinfo is UTC
    assert shop.get("not hex") is None and shop.get(99) is None
    with pytest.raises(TypeError):
        http.attributes["http.method"] = "POST"  # type: ignore[index]


def test_find_by_each_condition(shop: CaseTrace) -> None:
    assert names(shop.find(operation="execute_tool")) == ["execute_tool search", "execute_tool pay"]
    assert names(shop.find(name="retrieve")) == ["retrieve"]
    assert names(shop.find(name_contains="search")) == ["execute_tool search", "GET /search"]
    assert names(shop.find(name_matches=r"^execute_tool p")) == ["execute_tool pay"]
    assert names(shop.find(attributes={"gen_ai.tool.name": "search"})) == ["execute_tool search"]
    assert shop.count(attributes={"tags": ["a", "b"]}) == 1  # a JSON list matches a tuple
    assert shop.count(attributes={"gen_ai.tool.name": "search", "http.method": "GET"}) == 0
    assert names(shop.find(predicate=lambda n: n.kind == "internal" and n.error is not None)) == [
        "execute_tool pay"
    ]
    assert shop.count() == 7 and shop.find(operation="retrieval")[0].name == "retrieve"


def test_query_dicts_with_every_key(shop: CaseTrace) -> None:
    assert names(shop.find({"has_attribute_keys": ["http.method"]})) == ["GET /search"]
    assert names(shop.find({"min_duration": 4.0})) == ["case 7", "invoke_agent shopper"]
    assert shop.count({"max_duration": 1.0}) == 5
    assert names(shop.find({"error": True})) == ["execute_tool pay"]
    assert shop.count({"error": False}) == 6
    tools_or_chat = {"or_": [{"operation": "chat"}, {"operation": "execute_tool"}]}
    assert shop.count(tools_or_chat) == 3
    assert shop.count({"and_": [{"operation": "execute_tool"}, {"not_": {"error": True}}]}) == 1
    assert names(shop.find({"some_child": {"name_contains": "GET"}})) == ["execute_tool search"]
    above_error = ["case 7", "invoke_agent shopper"]
    assert names(shop.find({"some_descendant": {"error": True}})) == above_error
    assert names(shop.find({"some_ancestor": {"operation": "execute_tool"}})) == ["GET /search"]
    assert shop.count({"some_ancestor": {"operation": "invoke_agent"}, "operation": "chat"}) == 1


def test_a_query_and_keywords_must_all_hold(shop: CaseTrace) -> None:
    query = {"operation": "execute_tool"}
    assert names(shop.find(query, name_contains="pay")) == ["execute_tool pay"]
    assert shop.find(query, operation="chat") == []  # both say: both must hold
    assert shop.first(query, predicate=lambda n: n.error is None) is shop.get(4)
    assert shop.first(name="nothing") is None
    assert shop.any(query) and not shop.any(query, name="retrieve")


def test_a_node_searches_its_own_subtree(shop: CaseTrace) -> None:
    tool = shop.get(4)
    assert tool is not None
    assert names(tool.find()) == ["execute_tool search", "GET /search"]
    assert tool.count(operation="execute_tool") == 1 and not tool.any(operation="chat")
    assert tool.first({"some_ancestor": {"name": "case 7"}}) is tool


def test_a_query_from_a_dataset_file_is_checked() -> None:
    query = validate_query(json.loads('{"operation": "execute_tool", "not_": {"error": true}}'))
    assert query == {"operation": "execute_tool", "not_": {"error": True}}
    for bad in ({"name_equals": "x"}, {"min_duration": "long"}, {"and_": [{"nme": "x"}]}):
        with pytest.raises(ConfigurationError, match="not a span query"):
            validate_query(bad)
    with pytest.raises(ConfigurationError, match="name_matches"):
        CaseTrace.empty().find({"or_": [{"name_matches": "("}]})


def test_errors_and_status(shop: CaseTrace) -> None:
    pay = shop.first(name="execute_tool pay")
    assert pay is not None and pay.status == "error" and pay.error == "card declined"
    failed = trace_of(span(1, attributes={"error.type": "Timeout"}, status="error"))
    assert failed.spans[0].error == "Timeout"
    assert shop.get(4) is not None and shop.get(4).error is None  # type: ignore[union-attr]


# -- bad input -------------------------------------------------------------------------


def test_spans_whose_parent_is_missing_hang_under_the_case_span() -> None:
    trace = trace_of(span(1), span(2, 1), span(3, 0xDEAD), span(4, 3), span(5, 0xBEEF), root=1)
    assert trace.missing_parents == ("000000000000beef", "000000000000dead")
    assert names(trace.roots) == ["span 1"]
    assert trace.root is not None and names(trace.root.children) == ["span 2", "span 3", "span 5"]
    assert [n.orphan for n in trace.spans] == [False, False, True, False, True]
    assert trace.get(3).parent_span_id == "000000000000dead"  # type: ignore[union-attr]


def test_without_the_case_span_orphans_are_roots() -> None:
    trace = trace_of(span(2, 1), span(3, 0xDEAD), span(4, 3), root=1)
    assert trace.missing_parents == ("000000000000dead",)  # not the open case span
    assert names(trace.roots) == ["span 2", "span 3"] and trace.root is None
    assert trace.get(4).parent is trace.get(3)  # type: ignore[union-attr]


def test_cycles_and_repeated_ids_do_not_hang_or_lose_spans() -> None:
    trace = trace_of(span(1, 2), span(2, 1), span(3, 3), span(4, 1), span(4, None, "again"))
    assert sorted(n.record.span_id for n in trace.spans) == [1, 2, 3, 4]
    assert trace.get(4).name == "span 4"  # type: ignore[union-attr]  # the first record kept
    assert trace.missing_parents == ()
    reached = [d for r in trace.roots for d in (r, *r.descendants())]
    assert sorted(n.record.span_id for n in reached) == [1, 2, 3, 4]


def test_an_empty_case_is_an_empty_trace() -> None:
    for trace in (CaseTrace.empty(), CaseTrace.from_records([])):
        assert trace.spans == () and trace.roots == () and trace.root is None
        assert trace.tool_calls() == [] and trace.agents() == [] and trace.model_calls() == []
        assert trace.trajectory() == [] and trace.render() == "(no steps)"
        assert trace.find() == [] and trace.first() is None and not trace.any()
        assert trace.missing_parents == () and len(trace) == 0


def test_arguments_that_are_not_json_stay_the_raw_string() -> None:
    lookup = {"openinference.span.kind": "TOOL", "tool.name": "lookup", "input.value": "Paris"}
    trace = trace_of(
        tool_span(1, None, "shell", "ls -la {", result="total 0"),
        span(2, None, "lookup", attributes={**lookup, "output.value": "not json ["}),
        tool_span(3, None, "noargs", None),
    )
    calls = trace.tool_calls()
    assert [(c.name, c.arguments, c.result) for c in calls] == [
        ("shell", "ls -la {", "total 0"),
        ("lookup", "Paris", "not json ["),
        ("noargs", None, None),
    ]
    assert "tool shell(ls -la {) -> total 0" in trace.render()


def test_a_bare_argument_is_named_by_the_tool_schema() -> None:
    schema = json.dumps({"properties": {"city": {"type": "string"}}, "type": "object"})
    attributes = {"openinference.span.kind": "TOOL", "tool.name": "w", "input.value": "Oslo"}
    trace = trace_of(span(1, attributes={**attributes, "tool.parameters": schema}))
    assert trace.tool_calls()[0].arguments == {"city": "Oslo"}


# -- tool calls: spans, requests, and calls seen twice ----------------------------------


def test_requests_count_where_no_tool_span_ran_them() -> None:
    trace = trace_of(
        span(1),
        chat_span(2, 1, ("c1", "search", {"q": "x"}), ("c2", "clock", {})),
        tool_span(3, 1, "search", {"q": "x"}, "hits", call_id="c1"),
        chat_span(4, 1, ("c3", "search", {"q": "y"})),  # asked for, never run
    )
    calls = trace.tool_calls()
    assert [(c.name, c.call_id) for c in calls] == [("clock", "c2"), ("search", "c1")]
    assert calls[0].span_id == "0000000000000002"  # the model call that asked for it
    assert calls[1].span_id == "0000000000000003" and calls[1].result == "hits"
    assert [c.call_id for c in trace.tool_requests()] == ["c1", "c2", "c3"]


def test_only_requests_when_the_application_has_no_tool_spans() -> None:
    trace = trace_of(
        chat_span(1, None, ("a", "f", '{"x": 1}')), chat_span(2, None, ("b", "g", "{"))
    )
    assert [(c.name, c.arguments, c.call_id) for c in trace.tool_calls()] == [
        ("f", {"x": 1}, "a"),
        ("g", "{", "b"),
    ]
    assert [s.kind for s in trace.trajectory()] == ["model", "tool", "model", "tool"]


def test_a_span_without_call_id_matches_its_request_by_name_and_arguments_in_order() -> None:
    trace = trace_of(
        chat_span(
            1, None, ("r1", "get", {"k": 1}), ("r2", "get", {"k": 2}), ("r3", "get", {"k": 1})
        ),
        tool_span(2, None, "get", {"k": 2}),
        tool_span(3, None, "get", {"k": 1}),
        tool_span(4, None, "get", {"k": 1}),
    )
    assert [c.call_id for c in trace.tool_calls()] == ["r2", "r1", "r3"]


def test_a_tool_span_nested_in_a_span_of_the_same_call_counts_once() -> None:
    parse = {"openinference.span.kind": "TOOL", "tool.name": "parse", "input.value": "x"}
    trace = trace_of(
        tool_span(1, None, "fetch", {"url": "u"}),
        tool_span(2, 1, "fetch", {"url": "u"}, result="body", call_id="c9"),
        tool_span(3, 1, "fetch", {"url": "other"}),  # a different call: its own
        span(4, None, "fetch", attributes=parse),
        tool_span(5, 4, "parse", {"text": "x"}, result="parsed"),  # bare "x" == {"text": "x"}
    )
    calls = trace.tool_calls()
    assert [(c.name, c.arguments, c.result, c.call_id) for c in calls] == [
        ("fetch", {"url": "u"}, "body", "c9"),
        ("fetch", {"url": "other"}, None, None),
        ("parse", {"text": "x"}, "parsed", None),
    ]
    assert [c.span_id for c in calls] == [f"{i:016x}" for i in (1, 3, 4)]


def test_openllmetry_callback_wrappers_are_unwrapped() -> None:
    callback = {"input_str": "{'a': 1}", "inputs": None, "kwargs": {"tool_call_id": "t1"}}
    message = {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "ToolMessage"],
        "kwargs": {"content": "done", "tool_call_id": "t1"},
    }
    attributes = {
        "traceloop.span.kind": "tool",
        "traceloop.entity.name": "t",
        "traceloop.entity.input": json.dumps(callback),
        "traceloop.entity.output": json.dumps({"output": message}),
    }
    trace = trace_of(span(1, None, "t.tool", attributes=attributes))
    (call,) = trace.tool_calls()
    assert (call.name, call.arguments, call.result, call.call_id) == ("t", {"a": 1}, "done", "t1")


def test_agents_nested_duplicates_count_once() -> None:
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"}
    oi_agent = {"openinference.span.kind": "AGENT"}
    trace = trace_of(
        span(1, None, "invoke_agent planner", attributes=agent),
        span(2, 1, "planner.workflow", attributes=agent),  # the same agent, spelled twice
        span(3, 1, "agent", attributes=oi_agent),  # a graph node run inside the agent
        span(4, None, "graph", attributes=oi_agent),  # a lone unnamed agent: counts
        span(5, None, "workflow", attributes=oi_agent),  # wraps a named agent: a wrapper
        span(6, 5, "writer", attributes={**oi_agent, "agent.name": "writer"}),
        span(7, 6, "invoke_agent helper", attributes={**agent, "gen_ai.agent.name": "helper"}),
    )
    assert [(a.name, a.agent_name) for a in trace.agents()] == [
        ("invoke_agent planner", "planner"),
        ("graph", "graph"),
        ("writer", "writer"),
        ("invoke_agent helper", "helper"),
    ]


# -- the trajectory as text ------------------------------------------------------------


def test_the_trajectory_shows_failures(shop: CaseTrace) -> None:
    steps = shop.trajectory()
    assert [(s.kind, s.name) for s in steps] == [
        ("agent", "shopper"),
        ("model", "gpt-4o"),
        ("tool", "search"),
        ("tool", "pay"),
    ]
    assert steps[1].tokens == 12 and steps[3].error == "card declined" and steps[3].duration > 0
    assert shop.render().splitlines()[3] == "4. tool pay() ERROR card declined"


def test_render_cuts_long_values_and_keeps_the_budget() -> None:
    trace = trace_of(
        chat_span(1, None, ("c1", "read", {"path": "/a"})),
        tool_span(2, None, "read", {"path": "/a"}, result="x" * 5000, call_id="c1"),
    )
    text = trace.render(max_chars=600)
    assert len(text) <= 600
    assert re.search(r"tool read\(\{\"path\": \"/a\"\}\) -> x+…\[\d+ chars\]", text)
    cut = int(re.findall(r"…\[(\d+) chars\]", text)[-1])
    shown = len(text.splitlines()[-1].split(" -> ")[1].split("…")[0])
    assert shown + cut == 5000


def test_render_leaves_out_middle_steps_when_there_are_too_many() -> None:
    records = [tool_span(i, None, f"tool{i}", {"i": i}, result="ok") for i in range(1, 201)]
    trace = trace_of(*records)
    text = trace.render(max_chars=1000)
    assert len(text) <= 1000
    lines = text.splitlines()
    assert lines[0].startswith("1. tool tool1(") and lines[-1].startswith("200. tool tool200(")
    assert re.fullmatch(r"… \[\d+ steps left out\]", lines[len(lines) // 2])
    for budget in (0, 1, 5, 40):
        assert len(trace.render(max_chars=budget)) <= budget


# -- any parent links at all -----------------------------------------------------------

_IDS = st.integers(min_value=1, max_value=12)


@st.composite
def linked_records(draw: st.DrawFn) -> list[SpanRecord]:
    """Spans with unique ids, random parents (missing, self, cycles), random times and kinds."""
    ids = draw(st.lists(_IDS, unique=True, max_size=10))
    kinds = st.sampled_from(
        [
            {},
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "t",
                "gen_ai.tool.call.arguments": "{",
            },
            {"openinference.span.kind": "AGENT"},
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a"},
        ]
    )
    return [
        span(
            span_id,
            draw(st.none() | _IDS),
            start=draw(st.integers(0, 5)),
            attributes=draw(kinds),
        )
        for span_id in ids
    ]


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(records=linked_records(), root=st.none() | _IDS)
def test_any_parent_links_give_a_tree_with_every_span_once(
    records: list[SpanRecord], root: int | None
) -> None:
    trace = CaseTrace.from_records(records, root_span_id=root)
    assert sorted(n.record.span_id for n in trace.spans) == sorted(r.span_id for r in records)
    reached = [d for top in trace.roots for d in (top, *top.descendants())]
    assert sorted(n.record.span_id for n in reached) == sorted(r.span_id for r in records)
    for node in trace.spans:
        assert node.parent is None or node in node.parent.children
        assert len(node.ancestors()) < len(records)
    present = {r.span_id for r in records}
    wanted = {r.parent_span_id for r in records if r.span_id != root} - present - {None, root}
    assert trace.missing_parents == tuple(f"{i:016x}" for i in sorted(wanted))  # type: ignore[type-var]
    trace.tool_calls(), trace.agents(), trace.render(max_chars=200)
