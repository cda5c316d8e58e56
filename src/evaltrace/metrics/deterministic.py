"""Metrics that need no model: exact match, containment, regular expressions, JSON validity."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from evaltrace.metrics._protocol import MetricContext
from evaltrace.records import Score

__all__ = ["Contains", "ExactMatch", "JSONValid", "RegexMatch"]


def _verdict(metric: str, passed: bool, explanation: str) -> Score:
    return Score(
        metric=metric,
        value=1.0 if passed else 0.0,
        passed=passed,
        label="pass" if passed else "fail",
        explanation=explanation,
    )


def _missing(metric: str, what: str) -> Score:
    return Score(metric=metric, value=None, error=f"the case has no {what} to compare with")


def _normalise(text: str, case_sensitive: bool, strip: bool) -> str:
    text = " ".join(text.split()) if strip else text
    return text if case_sensitive else text.casefold()


@dataclass(frozen=True)
class ExactMatch:
    """The output equals ``expected`` (whitespace-normalised, case-insensitive by default)."""

    case_sensitive: bool = False
    strip: bool = True
    name: str = "exact_match"
    purpose: str = "exact_match"

    async def score(self, context: MetricContext) -> Score:
        """1.0 when the output equals the expected answer."""
        expected = context.case.expected
        if expected is None:
            return _missing(self.name, "expected answer")
        output = context.output or ""
        same = _normalise(output, self.case_sensitive, self.strip) == _normalise(
            expected, self.case_sensitive, self.strip
        )
        return _verdict(
            self.name,
            same,
            f"output {'equals' if same else 'differs from'} the expected answer {expected!r}",
        )


@dataclass(frozen=True)
class Contains:
    """The output contains ``substring`` (default: the case's ``expected``)."""

    substring: str | None = None
    case_sensitive: bool = False
    name: str = "contains"
    purpose: str = "contains"

    async def score(self, context: MetricContext) -> Score:
        """1.0 when the substring occurs in the output."""
        needle = self.substring if self.substring is not None else context.case.expected
        if needle is None:
            return _missing(self.name, "expected answer")
        output = context.output or ""
        found = _normalise(needle, self.case_sensitive, True) in _normalise(
            output, self.case_sensitive, True
        )
        return _verdict(
            self.name, found, f"{needle!r} {'found' if found else 'not found'} in the output"
        )


@dataclass(frozen=True)
class RegexMatch:
    """The output matches ``pattern`` (``re.search``)."""

    pattern: str
    flags: int = 0
    name: str = "regex_match"
    purpose: str = "regex_match"

    def __post_init__(self) -> None:
        re.compile(self.pattern, self.flags)  # a bad pattern fails when the metric is made

    async def score(self, context: MetricContext) -> Score:
        """1.0 when the pattern is found in the output."""
        matched = re.search(self.pattern, context.output or "", self.flags) is not None
        return _verdict(
            self.name,
            matched,
            f"pattern {self.pattern!r} {'matched' if matched else 'did not match'}",
        )


@dataclass(frozen=True)
class JSONValid:
    """The output parses as JSON and, if given, holds every key in ``required_keys``."""

    required_keys: tuple[str, ...] = ()
    name: str = "json_valid"
    purpose: str = "json_valid"

    async def score(self, context: MetricContext) -> Score:
        """1.0 for valid JSON with the required keys."""
        try:
            value = json.loads(context.output or "")
        except ValueError as exc:
            return _verdict(self.name, False, f"not JSON: {exc}")
        missing = [k for k in self.required_keys if not isinstance(value, dict) or k not in value]
        if missing:
            return _verdict(self.name, False, f"JSON without keys {missing}")
        return _verdict(self.name, True, "valid JSON")
