"""The runner: plan a run, run each case, execute the cases, assemble the result."""

from evaltrace.runner._assemble import TRACE_URL_ENV, Assembler
from evaltrace.runner._case import REPORTED_IN_RESULT, CaseEnvironment, CaseOutcome, run_case
from evaltrace.runner._evaluate import evaluate, evaluate_sync
from evaltrace.runner._executor import DEFAULT_CONCURRENCY, Executor, LocalExecutor
from evaltrace.runner._plan import CaseJob, CaseKey, RunPlan, RunRecipe
from evaltrace.runner._ray import RayExecutor

__all__ = [
    "DEFAULT_CONCURRENCY",
    "REPORTED_IN_RESULT",
    "TRACE_URL_ENV",
    "Assembler",
    "CaseEnvironment",
    "CaseJob",
    "CaseKey",
    "CaseOutcome",
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "RunPlan",
    "RunRecipe",
    "evaluate",
    "evaluate_sync",
    "run_case",
]
