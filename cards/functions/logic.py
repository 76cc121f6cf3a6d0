"""Logical comparison functions: and, or, not, if, equals, greater…, empty, exists, bool.

As in AEL, a comparison evaluates its arguments without `${path}` substitution and answers
false (never an error) when an argument fails; `if`, `not`, `and` and `or` swallow errors too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from cards.functions.types import BOOLEAN, OBJECT, Function, Node, arity
from cards.jsvalues import UNDEFINED, js_equals, js_is_number, js_sort_key, js_string
from cards.scope import ExpressionError, Scope


def logic_true(value: Any) -> bool:
    """AEL's isLogicTrue: booleans are themselves, null and undefined are false, else true."""
    if isinstance(value, bool):
        return value
    return value is not None and value is not UNDEFINED


def nullish(value: Any) -> bool:
    return value is None or value is UNDEFINED


def _if(nodes: list[Node], scope: Scope, subst: bool) -> Any:
    try:
        condition = logic_true(nodes[0].run(scope, False))
    except ExpressionError:
        condition = False
    return nodes[1].run(scope, subst) if condition else nodes[2].run(scope, subst)


def _not(nodes: list[Node], scope: Scope, subst: bool) -> bool:
    try:
        return not logic_true(nodes[0].run(scope, False))
    except ExpressionError:
        return True


def _and(nodes: list[Node], scope: Scope, subst: bool) -> bool:
    for node in nodes:
        try:
            if not logic_true(node.run(scope, False)):
                return False
        except ExpressionError:
            return False
    return True


def _or(nodes: list[Node], scope: Scope, subst: bool) -> Any:
    # Like AEL: when nothing is true, the answer is the last argument's value (null stays null).
    result: Any = False
    for node in nodes:
        try:
            result = node.run(scope, False)
        except ExpressionError:
            result = UNDEFINED
            continue
        if logic_true(result):
            return True
    return result


def comparison(
    test: Callable[[list[Any]], bool], verify: Callable[[Any], bool] | None = None
) -> Callable[..., bool]:
    """ComparisonEvaluator: arguments without substitution; a failed argument answers false."""

    def compare(nodes: list[Node], scope: Scope, subst: bool) -> bool:
        values = []
        try:
            for node in nodes:
                value = node.run(scope, False)
                if verify is not None and not verify(value):
                    return False
                values.append(value)
        except ExpressionError:
            return False
        return test(values)  # an error of the comparison itself stays an error

    return compare


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[list[Any]], bool]:
    def ordered(values: list[Any]) -> bool:
        left, right = values
        if js_is_number(left) and js_is_number(right):
            return test(left, right)
        if isinstance(left, str) and isinstance(right, str):
            return test(js_sort_key(left), js_sort_key(right))  # UTF-16 order, as in JS
        raise ExpressionError(f"{left!r} and {right!r} must be comparable.")

    return ordered


def _not_null(value: Any) -> bool:
    return not nullish(value)


def _container_or_null(value: Any) -> bool:
    return nullish(value) or isinstance(value, str | list | dict)


def _empty(values: list[Any]) -> bool:
    value = values[0]
    if nullish(value):
        return True
    if isinstance(value, str | list | dict):
        return len(value) == 0
    return False


_FALSE = re.compile("false", re.IGNORECASE)


def _bool(values: list[Any]) -> bool:
    value = values[0]
    if js_is_number(value):
        return value != 0
    if not isinstance(value, dict) and _FALSE.search(js_string(value)):
        return False  # /false/i.test(value): any text containing "false", "FALSE", …
    return logic_true(value)


def _coalesce(values: list[Any]) -> Any:
    return next((value for value in values if not nullish(value)), UNDEFINED)


FUNCTIONS = [
    Function("if", _if, OBJECT, arity(3, 3), lazy=True),
    Function("not", _not, BOOLEAN, arity(1, 1), lazy=True),
    Function("and", _and, BOOLEAN, arity(1), lazy=True),
    Function("or", _or, BOOLEAN, arity(1), lazy=True),
    Function("equals", comparison(lambda v: js_equals(v[0], v[1])), BOOLEAN, arity(2, 2), True),
    Function("!=", comparison(lambda v: not js_equals(v[0], v[1])), BOOLEAN, arity(2, 2), True),
    Function(
        "greater", comparison(_ordered(lambda a, b: a > b), _not_null), BOOLEAN, arity(2, 2), True
    ),
    Function(
        "greaterOrEquals",
        comparison(_ordered(lambda a, b: a >= b), _not_null),
        BOOLEAN,
        arity(2, 2),
        True,
    ),
    Function(
        "less", comparison(_ordered(lambda a, b: a < b), _not_null), BOOLEAN, arity(2, 2), True
    ),
    Function(
        "lessOrEquals",
        comparison(_ordered(lambda a, b: a <= b), _not_null),
        BOOLEAN,
        arity(2, 2),
        True,
    ),
    Function("empty", comparison(_empty, _container_or_null), BOOLEAN, arity(1, 1), True),
    Function("exists", comparison(lambda v: True, _not_null), BOOLEAN, arity(1, 1), True),
    Function("bool", comparison(_bool), BOOLEAN, arity(1, 1), True),
    Function("coalesce", _coalesce, OBJECT, arity(1)),
]
