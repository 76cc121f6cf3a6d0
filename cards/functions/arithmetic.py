"""Arithmetic behind the operators `+ - * / % ^` and add, sub, mul, div, mod, exp/power,
min, max, sum, average, round, floor, ceiling, abs, with JavaScript number rules."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import reduce
from typing import Any

from cards.functions.numbers import js_round
from cards.functions.types import NUMBER, STRING, Function, arity
from cards.jsvalues import UNDEFINED, js_is_integer, js_is_number, js_number, js_to_string
from cards.scope import ExpressionError


def _nullish(value: Any) -> bool:
    return value is None or value is UNDEFINED


def _add(values: list[Any]) -> Any:
    for value in values:
        # verifyNumberOrStringOrNull: despite its name, null is refused (undefined is not).
        if not (value is UNDEFINED or js_is_number(value) or isinstance(value, str)):
            raise ExpressionError(f"{value!r} is neither a number nor string")
    result = values[0]
    for value in values[1:]:
        if (_nullish(result) and js_is_number(value)) or (_nullish(value) and js_is_number(result)):
            raise ExpressionError("'+' cannot be applied to a number and null")
        if js_is_number(result) and js_is_number(value):
            result = js_number(result + value)
        else:
            left = "" if _nullish(result) else js_to_string(result)
            result = left + ("" if _nullish(value) else js_to_string(value))
    return result


def _numbers(values: list[Any]) -> list[Any]:
    for value in values:
        if not js_is_number(value):
            raise ExpressionError(f"{value!r} is not a number.")
    return values


def _sequence(step: Callable[[Any, Any], Any]) -> Callable[[list[Any]], Any]:
    def run(values: list[Any]) -> Any:
        return js_number(reduce(step, _numbers(values)))

    return run


def _divide(left: Any, right: Any) -> Any:
    if right == 0:
        raise ExpressionError("Cannot divide by 0")
    if js_is_integer(left) and js_is_integer(right):
        return math.floor(left / right)  # AEL's integer division
    return left / right


def _divide_all(values: list[Any]) -> Any:
    numbers = _numbers(values)
    if any(value == 0 for value in numbers[1:]):
        raise ExpressionError("Cannot divide by 0")
    return js_number(reduce(_divide, numbers))


def _mod(values: list[Any]) -> Any:
    left, right = values
    if not (js_is_integer(left) and js_is_integer(right)):
        raise ExpressionError("mod needs integers")
    if right == 0:
        raise ExpressionError("Cannot mod by 0.")
    remainder = abs(left) % abs(right)  # JS %: the sign of the dividend
    return js_number(-remainder if left < 0 else remainder)


def _power(values: list[Any]) -> Any:
    base, exponent = _numbers(values)
    try:
        return js_number(math.pow(base, exponent))
    except ValueError:
        return math.nan
    except (OverflowError, ZeroDivisionError):
        return math.inf


def _flat_numbers(values: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return _numbers(flat)


def _min(values: list[Any]) -> Any:
    return js_number(min(_flat_numbers(values), default=math.inf))


def _max(values: list[Any]) -> Any:
    return js_number(max(_flat_numbers(values), default=-math.inf))


def _numeric_list(values: list[Any]) -> list[Any]:
    if not isinstance(values[0], list):
        raise ExpressionError(f"{values[0]!r} is not a list.")
    items = _numbers(values[0])
    if not items:
        raise ExpressionError("Reduce of empty array with no initial value")
    return items


def _sum(values: list[Any]) -> Any:
    return js_number(reduce(lambda a, b: a + b, _numeric_list(values)))


def _average(values: list[Any]) -> Any:
    items = _numeric_list(values)
    return js_number(reduce(lambda a, b: a + b, items) / len(items))


def _round(values: list[Any]) -> Any:
    number = _numbers(values[:1])[0]
    digits = values[1] if len(values) == 2 else 0
    if len(values) == 2 and not js_is_integer(digits):
        raise ExpressionError(f"The second parameter {digits!r} must be an integer.")
    if not 0 <= digits <= 15:
        raise ExpressionError(f"The second parameter {digits!r} must be between 0 and 15")
    scale = math.pow(10, digits)
    return js_number(js_round(number * scale) / scale)


def _unary(transform: Callable[[Any], Any]) -> Callable[[list[Any]], Any]:
    return lambda values: js_number(transform(_numbers(values)[0]))


FUNCTIONS = [
    Function("add", _add, STRING | NUMBER, arity(2, kind=STRING | NUMBER)),
    Function("sub", _sequence(lambda a, b: a - b), NUMBER, arity(2, kind=NUMBER)),
    Function("mul", _sequence(lambda a, b: a * b), NUMBER, arity(2, kind=NUMBER)),
    Function("div", _divide_all, NUMBER, arity(2, kind=NUMBER)),
    Function("mod", _mod, NUMBER, arity(2, 2, NUMBER)),
    Function("^", _power, NUMBER, arity(2, 2, NUMBER)),
    Function("exp", _power, NUMBER, arity(2, 2, NUMBER)),
    Function("min", _min, NUMBER, arity(1)),
    Function("max", _max, NUMBER, arity(1)),
    Function("sum", _sum, NUMBER, arity(1, 1, kind=16)),
    Function("average", _average, NUMBER, arity(1, 1)),
    Function("round", _round, NUMBER, arity(1, 2, NUMBER)),
    Function("floor", _unary(math.floor), NUMBER, arity(1, 1, NUMBER)),
    Function("ceiling", _unary(math.ceil), NUMBER, arity(1, 1, NUMBER)),
    Function("abs", _unary(abs), NUMBER, arity(1, 1, NUMBER)),
]
