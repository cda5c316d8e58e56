"""A case's trajectory: its agents, model calls and tool calls as steps, and their text.

``Step`` is plain, serialisable data (``model_dump(mode="json")``) for
metrics that compare what an application did with what it should have done;
``render_steps`` writes the steps as compact numbered lines for an LLM judge,
within a character budget.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from evaltrace._interaction import Step

__all__ = ["DEFAULT_RENDER_CHARS", "Step", "render_steps"]

#: ``CaseTrace.render``'s default budget, in characters.
DEFAULT_RENDER_CHARS = 4000
#: The longest a value (arguments, result, reply) may be, tried in turn until the text fits.
_VALUE_LIMITS = (2000, 600, 200, 80, 30)


def render_steps(steps: Sequence[Step], max_chars: int = DEFAULT_RENDER_CHARS) -> str:
    """The steps as numbered lines, at most ``max_chars`` characters in all.

    Long values are cut to a limit, ending ``…[N chars]`` (N characters left
    out); the limit shrinks until the text fits. When even the shortest
    values do not fit, the first and last steps are kept and the middle ones
    left out (one line says how many).
    """
    if max_chars <= 0:
        return ""
    if not steps:
        return _cut_total("(no steps)", max_chars)
    lines: list[str] = []
    for limit in _VALUE_LIMITS:
        lines = [_line(number, step, limit) for number, step in enumerate(steps, 1)]
        text = "\n".join(lines)
        if len(text) <= max_chars:
            return text
    return _cut_total(_head_and_tail(lines, max_chars), max_chars)


def _line(number: int, step: Step, limit: int) -> str:
    if step.kind == "tool":
        text = f"{number}. tool {step.name}({_value(step.arguments, limit)})"
        if step.result is not None:
            text += f" -> {_value(step.result, limit)}"
    elif step.kind == "model":
        text = f"{number}. model {step.name}"
        if step.tokens is not None:
            text += f" [{step.tokens} tokens]"
        if step.result:
            text += f": {_value(step.result, limit)}"
    else:
        text = f"{number}. agent {step.name}"
    if step.error:
        text += f" ERROR {_value(step.error, limit)}"
    return text


def _value(value: Any, limit: int) -> str:
    """A value on one line (whitespace runs as one space), cut to ``limit`` characters."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = str(value)
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit} chars]"


def _head_and_tail(lines: Sequence[str], max_chars: int) -> str:
    """The first and last lines that fit, taken alternately, with the left-out count between."""
    head: list[str] = []
    tail: list[str] = []
    used = 0
    low, high = 0, len(lines) - 1
    from_head = True
    marker = len(f"… [{len(lines)} steps left out]") + 1  # its longest, and a newline
    while low <= high:
        line = lines[low] if from_head else lines[high]
        if used + len(line) + 1 + marker > max_chars:
            break
        used += len(line) + 1
        if from_head:
            head.append(line)
            low += 1
        else:
            tail.append(line)
            high -= 1
        from_head = not from_head
    left_out = high - low + 1
    middle = [f"… [{left_out} steps left out]"] if left_out else []
    return "\n".join([*head, *middle, *reversed(tail)])


def _cut_total(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"
