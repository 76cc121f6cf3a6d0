"""Conversion functions: string, int, float, jsonStringify, json, formatNumber, base64,
dataUri, uriComponent and their inverses, and the type checks (isString, isInteger, …).

Results are data: `json('…')` parses into values the card shows, never into template.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import string
import urllib.parse
from typing import Any

from cards.functions.numbers import DEFAULT_LOCALE, format_fixed, js_round
from cards.functions.text import common_stringify
from cards.functions.types import BOOLEAN, NUMBER, OBJECT, STRING, Function, arity, order
from cards.jsvalues import (
    UNDEFINED,
    js_is_integer,
    js_is_number,
    js_json,
    js_number,
    js_parse_float,
    js_parse_int,
    js_to_string,
    js_trim,
)
from cards.scope import ExpressionError


def _locale(values: list[Any], position: int) -> str:
    """FunctionUtils.determineLocale: the last argument when it is there and a string."""
    if len(values) == position + 1 and isinstance(values[position], str):
        return values[position]
    return DEFAULT_LOCALE


def _string(values: list[Any]) -> str:
    value = values[0]
    if isinstance(value, str):
        return value
    if js_is_number(value):
        text = js_to_string(value)
        digits = len(text.split(".")[1]) if "." in text else 0
        try:
            return format_fixed(value, digits, _locale(values, 1))
        except ValueError as exc:
            raise ExpressionError(str(exc)) from None
    return common_stringify(value)


def _int(values: list[Any]) -> Any:
    value = values[0]
    if isinstance(value, str):
        number = js_parse_int(value)
        if number != number:
            raise ExpressionError(f"parameter {value} is not a valid number string.")
        return number
    if js_is_number(value):
        return js_parse_int(js_to_string(value))
    return UNDEFINED


def _float(values: list[Any]) -> Any:
    value = values[0]
    if isinstance(value, str):
        number = js_parse_float(value)
        if number != number:
            raise ExpressionError(f"parameter {value} is not a valid number string.")
        return number
    if js_is_number(value):
        return value
    return UNDEFINED


def _json_stringify(values: list[Any]) -> Any:
    return UNDEFINED if values[0] is UNDEFINED else js_json(values[0])


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json(values: list[Any]) -> Any:
    text = values[0]
    if not isinstance(text, str):
        raise ExpressionError(f"{text!r} is not a string")
    try:
        return json.loads(
            js_trim(text),
            parse_int=lambda digits: js_number(int(digits)),
            parse_float=lambda digits: js_number(float(digits)),
            parse_constant=_reject_constant,
        )
    except ValueError as exc:
        raise ExpressionError(f"json: {exc}") from None


def _format_number(values: list[Any]) -> str:
    number, digits = values[0], values[1]
    if not js_is_number(number):
        raise ExpressionError(f"formatNumber first argument {number!r} must be a number")
    if not js_is_number(digits):
        raise ExpressionError(f"formatNumber second argument {digits!r} must be a number")
    scale = math.pow(10, digits)
    rounded = js_round(number * scale) / scale
    try:
        return format_fixed(rounded, digits, _locale(values, 2))
    except ValueError as exc:
        raise ExpressionError(str(exc)) from None


def _utf8(text: str) -> bytes:
    # Buffer.from(text) writes a lone surrogate as U+FFFD.
    return re.sub("[\ud800-\udfff]", "\ufffd", text).encode("utf-8")


def _base64(values: list[Any]) -> Any:
    value = values[0]
    if not isinstance(value, str):
        return UNDEFINED
    return base64.b64encode(_utf8(value)).decode("ascii")


def _text_arg(value: Any) -> str:
    if not isinstance(value, str):
        raise ExpressionError(f"{value!r} is not a string.")
    return value


def _atob(text: str) -> str:
    """Buffer.from(text, 'base64').toString('binary'): lenient, read as Latin-1."""
    cleaned = re.sub(r"[^A-Za-z0-9+/\-_=]", "", text).replace("-", "+").replace("_", "/")
    cleaned = cleaned.split("=", 1)[0]
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned).decode("latin-1")
    except binascii.Error as exc:
        raise ExpressionError(str(exc)) from None


def _base64_to_string(values: list[Any]) -> str:
    return _atob(_text_arg(values[0]))


def _data_uri(values: list[Any]) -> str:
    encoded = base64.b64encode(_utf8(_text_arg(values[0]))).decode("ascii")
    return "data:text/plain;charset=utf-8;base64," + encoded


def _data_uri_to_string(values: list[Any]) -> str:
    text = _text_arg(values[0])
    return _atob(text[text.find(",") + 1 :])


def _uri_component(values: list[Any]) -> str:
    text = _text_arg(values[0])
    try:
        return urllib.parse.quote(text.encode("utf-8"), safe="-_.!~*'()")
    except UnicodeEncodeError:
        raise ExpressionError("URI malformed") from None


def _uri_component_to_string(values: list[Any]) -> str:
    """decodeURIComponent: strict, a bad escape or bad UTF-8 is an error."""
    text = _text_arg(values[0])
    out: list[str] = []
    pending = bytearray()
    pos = 0
    while pos < len(text):
        if text[pos] == "%":
            digits = text[pos + 1 : pos + 3]
            if len(digits) < 2 or not all(c in string.hexdigits for c in digits):
                raise ExpressionError("URI malformed")
            pending.append(int(digits, 16))
            pos += 3
            continue
        out.append(_flush(pending))
        out.append(text[pos])
        pos += 1
    out.append(_flush(pending))
    return "".join(out)


def _flush(pending: bytearray) -> str:
    try:
        return pending.decode("utf-8")
    except UnicodeDecodeError:
        raise ExpressionError("URI malformed") from None
    finally:
        pending.clear()


FUNCTIONS = [
    Function("string", _string, STRING, order(OBJECT, optional=(STRING,))),
    Function("int", _int, NUMBER, arity(1, 1)),
    Function("float", _float, NUMBER, arity(1, 1)),
    Function("jsonStringify", _json_stringify, STRING, arity(1, 1)),
    Function("json", _json, OBJECT, order(STRING)),
    Function("formatNumber", _format_number, STRING, order(NUMBER, NUMBER, optional=(STRING,))),
    Function("base64", _base64, STRING, arity(1, 1)),
    Function("base64ToString", _base64_to_string, STRING, arity(1, 1)),
    Function("dataUri", _data_uri, STRING, arity(1, 1)),
    Function("dataUriToString", _data_uri_to_string, STRING, arity(1, 1)),
    Function("uriComponent", _uri_component, STRING, arity(1, 1)),
    Function("uriComponentToString", _uri_component_to_string, STRING, arity(1, 1)),
    Function("isString", lambda v: isinstance(v[0], str), BOOLEAN, arity(1, 1)),
    Function("isInteger", lambda v: js_is_integer(v[0]), BOOLEAN, arity(1, 1)),
    Function(
        "isFloat",
        lambda v: js_is_number(v[0]) and not js_is_integer(v[0]),
        BOOLEAN,
        arity(1, 1),
    ),
    Function("isArray", lambda v: isinstance(v[0], list), BOOLEAN, arity(1, 1)),
    # typeof value === 'object': arrays and null are objects too.
    Function(
        "isObject", lambda v: isinstance(v[0], dict | list) or v[0] is None, BOOLEAN, arity(1, 1)
    ),
    Function("isBoolean", lambda v: isinstance(v[0], bool), BOOLEAN, arity(1, 1)),
]
