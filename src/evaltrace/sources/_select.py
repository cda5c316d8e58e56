"""Which recorded calls to take: a time window, attribute filters, a deterministic sample, a limit.

Sampling is by span id: a span is in the sample at rate ``r`` when the first
8 bytes of ``sha256(span id as 16 hex digits)``, read as a fraction of
2**64, are below ``r``. The same rate picks the same spans on every re-run
and on every machine, and a lower rate picks a subset of a higher one, so a
backfill at 10% followed by one at 20% only adds spans. (The hash, rather
than the id's own bits, keeps the sample uniform for ids that are not
random, e.g. made by a test or a sequence.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evaltrace.exceptions import ConfigurationError
from evaltrace.sources._common import span_matches
from evaltrace.tracing._record import SpanRecord

__all__ = ["SpanSelection", "in_sample", "parse_filters"]

_SCALE = 1 << 64


def in_sample(span_id: int, rate: float) -> bool:
    """True when the span with this id is in a sample at ``rate`` (0..1), on every run."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.sha256(f"{span_id:016x}".encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big") < rate * _SCALE


def parse_filters(filters: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings as an attribute mapping (values compared as text).

    Raises:
        ConfigurationError: a filter without ``=`` or with an empty key.
    """
    parsed: dict[str, str] = {}
    for item in filters:
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise ConfigurationError(
                f"--filter {item!r}: give ATTRIBUTE=VALUE (e.g. gen_ai.request.model=gpt-4o)"
            )
        parsed[key.strip()] = value
    return parsed


def _utc(moment: dt.datetime | None, name: str) -> dt.datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise ConfigurationError(f"{name}: give a time with a timezone (e.g. ...Z), got {moment}")
    return moment


@dataclass(frozen=True)
class SpanSelection:
    """Which recorded calls to take.

    ``since`` / ``until``: the span started in ``[since, until)`` (aware
    datetimes). ``filters``: attribute equality on the span or its resource,
    compared as text. ``sample``: the deterministic rate (see the module).
    ``limit``: at most this many calls (after the other conditions).
    """

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    sample: float = 1.0
    limit: int | None = None

    def __post_init__(self) -> None:
        since, until = _utc(self.since, "since"), _utc(self.until, "until")
        if since is not None and until is not None and not since < until:
            raise ConfigurationError(f"--since ({since}) must be before --until ({until})")
        if not 0.0 < self.sample <= 1.0:
            raise ConfigurationError(f"--sample must be in (0, 1], got {self.sample}")
        if self.limit is not None and self.limit < 1:
            raise ConfigurationError(f"--limit must be positive, got {self.limit}")

    def in_window(self, span: SpanRecord) -> bool:
        """The span started inside the window."""
        if self.since is not None and span.start_time < _ns(self.since):
            return False
        return self.until is None or span.start_time < _ns(self.until)

    def wants(self, span: SpanRecord) -> bool:
        """In the window, matching the filters, and in the sample."""
        if not self.in_window(span):
            return False
        if self.filters and not span_matches(span, self.filters):
            return False
        return in_sample(span.span_id, self.sample)


def _ns(moment: dt.datetime) -> int:
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (moment - epoch) // dt.timedelta(microseconds=1) * 1000
