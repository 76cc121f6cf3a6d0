"""JavaScript value rules the official engine applies: undefined, equality and toString."""

from __future__ import annotations

import math
from typing import Any


class _Undefined:
    """JavaScript's `undefined`: a missing value, distinct from JSON null."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()


def js_is_number(value: Any) -> bool:
    """True for numbers that AEL accepts as numbers (not bool, not NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def js_to_string(value: Any) -> str:
    """`value.toString()` as JavaScript prints it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number_to_string(value)
    if isinstance(value, list):
        return ",".join("" if item in (None, UNDEFINED) else js_to_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    raise TypeError(f"Cannot read properties of {value!r} (reading 'toString')")


def _number_to_string(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    sign = "-" if exponent.startswith("-") else "+"
    return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"


def js_equals(left: Any, right: Any) -> bool:
    """AEL's commonEquals: null-safe, deep for lists and objects, epsilon for numbers."""
    if left is None or left is UNDEFINED or right is None or right is UNDEFINED:
        return (left is None or left is UNDEFINED) and (right is None or right is UNDEFINED)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(js_equals, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(js_equals(left[k], right[k]) for k in left)
    if js_is_number(left) and js_is_number(right):
        return abs(left - right) < 2.220446049250313e-16
    if type(left) is not type(right) and not (js_is_number(left) and js_is_number(right)):
        return False
    return left == right
