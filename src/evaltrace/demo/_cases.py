"""The demo dataset shipped inside the package (``questions.jsonl``)."""

from __future__ import annotations

from importlib import resources

from evaltrace.datasets import load_cases
from evaltrace.exceptions import ConfigurationError
from evaltrace.records import Case

__all__ = ["DEMO_DATASET", "DEMO_TASK_MODEL", "demo_cases"]

#: File name of the bundled dataset inside ``evaltrace.demo``.
DEMO_DATASET = "questions.jsonl"
#: The model the demo evaluates: the embedded llama.cpp model, no network, no key.
DEMO_TASK_MODEL = "local:gemma-3-270m"


def demo_cases(limit: int | None = None) -> list[Case]:
    """The demo's question/expected-answer cases, the first ``limit`` of them if given.

    Geography, science, arithmetic, definitions and dates, plus a few that a
    270M-parameter model usually gets wrong (multi-step arithmetic, obscure facts,
    trick questions). ``metadata["category"]`` names each case's kind.
    """
    if limit is not None and limit < 1:
        raise ConfigurationError(f"limit must be at least 1, not {limit}")
    with resources.as_file(resources.files(__package__ or "evaltrace.demo") / DEMO_DATASET) as path:
        cases = load_cases(path)
    return cases if limit is None else cases[:limit]
