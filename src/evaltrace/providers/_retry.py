"""When and how long to wait before trying a failed model call again."""

from __future__ import annotations

import random
from dataclasses import dataclass

from evaltrace.exceptions import ProviderError

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter on retryable failures, honouring ``Retry-After``.

    ``max_attempts`` bounds the attempts of one call (1 = no retry); ``timeout``
    bounds each attempt in seconds. Retryable: HTTP 408/409/429/5xx, timeouts
    and dropped connections.
    """

    max_attempts: int = 4
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.25
    timeout: float | None = 120.0

    def delay(self, attempt: int, error: ProviderError) -> float | None:
        """Seconds to wait after failed ``attempt`` (1-based), or None to give up."""
        if not error.retryable or attempt >= self.max_attempts:
            return None
        if error.retry_after is not None:
            return min(error.retry_after, self.max_delay)
        base = min(self.initial_delay * self.multiplier ** (attempt - 1), self.max_delay)
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)
