"""Metrics: deterministic checks, LLM-as-judge scoring, and trajectory metrics."""

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
from evaltrace.metrics.trajectory import (
    ArgumentMatch,
    Budget,
    ExpectedTool,
    SequenceMode,
    ToolCalled,
    ToolSequence,
    TrajectoryJudge,
)

__all__ = [
    "AnswerRelevance",
    "ArgumentMatch",
    "Budget",
    "ExpectedTool",
    "SequenceMode",
    "ToolCalled",
    "ToolSequence",
    "TrajectoryJudge",
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
