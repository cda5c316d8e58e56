"""``CaseTrace``: the spans recorded under one evaluation case, as a tree metrics can read.

Built from the case's finished span records and its model calls
(``CaseTrace.from_records``), it answers what the application did: which
spans ran (``find`` / ``first`` / ``any`` / ``count`` with a ``SpanQuery``),
which tools it called with which arguments (``tool_calls``), which agents
ran (``agents``), its model calls (``model_calls``), all of it as steps
(``trajectory``) or as text for a judge (``render``).

How the tree is built (docs/agents.md):

* one node per span id (a repeated id keeps its first record), children in
  start order;
* the case span may be missing (it is still open while metrics run): its
  children are the tree's roots;
* a span whose parent is not among the records (dropped by a sampler or an
  exporter) is an orphan: it hangs under the case span when that is present,
  else it is a root, and ``missing_parents`` lists the ids not found;
* a cycle in bad data is cut where it is found; that span becomes a root.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from evaltrace._interaction import LLMInteraction, ToolCall
from evaltrace.tracing._node import SpanNode, datetime_of, link_records
from evaltrace.tracing._query import Queryable
from evaltrace.tracing._record import SpanRecord
from evaltrace.tracing._tools import (
    TimedCall,
    join_tool_calls,
    merge_nested,
    read_tool_span,
    same_arguments,
)
from evaltrace.tracing._trajectory import DEFAULT_RENDER_CHARS, Step, render_steps

__all__ = ["CaseTrace"]

_AGENT = "invoke_agent"
_TOOL = "execute_tool"
_EPOCH = datetime_of(0)
_KIND_ORDER: dict[Literal["model", "tool", "agent"], int] = {"agent": 0, "model": 1, "tool": 2}


class _Linked(NamedTuple):
    """A linked tree: nodes in start order, by id, the case span, the absent parents' ids."""

    nodes: tuple[SpanNode, ...]
    by_id: dict[int, SpanNode]
    root: SpanNode | None
    missing: tuple[str, ...]


def _linked(nodes: Sequence[SpanNode], root: SpanNode | None, missing: Iterable[int]) -> _Linked:
    ordered = tuple(nodes)
    return _Linked(
        ordered,
        {node.record.span_id: node for node in ordered},
        root,
        tuple(f"{span_id:016x}" for span_id in sorted(missing)),
    )


class CaseTrace(Queryable[SpanNode]):
    """The spans of one case as a read-only tree, and what the application did in them.

    ``find`` / ``first`` / ``any`` / ``count`` search every span, in start order.
    """

    __slots__ = ("_interactions", "_linked", "_pending", "_sorted", "_tools")

    def __init__(
        self,
        nodes: Sequence[SpanNode],
        root: SpanNode | None,
        missing: Iterable[int],
        interactions: Sequence[LLMInteraction],
    ) -> None:
        """A trace over linked ``nodes``; use ``from_records`` or ``empty``."""
        self._linked: _Linked | None = _linked(nodes, root, missing)
        self._pending: tuple[Sequence[SpanRecord], int | None] | None = None
        self._interactions = tuple(interactions)
        self._sorted = False
        self._tools: list[TimedCall] | None = None

    @classmethod
    def from_records(
        cls,
        records: Iterable[SpanRecord],
        interactions: Sequence[LLMInteraction] = (),
        root_span_id: int | None = None,
    ) -> CaseTrace:
        """The tree of ``records`` (any order), with the case's model calls.

        ``root_span_id`` is the case span's id; the case span itself may be
        absent from ``records`` (still open while its metrics run). Never
        raises on bad data: orphans, cycles and repeated ids are placed as the
        module docstring says. The records are linked into a tree the first
        time the trace is read, so a run whose metrics never read it pays
        only for keeping them.
        """
        trace = cls((), None, (), interactions)
        trace._linked = None
        trace._pending = (tuple(records), root_span_id)
        return trace

    @classmethod
    def empty(cls) -> CaseTrace:
        """A trace with no spans and no model calls."""
        return cls((), None, (), ())

    @property
    def _tree(self) -> _Linked:
        """The linked tree, built from the pending records on first use."""
        linked = self._linked
        if linked is None:
            records, root_span_id = self._pending or ((), None)
            linked = self._linked = _linked(*link_records(records, root_span_id))
            self._pending = None
        return linked

    @property
    def spans(self) -> tuple[SpanNode, ...]:
        """Every span, in start order."""
        return self._tree.nodes

    @property
    def roots(self) -> tuple[SpanNode, ...]:
        """The spans with no parent in the tree, in start order (the case span, when present)."""
        return tuple(node for node in self._tree.nodes if node.parent is None)

    @property
    def root(self) -> SpanNode | None:
        """The case span, when it is among the records."""
        return self._tree.root

    @property
    def missing_parents(self) -> tuple[str, ...]:
        """Ids (hex, sorted) of parents that spans name but the records lack."""
        return self._tree.missing

    def get(self, span_id: str | int) -> SpanNode | None:
        """The span with this id (hex or integer), or None."""
        if isinstance(span_id, str):
            try:
                span_id = int(span_id, 16)
            except ValueError:
                return None
        return self._tree.by_id.get(span_id)

    def __len__(self) -> int:
        return len(self._tree.nodes)

    def __iter__(self) -> Iterator[SpanNode]:
        return iter(self._tree.nodes)

    def __repr__(self) -> str:
        return (
            f"CaseTrace({len(self)} spans, {len(self._interactions)} model calls, "
            f"missing_parents={list(self.missing_parents)})"
        )

    def _searched(self) -> Sequence[SpanNode]:
        return self._tree.nodes

    def model_calls(self) -> list[LLMInteraction]:
        """The case's model calls, in start order."""
        if not self._sorted:  # sorted on first read, like the tree
            self._interactions = tuple(sorted(self._interactions, key=_timestamp))
            self._sorted = True
        return list(self._interactions)

    def tool_calls(self) -> list[ToolCall]:
        """Every tool call of the case, once each, in time order (docs/agents.md: the rules).

        Read from tool execution spans in every spelling; tool-call requests in
        the model outputs count where no tool span ran them.
        """
        return [timed.call for timed in self._timed_tool_calls]

    def tool_requests(self) -> list[ToolCall]:
        """The tool calls the models asked for, as their outputs say, in order (run or not)."""
        return [timed.call for timed in self._requests()]

    def agents(self) -> list[SpanNode]:
        """The agent spans, one per agent run (``SpanNode.agent_name`` names it), in start order.

        Nested duplicates are left out: an agent span inside another agent
        span of the same name, and a span marked agent that names no agent
        but sits inside another agent span (a LangGraph node run) or around a
        named one (an OpenAI Agents workflow).
        """
        return [node for node in self._tree.nodes if node.operation == _AGENT and _is_agent(node)]

    def trajectory(self) -> list[Step]:
        """Agents, model calls and tool calls as steps, in start order."""
        steps = [*map(_agent_step, self.agents()), *map(_model_step, self.model_calls())]
        steps += [self._tool_step(timed) for timed in self._timed_tool_calls]
        steps.sort(key=lambda step: (step.start, _KIND_ORDER[step.kind]))
        return steps

    def render(self, max_chars: int = DEFAULT_RENDER_CHARS) -> str:
        """The trajectory as numbered lines for a judge, at most ``max_chars`` characters."""
        return render_steps(self.trajectory(), max_chars)

    @property
    def _timed_tool_calls(self) -> list[TimedCall]:
        if self._tools is None:
            self._tools = join_tool_calls(self._executed(), self._requests())
        return self._tools

    def _executed(self) -> list[TimedCall]:
        """The calls of the tool spans, a span nested in a span of the same call merged into it."""
        tools = [node for node in self._tree.nodes if node.operation == _TOOL]
        calls: dict[SpanNode, ToolCall] = {}
        for node in sorted(tools, key=lambda n: len(n.ancestors())):  # outer spans first
            call = read_tool_span(node.attributes, node.name, node.span_id)
            outer = next((a for a in node.ancestors() if _same(calls.get(a), call)), None)
            if outer is None:
                calls[node] = call
            else:
                calls[outer] = merge_nested(calls[outer], call)
        return [TimedCall(node.record.start_time, calls[node]) for node in tools if node in calls]

    def _requests(self) -> list[TimedCall]:
        requested: list[TimedCall] = []
        for interaction in self.model_calls():
            end = _nanoseconds(interaction.timestamp) + int(interaction.latency * 1e9)
            for call in interaction.tool_calls:
                if call.span_id is None:
                    call = call.model_copy(update={"span_id": interaction.span_id})
                requested.append(TimedCall(end, call))
        return requested

    def _tool_step(self, timed: TimedCall) -> Step:
        call = timed.call
        node = self.get(call.span_id) if call.span_id else None
        if node is None or node.operation != _TOOL:  # known from a model's request only
            start, duration, error = datetime_of(timed.time), 0.0, None
        else:
            start, duration, error = node.start_time, node.duration, node.error
        return Step(
            kind="tool",
            name=call.name,
            arguments=call.arguments,
            result=call.result,
            span_id=call.span_id,
            start=start,
            duration=duration,
            error=error,
        )


def _is_agent(node: SpanNode) -> bool:
    """False for a nested duplicate of an agent span (see ``CaseTrace.agents``)."""
    above = [a for a in node.ancestors() if a.operation == _AGENT]
    if node.agent_name_recorded:
        return not any(a.agent_name == node.agent_name for a in above)
    if above:
        return False
    return not any(d.operation == _AGENT and d.agent_name_recorded for d in node.descendants())


def _same(outer: ToolCall | None, inner: ToolCall) -> bool:
    return (
        outer is not None
        and outer.name == inner.name
        and same_arguments(outer.arguments, inner.arguments)
    )


def _agent_step(node: SpanNode) -> Step:
    return Step(
        kind="agent",
        name=node.agent_name or node.name,
        span_id=node.span_id,
        start=node.start_time,
        duration=node.duration,
        error=node.error,
    )


def _model_step(call: LLMInteraction) -> Step:
    known = call.input_tokens is not None or call.output_tokens is not None
    return Step(
        kind="model",
        name=call.model or call.response_model or "model",
        result=call.response or None,
        span_id=call.span_id or None,
        start=call.timestamp,
        duration=call.latency,
        tokens=call.tokens_used if known or call.tokens_used else None,
        error=call.error,
    )


def _timestamp(call: LLMInteraction) -> datetime:
    return call.timestamp


def _nanoseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000
