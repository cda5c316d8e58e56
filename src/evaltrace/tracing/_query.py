"""Span queries: which spans of a case's tree a metric is looking for, as plain data.

A ``SpanQuery`` is a dict of conditions a span must all meet, so a query can
sit in a dataset file next to the case it checks (the idea and the key order
come from pydantic_evals' ``SpanQuery``). Cheap conditions on the span itself
come first, then ``and_`` / ``or_`` / ``not_``, then the span's relatives::

    {"operation": "execute_tool", "attributes": {"gen_ai.tool.name": "get_weather"}}
    {"operation": "invoke_agent", "some_descendant": {"name_matches": "^execute_tool "}}

``Queryable`` gives a class that lists spans ``find`` / ``first`` / ``any`` /
``count``, taking a query, keyword conditions (the same keys), a predicate, or
all three at once (every condition must hold).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any, Generic, Protocol, Self, TypeVar, Unpack

from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from evaltrace.exceptions import ConfigurationError

__all__ = ["Conditions", "QueryNode", "Queryable", "SpanQuery", "matches", "validate_query"]


@with_config(ConfigDict(extra="forbid"))
class SpanQuery(TypedDict, total=False):
    """Conditions a span must all meet (an empty query matches every span).

    ``operation``: the span's GenAI operation (``SpanNode.operation``).
    ``name`` / ``name_contains`` / ``name_matches``: the span's name equals,
    contains, or matches the regular expression (``re.search``).
    ``attributes``: each attribute equals the value given (lists and tuples
    alike); ``has_attribute_keys``: each key is present.
    ``min_duration`` / ``max_duration``: seconds, inclusive.
    ``error``: True for a span whose status is error, False for the others.
    ``and_``: every sub-query holds; ``or_``: at least one; ``not_``: it does not.
    ``some_child`` / ``some_descendant`` / ``some_ancestor``: a relative matches.
    """

    operation: str
    name: str
    name_contains: str
    name_matches: str
    attributes: dict[str, Any]
    has_attribute_keys: list[str]
    min_duration: float
    max_duration: float
    error: bool
    and_: list[SpanQuery]
    or_: list[SpanQuery]
    not_: SpanQuery
    some_child: SpanQuery
    some_descendant: SpanQuery
    some_ancestor: SpanQuery


class QueryNode(Protocol):
    """What a query reads of a span (``SpanNode`` is one)."""

    @property
    def name(self) -> str: ...  # noqa: D102
    @property
    def attributes(self) -> Mapping[str, Any]: ...  # noqa: D102
    @property
    def operation(self) -> str | None: ...  # noqa: D102
    @property
    def duration(self) -> float: ...  # noqa: D102
    @property
    def status(self) -> str: ...  # noqa: D102
    @property
    def children(self) -> Sequence[Self]: ...  # noqa: D102
    def ancestors(self) -> Sequence[Self]: ...  # noqa: D102
    def descendants(self) -> Sequence[Self]: ...  # noqa: D102


Node = TypeVar("Node", bound=QueryNode)


@cache
def _adapter() -> TypeAdapter[SpanQuery]:
    return TypeAdapter(SpanQuery)


def validate_query(query: Mapping[str, Any]) -> SpanQuery:
    """``query`` checked against ``SpanQuery`` (a dataset file's query, say).

    Raises:
        ConfigurationError: an unknown key, a value of the wrong type, or a
            ``name_matches`` that is not a regular expression.
    """
    try:
        checked = _adapter().validate_python(query)
    except ValidationError as error:
        raise ConfigurationError(f"not a span query: {error}") from None
    _check_patterns(checked)
    return checked


def _check_patterns(query: SpanQuery) -> None:
    pattern = query.get("name_matches")
    if pattern is not None:
        try:
            _regex(pattern)
        except re.error as error:
            raise ConfigurationError(f"name_matches {pattern!r}: {error}") from None
    subs = [query.get("not_"), query.get("some_child"), query.get("some_descendant")]
    subs += [query.get("some_ancestor"), *query.get("and_", ()), *query.get("or_", ())]
    for sub in subs:
        if sub is not None:
            _check_patterns(sub)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def matches(node: QueryNode, query: SpanQuery) -> bool:
    """True when ``node`` meets every condition of ``query`` (already validated)."""
    return _own(node, query) and _combined(node, query) and _relatives(node, query)


def _own(node: QueryNode, query: SpanQuery) -> bool:
    """The conditions on the span itself: cheap, checked first."""
    if "operation" in query and node.operation != query["operation"]:
        return False
    name = node.name
    if "name" in query and name != query["name"]:
        return False
    if "name_contains" in query and query["name_contains"] not in name:
        return False
    if "name_matches" in query and _regex(query["name_matches"]).search(name) is None:
        return False
    if "attributes" in query and not _has_attributes(node.attributes, query["attributes"]):
        return False
    if "has_attribute_keys" in query:
        attributes = node.attributes
        if any(key not in attributes for key in query["has_attribute_keys"]):
            return False
    if "min_duration" in query and node.duration < query["min_duration"]:
        return False
    if "max_duration" in query and node.duration > query["max_duration"]:
        return False
    return "error" not in query or (node.status == "error") == query["error"]


def _combined(node: QueryNode, query: SpanQuery) -> bool:
    if "and_" in query and not all(matches(node, sub) for sub in query["and_"]):
        return False
    if "or_" in query and not any(matches(node, sub) for sub in query["or_"]):
        return False
    return "not_" not in query or not matches(node, query["not_"])


def _relatives(node: QueryNode, query: SpanQuery) -> bool:
    if "some_child" in query and not any(matches(c, query["some_child"]) for c in node.children):
        return False
    if "some_descendant" in query:
        sub = query["some_descendant"]
        if not any(matches(d, sub) for d in node.descendants()):
            return False
    if "some_ancestor" in query:
        return any(matches(a, query["some_ancestor"]) for a in node.ancestors())
    return True


def _has_attributes(attributes: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    missing = object()
    for key, value in wanted.items():
        found = attributes.get(key, missing)
        if found is missing or _plain(found) != _plain(value):
            return False
    return True


def _plain(value: Any) -> Any:
    """Sequences as lists: an OTel attribute holds a tuple where a JSON query holds a list."""
    return list(value) if isinstance(value, tuple | list) else value


class Conditions(TypedDict, total=False):
    """The keyword conditions of ``find`` and friends: ``SpanQuery``'s own keys (None: any)."""

    operation: str | None
    name: str | None
    name_contains: str | None
    name_matches: str | None
    attributes: Mapping[str, Any] | None


class Queryable(ABC, Generic[Node]):
    """``find`` / ``first`` / ``any`` / ``count`` over the spans ``_searched`` lists.

    Each takes a ``query`` (a ``SpanQuery`` dict), keyword conditions
    (``operation``, ``name``, ``name_contains``, ``name_matches``,
    ``attributes``) and a ``predicate`` on the span; a span must meet them all.
    """

    __slots__ = ()

    @abstractmethod
    def _searched(self) -> Iterable[Node]:
        """The spans a query looks at, in start order."""

    def find(
        self,
        query: Mapping[str, Any] | None = None,
        *,
        predicate: Callable[[Node], bool] | None = None,
        **conditions: Unpack[Conditions],
    ) -> list[Node]:
        """The spans meeting ``query``, the keyword conditions and ``predicate``, in start order.

        Raises:
            ConfigurationError: ``query`` (or a condition) is not a valid ``SpanQuery``.
        """
        return list(self._matching(query, predicate, conditions))

    def first(
        self,
        query: Mapping[str, Any] | None = None,
        *,
        predicate: Callable[[Node], bool] | None = None,
        **conditions: Unpack[Conditions],
    ) -> Node | None:
        """The first span (in start order) that ``find`` would list, or None."""
        return next(self._matching(query, predicate, conditions), None)

    def any(
        self,
        query: Mapping[str, Any] | None = None,
        *,
        predicate: Callable[[Node], bool] | None = None,
        **conditions: Unpack[Conditions],
    ) -> bool:
        """True when ``find`` would list at least one span."""
        return next(self._matching(query, predicate, conditions), None) is not None

    def count(
        self,
        query: Mapping[str, Any] | None = None,
        *,
        predicate: Callable[[Node], bool] | None = None,
        **conditions: Unpack[Conditions],
    ) -> int:
        """How many spans ``find`` would list."""
        return sum(1 for _ in self._matching(query, predicate, conditions))

    def _matching(
        self,
        query: Mapping[str, Any] | None,
        predicate: Callable[[Node], bool] | None,
        conditions: Conditions,
    ) -> Iterator[Node]:
        given: dict[str, Any] = {k: v for k, v in conditions.items() if v is not None}
        both = query is not None and given
        checked = validate_query({"and_": [query, given]} if both else query or given)
        for node in self._searched():
            if matches(node, checked) and (predicate is None or predicate(node)):
                yield node
