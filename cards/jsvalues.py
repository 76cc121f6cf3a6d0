"""JavaScript value rules the official engine applies: undefined, equality and toString."""

from __future__ import annotations

import json
import math
import re
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
    if value.is_integer() and abs(value) < MAX_SAFE_INTEGER:
        return str(int(value))
    # Number::toString: the shortest round-trip digits (as repr), placed as ECMAScript says.
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0") or "0"
    point = (
        len(whole.lstrip("0")) if whole.strip("0") else -(len(fraction) - len(fraction.lstrip("0")))
    )
    point += int(exponent or 0)
    digits = digits.rstrip("0") or "0"
    if len(digits) <= point <= 21:
        return sign + digits + "0" * (point - len(digits))
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    exp = point - 1
    shown = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{shown}e{'+' if exp >= 0 else '-'}{abs(exp)}"


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


MAX_SAFE_INTEGER = 2**53


def js_number(value: int | float) -> int | float:
    """A number as JavaScript holds it: integral values print without `.0`, big ones are doubles."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
            return int(value)
        return value
    if abs(value) > MAX_SAFE_INTEGER:
        return float(value)
    return value


def js_is_integer(value: Any) -> bool:
    """`Number.isInteger(value)`."""
    return js_is_number(value) and math.isfinite(value) and float(value).is_integer()


def js_string(value: Any) -> str:
    """`String(value)`: like toString, but null and undefined print their names."""
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, list):
        return ",".join(
            "" if item is None or item is UNDEFINED else js_string(item) for item in value
        )
    return js_to_string(value)


def js_truthy(value: Any) -> bool:
    """JavaScript truthiness."""
    if value is None or value is UNDEFINED or value is False:
        return False
    if js_is_number(value):
        return value != 0
    if isinstance(value, float):  # NaN
        return False
    if isinstance(value, str):
        return value != ""
    return True


def js_strict_equals(left: Any, right: Any) -> bool:
    """`===` (and SameValueZero, as Set uses): objects by identity, primitives by value."""
    if isinstance(left, list | dict) or isinstance(right, list | dict):
        return left is right
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if js_is_number(left) and js_is_number(right):
        return left == right
    return type(left) is type(right) and left == right


def js_unique(items: list) -> list:
    """`Array.from(new Set(items))`: first occurrences, in order."""
    result: list = []
    seen: set = set()
    for item in items:
        if isinstance(item, list | dict):
            key: Any = ("ref", id(item))
        elif isinstance(item, bool):
            key = ("bool", item)
        elif js_is_number(item):
            key = ("num", item)
        else:
            key = (type(item).__name__, item)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


# ECMAScript WhiteSpace and LineTerminator: what trim() and /\s/ remove.
JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def js_trim(text: str) -> str:
    return text.strip(JS_SPACE)


_PARSE_INT = re.compile(f"[{JS_SPACE}]*([+-]?\\d+)")
_PARSE_FLOAT = re.compile(
    f"[{JS_SPACE}]*([+-]?(?:Infinity|(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?))"
)


def js_parse_int(text: str) -> int | float:
    """`parseInt(text, 10)`; NaN when there is no leading integer."""
    match = _PARSE_INT.match(text)
    return js_number(int(match.group(1))) if match else math.nan


def js_parse_float(text: str) -> int | float:
    """`parseFloat(text)`; NaN when there is no leading number."""
    match = _PARSE_FLOAT.match(text)
    return js_number(float(match.group(1).replace("Infinity", "inf"))) if match else math.nan


def utf16(text: str) -> str:
    """The text as UTF-16 code units, one Python character each (indexes then match JS)."""
    if text.isascii() or all(ord(c) < 0x10000 for c in text):
        return text
    units = memoryview(text.encode("utf-16-le", "surrogatepass")).cast("H")
    return "".join(chr(unit) for unit in units)


def from_utf16(units: str) -> str:
    """Code units back to text: surrogate pairs become one character again."""
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def js_sort_key(text: str) -> bytes:
    """A key that orders strings as JavaScript does (by UTF-16 code units)."""
    return text.encode("utf-16-be", "surrogatepass")


def js_json(value: Any) -> str:
    """`JSON.stringify(value)` for JSON-like values (undefined members are left out)."""
    if value is None or value is UNDEFINED:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return js_to_string(value) if math.isfinite(value) else "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(js_json(item) for item in value) + "]"
    if isinstance(value, dict):
        members = [
            f"{json.dumps(str(key), ensure_ascii=False)}:{js_json(item)}"
            for key, item in value.items()
            if item is not UNDEFINED
        ]
        return "{" + ",".join(members) + "}"
    raise TypeError(f"cannot serialise {value!r}")
