"""The exit codes of the ``evaltrace`` command."""

from __future__ import annotations

__all__ = [
    "EXIT_BUDGET",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REGRESSION",
    "EXIT_THRESHOLD",
    "EXIT_USAGE",
]

EXIT_OK = 0
#: An unexpected error (a bug, or a failure evaltrace has no clear message for).
EXIT_ERROR = 1
#: Bad usage, configuration or input: a clear one-line message says what to fix.
EXIT_USAGE = 2
#: ``run --fail-under``: the run finished but a metric's mean is below its minimum.
EXIT_THRESHOLD = 3
#: ``compare --fail-on-regression``: a metric regressed significantly (Holm-adjusted).
EXIT_REGRESSION = 4
#: ``compare --max-cost-increase`` / ``--max-latency-increase``: a budget was exceeded.
EXIT_BUDGET = 5
#: Ctrl-C: finished cases are kept.
EXIT_INTERRUPTED = 130
