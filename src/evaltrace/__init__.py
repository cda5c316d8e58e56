"""evaltrace: evaluate LLM applications where every model call is an OpenTelemetry span."""

from evaltrace._jsonl import read_case_results
from evaltrace._version import __version__
from evaltrace.exceptions import (
    ConfigurationError,
    DatasetError,
    EvaltraceError,
    JudgeReplyError,
    ProviderError,
)
from evaltrace.metrics import (
    AnswerRelevance,
    Contains,
    Correctness,
    Criteria,
    ExactMatch,
    Faithfulness,
    JSONValid,
    JudgeMetric,
    Metric,
    MetricContext,
    RegexMatch,
    SemanticSimilarity,
)
from evaltrace.providers import (
    Completion,
    Embedder,
    EmbeddingModel,
    Embeddings,
    GenerationParams,
    Model,
    Provider,
    RetryPolicy,
    ScriptedProvider,
    get_provider,
    register_provider,
)
from evaltrace.records import Case, CaseResult, LLMInteraction, Message, Score
from evaltrace.results import EvaluationResult, MetricSummary, Totals, UsageSummary
from evaltrace.runner import evaluate, evaluate_sync
from evaltrace.tracing import InteractionCollector, install_tracer_provider

__all__ = [
    "AnswerRelevance",
    "Case",
    "CaseResult",
    "Completion",
    "ConfigurationError",
    "Contains",
    "Correctness",
    "Criteria",
    "DatasetError",
    "Embedder",
    "EmbeddingModel",
    "Embeddings",
    "EvaltraceError",
    "EvaluationResult",
    "ExactMatch",
    "Faithfulness",
    "GenerationParams",
    "InteractionCollector",
    "JSONValid",
    "JudgeMetric",
    "JudgeReplyError",
    "LLMInteraction",
    "Message",
    "Metric",
    "MetricContext",
    "MetricSummary",
    "Model",
    "Provider",
    "ProviderError",
    "RegexMatch",
    "RetryPolicy",
    "Score",
    "ScriptedProvider",
    "SemanticSimilarity",
    "Totals",
    "UsageSummary",
    "__version__",
    "evaluate",
    "evaluate_sync",
    "get_provider",
    "install_tracer_provider",
    "read_case_results",
    "register_provider",
]
