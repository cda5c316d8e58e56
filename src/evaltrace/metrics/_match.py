"""Matching JSON values: "the expected fields are present with these values"."""

from __future__ import annotations

from typing import Any

from evaltrace._values import canonical_json, parsed_json

__all__ = ["json_mismatch", "matches_json"]


def matches_json(expected: Any, actual: Any, *, exact: bool = False) -> bool:
    """``actual`` holds ``expected``: equal as canonical JSON, or (default) as a JSON subset.

    An ``actual`` string holding JSON is read first.
    """
    actual = parsed_json(actual)
    if exact:
        return canonical_json(actual) == canonical_json(expected)
    return json_mismatch(expected, actual) is None


def json_mismatch(expected: Any, actual: Any, path: str = "$") -> str | None:
    """Where ``actual`` first fails to hold ``expected`` (a JSON path and why), or None."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {_kind(actual)}"
        for key, value in expected.items():
            if key not in actual:
                return f"{path}.{key}: missing"
            found = json_mismatch(value, actual[key], f"{path}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{path}: expected a list of {len(expected)}, got {_kind(actual)}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            found = json_mismatch(want, got, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    if _same_scalar(expected, actual):
        return None
    return f"{path}: expected {canonical_json(expected)}, got {canonical_json(actual)}"


def _same_scalar(expected: Any, actual: Any) -> bool:
    numbers = (int, float)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, numbers) and isinstance(actual, numbers):
        return bool(expected == actual)
    return type(expected) is type(actual) and expected == actual


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return "an object" if isinstance(value, dict) else canonical_json(value)
