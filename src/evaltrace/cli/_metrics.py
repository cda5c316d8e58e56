"""Metric names on the command line -> metric objects."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from evaltrace import (
    AnswerRelevance,
    ConfigurationError,
    Contains,
    Correctness,
    Criteria,
    ExactMatch,
    Faithfulness,
    JSONValid,
    Metric,
    RegexMatch,
    SemanticSimilarity,
)

__all__ = ["JUDGE_METRICS", "METRIC_NAMES", "build_metrics", "parse_minimums"]

_FACTORIES: dict[str, Callable[[], Metric]] = {
    "answer_relevance": AnswerRelevance,
    "contains": Contains,
    "correctness": Correctness,
    "exact_match": ExactMatch,
    "faithfulness": Faithfulness,
    "json_valid": JSONValid,
    "semantic_similarity": SemanticSimilarity,
}
#: Metrics that cannot run without ``--judge`` (and every ``criteria:`` metric).
JUDGE_METRICS = frozenset({"answer_relevance", "correctness", "faithfulness"})
_REGEX = "regex:"
_CRITERIA = "criteria:"
#: What ``--metric`` accepts, for help and error messages.
METRIC_NAMES = (*sorted(_FACTORIES), f"{_REGEX}<pattern>", f"{_CRITERIA}<name>=<rubric>")


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
    needing = [m.name for m in metrics if m.name in JUDGE_METRICS or isinstance(m, Criteria)]
    if needing and not judge:
        raise ConfigurationError(
            f"metric {needing[0]!r} needs a judge model: pass --judge "
            "provider:model (e.g. --judge openai:gpt-4o-mini)"
        )
    return metrics


def parse_minimums(specs: Sequence[str], metric_names: Sequence[str]) -> dict[str, float]:
    """``--fail-under METRIC=VALUE`` options as {metric: minimum}, for metrics that will run."""
    minimums: dict[str, float] = {}
    for spec in specs:
        metric, sep, value = spec.rpartition("=")
        if not sep or not metric:
            raise ConfigurationError(
                f"--fail-under {spec!r}: use METRIC=VALUE, e.g. --fail-under correctness=0.8"
            )
        if metric not in metric_names:
            running = ", ".join(metric_names) or "none"
            raise ConfigurationError(
                f"--fail-under {spec!r}: metric {metric!r} is not run (metrics: {running})"
            )
        minimums[metric] = _minimum(spec, value)
    return minimums


def _minimum(spec: str, value: str) -> float:
    try:
        minimum = float(value)
    except ValueError:
        minimum = float("nan")
    if not 0 <= minimum <= 1:
        raise ConfigurationError(
            f"--fail-under {spec!r}: the minimum must be a number from 0 to 1, not {value!r}"
        )
    return minimum


def _metric(name: str) -> Metric:
    if name.startswith(_CRITERIA):
        return _criteria(name)
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


def _criteria(spec: str) -> Metric:
    """``criteria:NAME=RUBRIC``: a rubric of the user's own, scored by the judge."""
    name, sep, rubric = spec[len(_CRITERIA) :].partition("=")
    name = name.strip()
    if not sep or not name or not rubric.strip():
        raise ConfigurationError(
            f"--metric {spec!r}: use criteria:NAME=RUBRIC, "
            "e.g. 'criteria:polite=Is the answer polite?'"
        )
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ConfigurationError(
            f"--metric {spec!r}: the criterion name {name!r} may hold only letters, digits, "
            "'_', '.' and '-'"
        )
    if name in _FACTORIES:
        raise ConfigurationError(f"--metric {spec!r}: {name!r} is already a built-in metric")
    return Criteria(name, rubric.strip())
