"""Two versions of a toy arithmetic assistant, for docs/compare.md.

Each version asks its own (scripted, in-process) model, so its calls are
traced and counted like a real model's: ``baseline`` asks "toy-large", right
85% of the time with a short answer; ``candidate`` asks "toy-small", right 65%
of the time and wordier. Both are noisy, as model calls are.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from evaltrace import Message, ScriptedProvider
from evaltrace.providers import as_model


def _sum(messages: Sequence[Message]) -> int:
    question = messages[-1].content
    a, b = (int(part) for part in question.removeprefix("What is ").rstrip("?").split(" + "))
    return a + b


def _large(messages: Sequence[Message]) -> str:
    total = _sum(messages)
    return str(total if random.random() < 0.85 else total + random.choice((-1, 1)))


def _small(messages: Sequence[Message]) -> str:
    total = _sum(messages)
    answer = total if random.random() < 0.65 else total + random.choice((-1, 1))
    return f"Let me add the two numbers step by step. The sum is {answer}"


_LARGE = as_model(ScriptedProvider(_large, model="toy-large"))
_SMALL = as_model(ScriptedProvider(_small, model="toy-small"))


async def baseline(question: str) -> str:
    """The current version."""
    return (await _LARGE.complete(question)).text


async def candidate(question: str) -> str:
    """The change under review: a smaller model, and only the number kept."""
    reply = (await _SMALL.complete(question)).text
    return reply.rsplit(" ", 1)[-1]
