"""``SpanNode``: a read-only view of one span record in a case's tree."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from evaltrace.tracing import _attributes as attr
from evaltrace.tracing._conventions import agent_name_of, operation_of
from evaltrace.tracing._query import Queryable
from evaltrace.tracing._record import SpanEvent, SpanRecord

__all__ = ["SpanNode", "datetime_of", "link_records"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_AGENT = "invoke_agent"


def datetime_of(nanoseconds: int) -> datetime:
    """A time in ns since the epoch as an aware UTC datetime (to the microsecond)."""
    return _EPOCH + timedelta(microseconds=nanoseconds // 1000)


class SpanNode(Queryable["SpanNode"]):
    """One span of a case's tree: its record, its parent and its children.

    ``find`` / ``first`` / ``any`` / ``count`` search the node's subtree: the
    node itself and its descendants, in start order.
    """

    __slots__ = ("_children", "_operation", "_order", "_orphan", "_parent", "_record")

    def __init__(self, record: SpanRecord, order: int) -> None:
        """A node for ``record``, the ``order``-th span of its tree in start order."""
        self._record = record
        self._order = order
        self._operation = operation_of(record.attributes)
        self._parent: SpanNode | None = None
        self._children: list[SpanNode] = []
        self._orphan = False

    @property
    def record(self) -> SpanRecord:
        """The span's record, as the reader produced it."""
        return self._record

    @property
    def name(self) -> str:
        """The span's name."""
        return self._record.name

    @property
    def span_id(self) -> str:
        """The span id, 16 hex digits."""
        return self._record.span_hex

    @property
    def trace_id(self) -> str:
        """The trace id, 32 hex digits."""
        return self._record.trace_hex

    @property
    def parent_span_id(self) -> str | None:
        """The parent's id as the span recorded it (hex), whether or not the parent is here."""
        parent = self._record.parent_span_id
        return None if parent is None else f"{parent:016x}"

    @property
    def parent(self) -> SpanNode | None:
        """The parent node (for an orphan: the case's root, or None)."""
        return self._parent

    @property
    def children(self) -> tuple[SpanNode, ...]:
        """The child nodes, in start order."""
        return tuple(self._children)

    @property
    def orphan(self) -> bool:
        """True when the recorded parent is not in the tree (dropped, or a cycle cut)."""
        return self._orphan

    @property
    def attributes(self) -> Mapping[str, Any]:
        """The span's attributes (read-only)."""
        attributes = self._record.attributes
        return MappingProxyType(attributes) if isinstance(attributes, dict) else attributes

    @property
    def events(self) -> Sequence[SpanEvent]:
        """The span's events."""
        return self._record.events

    @property
    def kind(self) -> str:
        """``internal``, ``client``, ``server``, ``producer`` or ``consumer``."""
        return self._record.kind

    @property
    def scope(self) -> str | None:
        """The instrumentation scope (tracer name) that recorded the span."""
        return self._record.scope

    @property
    def start_time(self) -> datetime:
        """When the span started (UTC)."""
        return datetime_of(self._record.start_time)

    @property
    def end_time(self) -> datetime:
        """When the span ended (UTC)."""
        return datetime_of(self._record.end_time)

    @property
    def duration(self) -> float:
        """Seconds from start to end."""
        return self._record.duration

    @property
    def operation(self) -> str | None:
        """The GenAI operation, in whatever convention the span spells it (``operation_of``)."""
        return self._operation

    @property
    def agent_name(self) -> str | None:
        """The agent the span names (``gen_ai.agent.name`` / ``agent.name``); for an agent
        span that names none, its span name."""
        name = agent_name_of(self._record.attributes)
        if name is None and self._operation == _AGENT:
            return self.name.removeprefix(f"{_AGENT} ")
        return name

    @property
    def agent_name_recorded(self) -> bool:
        """True when the span's attributes name an agent (not only its span name)."""
        return agent_name_of(self._record.attributes) is not None

    @property
    def status(self) -> str:
        """``unset``, ``ok`` or ``error``."""
        return self._record.status

    @property
    def error(self) -> str | None:
        """What failed, for a span with error status: ``error.type: message``; else None."""
        record = self._record
        if record.status != "error":
            return None
        error_type = record.attributes.get(attr.ERROR_TYPE)
        parts = [str(part) for part in (error_type, record.status_message) if part]
        return ": ".join(parts) or "error"

    def ancestors(self) -> list[SpanNode]:
        """The parent, its parent... up to the top of the tree."""
        found: list[SpanNode] = []
        node = self._parent
        while node is not None:
            found.append(node)
            node = node._parent
        return found

    def descendants(self) -> list[SpanNode]:
        """Every node below this one, in start order."""
        found: list[SpanNode] = []
        stack = list(self._children)
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(node._children)
        found.sort(key=_order)
        return found

    def _searched(self) -> list[SpanNode]:
        return [self, *self.descendants()]

    def __repr__(self) -> str:
        return f"SpanNode({self.name!r}, span_id={self.span_id!r}, operation={self.operation!r})"


def _order(node: SpanNode) -> int:
    return node._order


def link_records(
    records: Iterable[SpanRecord], root_span_id: int | None
) -> tuple[list[SpanNode], SpanNode | None, set[int]]:
    """Nodes in start order, each linked to its parent and children; the root; missing ids.

    How orphans, cycles and repeated ids are placed: ``evaltrace.tracing._tree``.
    """
    unique: dict[int, SpanRecord] = {}
    for record in records:
        unique.setdefault(record.span_id, record)
    ordered = sorted(unique.values(), key=lambda record: record.start_time)
    nodes = [SpanNode(record, order) for order, record in enumerate(ordered)]
    by_id = {node.record.span_id: node for node in nodes}
    root = by_id.get(root_span_id) if root_span_id is not None else None
    missing: set[int] = set()
    for node in nodes:
        parent_id = node.record.parent_span_id
        if parent_id is None:
            continue
        parent = by_id.get(parent_id) if parent_id != node.record.span_id else None
        if parent is None and node is not root and parent_id != root_span_id:
            if parent_id not in by_id:
                missing.add(parent_id)
            node._orphan = True
            parent = root
        node._parent = parent
    _cut_cycles(nodes)
    for node in nodes:  # in start order: so are the children
        if node._parent is not None:
            node._parent._children.append(node)
    return nodes, root, missing


def _cut_cycles(nodes: Sequence[SpanNode]) -> None:
    """Make every parent chain end: a chain that comes back on itself is cut there."""
    reaches_top: set[SpanNode] = set()
    for node in nodes:
        path: list[SpanNode] = []
        on_path: set[SpanNode] = set()
        current: SpanNode | None = node
        while current is not None and current not in reaches_top:
            if current in on_path:
                current._parent = None
                current._orphan = True
                break
            path.append(current)
            on_path.add(current)
            current = current._parent
        reaches_top.update(path)
