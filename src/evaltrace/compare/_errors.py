"""The one error the comparison statistics raise."""

from __future__ import annotations

from evaltrace.exceptions import EvaltraceError

__all__ = ["ComparisonError"]


class ComparisonError(EvaltraceError, ValueError):
    """The inputs cannot be compared: no matched cases, an empty case, a non-finite value...

    The message names the problem and, where there is one, the offending case.
    """
