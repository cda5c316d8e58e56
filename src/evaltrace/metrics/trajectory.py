"""Trajectory metrics: score what the application did, read from the case's trace.

Each metric reads ``MetricContext.trace`` (a ``CaseTrace``): the tool calls
(``trace.tool_calls()``, once each, from tool spans or from the models' tool
requests), the model calls and the spans. They work for any instrumented
framework, because the trace is the OpenTelemetry GenAI one (docs/agents.md).

* ``ToolCalled``: a tool was called (or never called), optionally with
  matching arguments: exact, JSON subset, or judged by the judge model.
* ``ToolSequence``: the tools ran as expected: the exact sequence, an
  in-order subsequence, or in any order.
* ``Budget``: limits per case on model calls, tool calls, tokens, cost and
  wall time.
* ``TrajectoryJudge``: the judge rates the trajectory itself, read as
  numbered steps (``CaseTrace.render``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from evaltrace._interaction import ToolCall
from evaltrace._values import as_text, canonical_json
from evaltrace.exceptions import ConfigurationError
from evaltrace.metrics._match import matches_json
from evaltrace.metrics._protocol import MetricContext
from evaltrace.metrics.judge import JudgeMetric
from evaltrace.records import Case, Score
from evaltrace.tracing._trajectory import DEFAULT_RENDER_CHARS

__all__ = [
    "ArgumentMatch",
    "Budget",
    "ExpectedTool",
    "SequenceMode",
    "ToolCalled",
    "ToolSequence",
    "TrajectoryJudge",
]

#: How a tool call's arguments must match the expected ones.
ArgumentMatch = Literal["exact", "subset", "judged"]
#: How the tool calls must follow the expected tools.
SequenceMode = Literal["exact", "in_order", "any_order"]
#: An expected tool: its name, or ``{"name": ..., "arguments": {...}}`` (a JSON subset).
ExpectedTool = str | Mapping[str, Any]

_MATCH_MODES = ("exact", "subset", "judged")
_SEQUENCE_MODES = ("exact", "in_order", "any_order")


def _verdict(metric: str, passed: bool, explanation: str, **metadata: Any) -> Score:
    return Score(
        metric=metric,
        value=1.0 if passed else 0.0,
        passed=passed,
        label="pass" if passed else "fail",
        explanation=explanation,
        metadata=metadata,
    )


def _shown(calls: Sequence[ToolCall]) -> str:
    """Tool calls as one short line: ``search({"q":"x"}), lookup(...)``, or ``no tool calls``."""
    if not calls:
        return "no tool calls"
    return ", ".join(f"{call.name}({_short(canonical_json(call.arguments))})" for call in calls)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


@dataclass(frozen=True)
class ToolCalled:
    """The application called ``tool`` (with ``called=False``: it never did).

    With ``arguments``, only calls whose arguments match count: ``match``
    ``"subset"`` (default: the expected fields are present with these
    values), ``"exact"`` (equal as JSON), or ``"judged"`` (the judge model
    decides whether a call's arguments meet the ``arguments`` given, which may
    then be a description in words). The name defaults to
    ``tool_called:<tool>``.
    """

    tool: str
    arguments: Any = None
    match: ArgumentMatch = "subset"
    called: bool = True
    threshold: float = 0.5
    name: str = ""
    purpose: str = "tool_call_evaluation"

    def __post_init__(self) -> None:
        if self.match not in _MATCH_MODES:
            raise ConfigurationError(
                f"ToolCalled match {self.match!r}: use one of {', '.join(_MATCH_MODES)}"
            )
        if not self.name:
            object.__setattr__(self, "name", f"tool_called:{self.tool}")

    async def score(self, context: MetricContext) -> Score:
        """1.0 when the tool was called (with matching arguments) as ``called`` asks."""
        calls = [call for call in context.trace.tool_calls() if call.name == self.tool]
        if self.arguments is not None and calls and self.match == "judged":
            return await self._judged(context, calls)
        matching = [call for call in calls if self._arguments_match(call)]
        return self._scored(matching, calls)

    def _arguments_match(self, call: ToolCall) -> bool:
        if self.arguments is None:
            return True
        return matches_json(self.arguments, call.arguments, exact=self.match == "exact")

    def _scored(self, matching: Sequence[ToolCall], calls: Sequence[ToolCall]) -> Score:
        wanted = self.tool
        if self.arguments is not None:
            wanted += f" with arguments {canonical_json(self.arguments)}"
        found = bool(matching)
        if found:
            explanation = f"called {wanted}: {_shown(matching)}"
        elif calls:
            explanation = f"{self.tool} was called, but never {wanted}: {_shown(calls)}"
        else:
            explanation = f"{self.tool} was never called"
        return _verdict(self.name, found == self.called, explanation, matching_calls=len(matching))

    async def _judged(self, context: MetricContext, calls: Sequence[ToolCall]) -> Score:
        judged = await _ArgumentsJudge(
            threshold=self.threshold, name=self.name, purpose=self.purpose, tool=self.tool,
            expectation=self.arguments, calls=tuple(calls),
        ).score(context)  # fmt: skip
        if judged.passed is None or self.called:
            return judged
        return judged.model_copy(
            update={"passed": not judged.passed, "label": "fail" if judged.passed else "pass"}
        )


@dataclass(frozen=True)
class _ArgumentsJudge(JudgeMetric):
    """The judge decides whether any of ``calls`` has arguments that meet ``expectation``."""

    tool: str = ""
    expectation: Any = None
    calls: tuple[ToolCall, ...] = ()
    rubric: str = (
        "Rate whether at least one of these calls of the tool was given arguments that meet "
        "the expectation: 1 means one call clearly meets it, 0 means none does."
    )

    def missing(self, case: Case, output: Any) -> str | None:
        """The calls are the whole input: nothing can be missing."""
        return None

    def prompt(self, context: MetricContext) -> str:
        """The expectation and each call's arguments."""
        listed = "\n".join(
            f"{index}. {canonical_json(call.arguments)}" for index, call in enumerate(self.calls, 1)
        )
        expectation = self.expectation
        shown = expectation if isinstance(expectation, str) else canonical_json(expectation)
        return (
            f"{self.rubric}\n\nTool: {self.tool}\n\nExpectation for its arguments:\n{shown}"
            f"\n\nCalls (arguments as JSON):\n{listed}"
        )

    async def score(self, context: MetricContext) -> Score:
        """Ask the judge (the context's output may be anything, even null)."""
        if context.judge is None:
            raise ConfigurationError(
                f"metric {self.name!r} judges arguments: pass judge= to evaluate"
            )
        return await self._ask(context)


@dataclass(frozen=True)
class ToolSequence:
    """The application's tool calls follow ``expected`` (names, or name + argument subset).

    ``mode``: ``"exact"`` (these calls and no others, in this order),
    ``"in_order"`` (default: these calls in this order, others may come in
    between) or ``"any_order"`` (each expected call is matched by a different
    call, in any order). With no ``expected``, each case gives its own in
    ``metadata["expected_tools"]`` (``expected_key``). The value is the share
    of the expected calls matched; the case passes when all are (and, for
    ``exact``, no others ran).
    """

    expected: Sequence[ExpectedTool] | None = None
    mode: SequenceMode = "in_order"
    expected_key: str = "expected_tools"
    name: str = "tool_sequence"
    purpose: str = "tool_sequence"

    def __post_init__(self) -> None:
        if self.mode not in _SEQUENCE_MODES:
            raise ConfigurationError(
                f"ToolSequence mode {self.mode!r}: use one of {', '.join(_SEQUENCE_MODES)}"
            )
        if self.expected is not None:
            _checked_tools(self.expected, "ToolSequence expected")

    async def score(self, context: MetricContext) -> Score:
        """The share of expected tool calls matched, and whether the sequence holds."""
        expected = self._expected(context.case)
        if isinstance(expected, Score):
            return expected
        calls = context.trace.tool_calls()
        matched = _MATCHERS[self.mode](expected, calls)
        complete = matched == len(expected) and (self.mode != "exact" or len(calls) == matched)
        value = matched / len(expected) if expected else float(not calls or self.mode != "exact")
        wanted = ", ".join(_tool_name(tool) for tool in expected) or "no tool calls"
        return Score(
            metric=self.name,
            value=value,
            passed=complete,
            label="pass" if complete else "fail",
            explanation=f"{self.mode.replace('_', ' ')}: expected {wanted}; "
            f"{matched} of {len(expected)} matched in {_shown(calls)}",
            metadata={"matched": matched, "expected": len(expected), "calls": len(calls)},
        )

    def _expected(self, case: Case) -> list[ExpectedTool] | Score:
        if self.expected is not None:
            return list(self.expected)
        given = case.metadata.get(self.expected_key)
        if given is None:
            return Score(
                metric=self.name,
                value=None,
                error=f"the case has no metadata[{self.expected_key!r}] and the metric "
                "no expected tools",
            )
        try:
            return _checked_tools(given, f"case {case.id} metadata[{self.expected_key!r}]")
        except ConfigurationError as error:
            return Score(metric=self.name, value=None, error=str(error))


def _checked_tools(tools: Any, where: str) -> list[ExpectedTool]:
    """The expected tools, each a name or a mapping with a string ``name``."""
    if isinstance(tools, str) or not isinstance(tools, Sequence):
        raise ConfigurationError(f"{where}: expected a list of tool names, got {tools!r}")
    for tool in tools:
        named = isinstance(tool, Mapping) and isinstance(tool.get("name"), str)
        if not (isinstance(tool, str) or named):
            raise ConfigurationError(
                f"{where}: each tool is a name or {{'name': ..., 'arguments': ...}}, got {tool!r}"
            )
    return list(tools)


def _tool_name(tool: ExpectedTool) -> str:
    return tool if isinstance(tool, str) else str(tool["name"])


def _meets(tool: ExpectedTool, call: ToolCall) -> bool:
    """The call is the expected tool (and, when given, its arguments hold the expected subset)."""
    if isinstance(tool, str):
        return call.name == tool
    arguments = tool.get("arguments")
    if call.name != tool["name"]:
        return False
    return arguments is None or matches_json(arguments, call.arguments)


def _exact(expected: Sequence[ExpectedTool], calls: Sequence[ToolCall]) -> int:
    """How many leading calls meet the expected tools position by position."""
    matched = 0
    for tool, call in zip(expected, calls, strict=False):
        if not _meets(tool, call):
            break
        matched += 1
    return matched


def _in_order(expected: Sequence[ExpectedTool], calls: Sequence[ToolCall]) -> int:
    """The longest prefix of ``expected`` found in order in ``calls`` (greedy is optimal)."""
    matched = 0
    for call in calls:
        if matched < len(expected) and _meets(expected[matched], call):
            matched += 1
    return matched


def _any_order(expected: Sequence[ExpectedTool], calls: Sequence[ToolCall]) -> int:
    """The most expected tools matched each by a different call (a maximum bipartite matching)."""
    if not expected or not calls:
        return 0
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    meets = np.array([[_meets(tool, call) for call in calls] for tool in expected], dtype=np.int8)
    matching = maximum_bipartite_matching(csr_matrix(meets), perm_type="column")
    return int((matching >= 0).sum())


_MATCHERS = {"exact": _exact, "in_order": _in_order, "any_order": _any_order}


@dataclass(frozen=True)
class Budget:
    """Per-case limits on what the application spent; the case passes when it stays within all.

    Limits left as None are not checked. Model calls, tokens and cost are the
    task's model calls in the case's trace (the judge's calls are not counted:
    they are the evaluation's cost, not the application's); tool calls are
    ``trace.tool_calls()``; ``max_seconds`` is the task's wall time. A call
    whose price is unknown makes ``max_cost_usd`` unscorable, never a guess.
    """

    max_model_calls: int | None = None
    max_tool_calls: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    max_seconds: float | None = None
    name: str = "budget"
    purpose: str = "budget"

    def __post_init__(self) -> None:
        if all(limit is None for limit in self._limits().values()):
            raise ConfigurationError("Budget needs at least one limit (max_model_calls, ...)")

    def _limits(self) -> dict[str, float | None]:
        return {
            "model_calls": self.max_model_calls,
            "tool_calls": self.max_tool_calls,
            "tokens": self.max_tokens,
            "cost_usd": self.max_cost_usd,
            "seconds": self.max_seconds,
        }

    async def score(self, context: MetricContext) -> Score:
        """Pass when every limit set holds; the explanation lists each one."""
        spent = _spent(context)
        over, checked = [], []
        for what, limit in self._limits().items():
            if limit is None:
                continue
            used = spent.get(what)
            if used is None:
                return Score(metric=self.name, value=None, error=f"the case's {what} is unknown")
            checked.append(f"{what} {_number(used)} of {_number(limit)}")
            if used > limit:
                over.append(what)
        passed = not over
        summary = "within budget" if passed else f"over budget on {', '.join(over)}"
        return _verdict(self.name, passed, f"{summary}: {'; '.join(checked)}", **spent)


def _spent(context: MetricContext) -> dict[str, Any]:
    """What the case's task spent: model calls, tool calls, tokens, cost, seconds."""
    calls = context.trace.model_calls()
    costs = [call.cost() for call in calls]
    priced = [cost for cost in costs if cost is not None]
    known = sum(priced, Decimal(0)) if len(priced) == len(costs) else None
    return {
        "model_calls": len(calls),
        "tool_calls": len(context.trace.tool_calls()),
        "tokens": sum(call.tokens_used for call in calls),
        "cost_usd": None if known is None else float(known),
        "seconds": context.task_duration,
    }


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class TrajectoryJudge(JudgeMetric):
    """The judge rates how the application reached its answer: its steps, tools and arguments.

    The judge reads the task, the expected answer when there is one, the
    trajectory as numbered steps (agents, model calls, tool calls with their
    arguments and results, each truncated to fit ``max_chars``) and the final
    output. Its own calls are traced with ``purpose`` like every judge call.
    """

    name: str = "trajectory"
    purpose: str = "trajectory_evaluation"
    max_chars: int = DEFAULT_RENDER_CHARS
    rubric: str = (
        "Rate how well the steps below accomplish the task: the right tools with the right "
        "arguments, results used correctly, no needless, repeated or harmful steps, and a "
        "final answer that follows from them. 1 means an efficient, correct trajectory, "
        "0 means it fails the task or takes wrong or unsafe steps."
    )

    def prompt(self, context: MetricContext) -> str:
        """Task, expected answer, trajectory, final output."""
        case = context.case
        expected = f"\n\nExpected outcome:\n{as_text(case.expected)}" if case.expected else ""
        return (
            f"{self.rubric}\n\nTask:\n{as_text(case.input)}{expected}"
            f"\n\nTrajectory:\n{context.trace.render(self.max_chars)}"
            f"\n\nFinal output:\n{as_text(context.output)}"
        )
