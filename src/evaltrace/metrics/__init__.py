"""Metrics: deterministic checks and LLM-as-judge scoring."""

from evaltrace.metrics._parse import JudgeVerdict, parse_verdict
from evaltrace.metrics._protocol import Metric, MetricContext
from evaltrace.metrics.deterministic import Contains, ExactMatch, JSONSubset, JSONValid, RegexMatch
from evaltrace.metrics.judge import (
    AnswerRelevance,
    Correctness,
    Criteria,
    Faithfulness,
    JudgeMetric,
    SemanticSimilarity,
)

__all__ = [
    "AnswerRelevance",
    "Contains",
    "Correctness",
    "Criteria",
    "ExactMatch",
    "Faithfulness",
    "JSONSubset",
    "JSONValid",
    "JudgeMetric",
    "JudgeVerdict",
    "Metric",
    "MetricContext",
    "RegexMatch",
    "SemanticSimilarity",
    "parse_verdict",
]
