"""OTLP/JSON values: 64-bit ints, ids (hex or base64), AnyValue, attribute lists.

The leaves of the OTLP/JSON decoder (``_otlp_json``). Every function raises
``DecodeError`` for a value of the wrong shape, or lets one of
``MALFORMED`` escape for a container of the wrong type (the decoder turns
those into ``DecodeError`` naming the span).

AnyValues become plain Python values: strings, ints, floats, bools, ``bytes``
(``bytesValue`` is base64), arrays as tuples, and ``kvlistValue`` as a plain
``dict`` of the same values (nested as sent: the structure is kept, not
flattened into dotted keys or re-encoded as a JSON string). An empty AnyValue
(no field set) drops its attribute: a live span cannot hold a null value.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from typing import Any

from evaltrace.sources._errors import DecodeError
from evaltrace.tracing._record import EMPTY_ATTRIBUTES

__all__ = ["MALFORMED", "SHOWN", "attributes", "int64", "parse_id", "parent_id", "show", "string"]

#: Errors a malformed container can raise inside the walk.
MALFORMED = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError)
#: Characters of a bad value quoted in an error.
SHOWN = 64


class _Empty:
    """The value of an AnyValue with no field set."""


_NOTHING = _Empty()


# --------------------------------------------------------------------------
# Scalars
# --------------------------------------------------------------------------


def int64(value: Any) -> int:
    """A 64-bit integer as OTLP/JSON spells it: a number or a decimal string."""
    kind = type(value)
    if kind is int:
        return int(value)
    if kind is str:
        return int(value)
    if kind is float and value.is_integer():
        return int(value)
    raise DecodeError(f"expected an integer, got {show(value)}")


def _float(value: Any) -> float:
    kind = type(value)
    if kind is float or kind is int:
        return float(value)
    if kind is str:
        return float(value)  # also "NaN", "Infinity", "-Infinity"
    raise DecodeError(f"expected a number, got {show(value)}")


def string(value: Any) -> str:
    if type(value) is str:
        return str(value)
    raise DecodeError(f"expected a string, got {show(value)}")


def _bool(value: Any) -> bool:
    if type(value) is bool:
        return bool(value)
    raise DecodeError(f"expected true or false, got {show(value)}")


def _bytes(value: Any) -> bytes:
    return _b64(string(value))


def _b64(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    if "-" in padded or "_" in padded:
        padded = padded.replace("-", "+").replace("_", "/")
    try:
        return binascii.a2b_base64(padded, strict_mode=True)
    except binascii.Error as exc:
        raise DecodeError(f"not base64: {show(text)} ({exc})") from None


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN else f"{text[: SHOWN - 3]}..."


# --------------------------------------------------------------------------
# Ids
# --------------------------------------------------------------------------


def parse_id(value: Any, size: int, what: str) -> int:
    """A trace (16 bytes) or span (8 bytes) id from hex or base64 text."""
    if type(value) is not str:
        raise DecodeError(f"{what} must be a string, got {show(value)}")
    if len(value) == 2 * size:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise DecodeError(f"{what} is not hex: {show(value)}") from None
    else:
        raw = _b64(value)
    if len(raw) != size:
        raise DecodeError(f"{what} must be {size} bytes (hex or base64), got {show(value)}")
    number = int.from_bytes(raw, "big")
    if number == 0:
        raise DecodeError(f"{what} is all zeros")
    return number


def parent_id(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return parse_id(value, 8, "parentSpanId")
    except DecodeError as exc:
        if exc.reason.endswith("all zeros"):
            return None
        raise


# --------------------------------------------------------------------------
# AnyValue and attributes
# --------------------------------------------------------------------------


def _array(value: Any) -> tuple[Any, ...]:
    values = value.get("values") if value else None
    if not values:
        return ()
    if type(values) is not list:
        raise DecodeError(f"arrayValue.values must be a list, got {show(values)}")
    items = [_any(item) for item in values]
    return tuple(item for item in items if item is not _NOTHING)


def _kvlist(value: Any) -> dict[str, Any]:
    values = value.get("values") if value else None
    return dict(attributes(values)) if values else {}


_ANY: dict[str, Callable[[Any], Any]] = {
    "stringValue": string,
    "intValue": int64,
    "doubleValue": _float,
    "boolValue": _bool,
    "arrayValue": _array,
    "kvlistValue": _kvlist,
    "bytesValue": _bytes,
}
for _camel, _convert in list(_ANY.items()):
    _ANY["".join("_" + c.lower() if c.isupper() else c for c in _camel)] = _convert


def _any(value: Any) -> Any:
    """A plain Python value from an AnyValue object (``_NOTHING`` when empty)."""
    if type(value) is not dict:
        raise DecodeError(f"an AnyValue must be an object, got {show(value)}")
    for tag, inner in value.items():
        convert = _ANY.get(tag)
        if convert is not None:
            return convert(inner)
    return _NOTHING


def attributes(kvs: Any) -> dict[str, Any] | Any:
    """A dict from a list of ``{"key": ..., "value": AnyValue}`` (the shared empty one if none)."""
    if not kvs:
        return EMPTY_ATTRIBUTES
    if type(kvs) is not list:
        raise DecodeError(f"attributes must be a list, got {show(kvs)}")
    out: dict[str, Any] = {}
    for kv in kvs:
        key = kv["key"]
        if type(key) is not str:
            raise DecodeError(f"attribute key must be a string, got {show(key)}")
        value = kv.get("value")
        if type(value) is not dict:
            if value is None:
                continue
            raise DecodeError(f"an AnyValue must be an object, got {show(value)}")
        # The first field that is a known AnyValue field; strings and ints inline
        # (most attributes), the rest through their converter.
        for tag, inner in value.items():
            if tag == "stringValue" and type(inner) is str:
                out[key] = inner
                break
            if tag == "intValue" and type(inner) is str:
                out[key] = int(inner)
                break
            convert = _ANY.get(tag)
            if convert is not None:
                decoded = convert(inner)
                if decoded is not _NOTHING:
                    out[key] = decoded
                break
    return out
