"""Metric names on the command line -> metric objects."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from evaltrace import (
    AnswerRelevance,
    ConfigurationError,
    Contains,
    Correctness,
    ExactMatch,
    Faithfulness,
    JSONValid,
    Metric,
    RegexMatch,
    SemanticSimilarity,
)

__all__ = ["JUDGE_METRICS", "METRIC_NAMES", "build_metrics"]

_FACTORIES: dict[str, Callable[[], Metric]] = {
    "answer_relevance": AnswerRelevance,
    "contains": Contains,
    "correctness": Correctness,
    "exact_match": ExactMatch,
    "faithfulness": Faithfulness,
    "json_valid": JSONValid,
    "semantic_similarity": SemanticSimilarity,
}
#: Metrics that cannot run without ``--judge``.
JUDGE_METRICS = frozenset({"answer_relevance", "correctness", "faithfulness"})
_REGEX = "regex:"
#: What ``--metric`` accepts, for help and error messages.
METRIC_NAMES = (*sorted(_FACTORIES), f"{_REGEX}<pattern>")


def build_metrics(names: Sequence[str], *, judge: bool) -> list[Metric]:
    """One metric per name; a clear ``ConfigurationError`` for anything that cannot work."""
    if not names:
        raise ConfigurationError(
            f"no metric given: pass --metric NAME (one or more of {', '.join(METRIC_NAMES)})"
        )
    metrics = [_metric(name) for name in names]
    seen: set[str] = set()
    for metric in metrics:
        if metric.name in seen:
            raise ConfigurationError(f"metric {metric.name!r} is given twice")
        seen.add(metric.name)
    needing = sorted(seen & JUDGE_METRICS)
    if needing and not judge:
        raise ConfigurationError(
            f"metric {needing[0]!r} needs a judge model: pass --judge "
            "provider:model (e.g. --judge openai:gpt-4o-mini)"
        )
    return metrics


def _metric(name: str) -> Metric:
    if name.startswith(_REGEX):
        pattern = name[len(_REGEX) :]
        if not pattern:
            raise ConfigurationError("--metric regex:<pattern> needs a pattern after 'regex:'")
        try:
            return RegexMatch(pattern, name=name)
        except re.error as exc:
            raise ConfigurationError(
                f"invalid regular expression in --metric {name!r}: {exc}"
            ) from None
    factory = _FACTORIES.get(name.strip().lower())
    if factory is None:
        raise ConfigurationError(
            f"unknown metric {name!r}; valid metrics: {', '.join(METRIC_NAMES)}"
        )
    return factory()
