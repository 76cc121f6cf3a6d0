"""Collection functions: contains, first, last, join, count, foreach/select/where/any/all,
union, intersection, skip, take, subArray, sortBy, indicesAndValues, flatten, unique, merge.

Lambdas (`foreach(items, x => x.name)` or `foreach(items, x, x.name)`) read their iterator
first, then the card data, like AEL's StackedMemory.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from cards.functions.logic import logic_true, nullish
from cards.functions.types import (
    ARRAY,
    BOOLEAN,
    NUMBER,
    OBJECT,
    STRING,
    Function,
    Node,
    arity,
    lambda_args,
    no_check,
    order,
)
from cards.jsvalues import (
    UNDEFINED,
    from_utf16,
    js_equals,
    js_is_integer,
    js_is_number,
    js_sort_key,
    js_strict_equals,
    js_string,
    js_truthy,
    js_unique,
    utf16,
)
from cards.scope import ExpressionError, Scope, access_property


def _contains(nodes: list[Node], scope: Scope, subst: bool) -> bool:
    try:
        container, wanted = (node.run(scope, subst) for node in nodes)
    except ExpressionError:
        return False  # AEL drops the error of an argument here and answers false
    if isinstance(container, str) and isinstance(wanted, str):
        return wanted in container
    if isinstance(container, list):
        return any(js_equals(item, wanted) for item in container)
    if isinstance(wanted, str):
        return access_property(container, wanted) is not UNDEFINED
    return False


def _first(values: list[Any]) -> Any:
    value = values[0]
    if isinstance(value, str) and value:
        return from_utf16(utf16(value)[0])
    if isinstance(value, list) and value:
        return value[0]
    return UNDEFINED


def _last(values: list[Any]) -> Any:
    value = values[0]
    if isinstance(value, str) and value:
        return from_utf16(utf16(value)[-1])
    if isinstance(value, list) and value:
        return value[-1]
    return UNDEFINED


def _join_text(items: list, separator: Any) -> str:
    # Array.prototype.join: null and undefined items are empty; the default separator is ",".
    glue = "," if separator is UNDEFINED else js_string(separator)
    return glue.join("" if nullish(item) else js_string(item) for item in items)


def _join(values: list[Any]) -> str:
    items = values[0]
    if not isinstance(items, list):
        raise ExpressionError(f"{items!r} is not a list.")
    if len(values) == 2:
        return _join_text(items, values[1])
    if len(items) < 3:
        return _join_text(items, values[2])
    # firstPart.concat(last separator, last item): String() of each, so null prints "null".
    return _join_text(items[:-1], values[1]) + js_string(values[2]) + js_string(items[-1])


def _count(values: list[Any]) -> int:
    value = values[0]
    if isinstance(value, str):
        return len(utf16(value))
    if isinstance(value, list | dict):
        return len(value)
    raise ExpressionError(f"{value!r} must be a string, list, map or object.")


def _as_list(instance: Any, name: str) -> list:
    """convertToList: a list as is, an object as {key, value} pairs."""
    if isinstance(instance, list):
        return instance
    if isinstance(instance, dict):
        return [{"key": key, "value": value} for key, value in instance.items()]
    if instance is None:
        raise ExpressionError("Cannot convert undefined or null to object")
    raise ExpressionError(f"{instance!r} is not a collection or structure object to run {name}")


def _each(nodes: list[Node], scope: Scope, subst: bool, items: list) -> list[tuple[Any, Any, bool]]:
    name, body = nodes[1].name, nodes[2]
    results = []
    for item in items:
        try:
            results.append((item, body.run(scope.with_iterator(name, item), subst), False))
        except ExpressionError:
            results.append((item, None, True))
    return results


def _foreach(nodes: list[Node], scope: Scope, subst: bool) -> list:
    instance = nodes[0].run(scope, subst)
    if not js_truthy(instance):
        raise ExpressionError(f"'{nodes[0].source}' evaluated to null.")
    items = _as_list(instance, "Foreach")
    result = []
    name, body = nodes[1].name, nodes[2]
    for item in items:
        result.append(body.run(scope.with_iterator(name, item), subst))  # an error ends it all
    return result


def _where(nodes: list[Node], scope: Scope, subst: bool) -> Any:
    instance = nodes[0].run(scope, subst)
    items = _as_list(instance, "Where")
    kept = [
        item
        for item, value, failed in _each(nodes, scope, subst, items)
        if not failed and logic_true(value)
    ]
    if isinstance(instance, list):
        return kept
    return {pair["key"]: pair["value"] for pair in kept}


def _quantifier(every: bool) -> Callable[..., bool]:
    def run(nodes: list[Node], scope: Scope, subst: bool) -> bool:
        items = _as_list(nodes[0].run(scope, subst), "Any")
        name, body = nodes[1].name, nodes[2]
        for item in items:
            try:
                ok = logic_true(body.run(scope.with_iterator(name, item), subst))
            except ExpressionError:
                ok = False
            if every and not ok:
                return False
            if not every and ok:
                return True
        return every

    return run


def _lists(values: list[Any]) -> list[list]:
    for value in values:
        if not isinstance(value, list):
            raise ExpressionError(f"{value!r} is not a list or array.")
    return values


def _union(values: list[Any]) -> list:
    return js_unique([item for value in _lists(values) for item in value])


def _intersection(values: list[Any]) -> list:
    lists = _lists(values)
    result = lists[0]
    for other in lists:
        result = [item for item in result if any(js_strict_equals(item, o) for o in other)]
    return js_unique(result)


def _integer_arg(node: Node, scope: Scope, subst: bool) -> int:
    value = node.run(scope, subst)
    if not js_is_integer(value):
        raise ExpressionError(f"{node.source} is not an integer.")
    return int(value)


def _skip(nodes: list[Node], scope: Scope, subst: bool) -> list:
    items = nodes[0].run(scope, subst)
    if not isinstance(items, list):
        raise ExpressionError(f"{nodes[0].source} is not array.")
    return items[max(_integer_arg(nodes[1], scope, subst), 0) :]


def _take(nodes: list[Node], scope: Scope, subst: bool) -> Any:
    items = nodes[0].run(scope, subst)
    if not isinstance(items, list | str):
        raise ExpressionError(f"{nodes[0].source} is not array or string.")
    count = max(_integer_arg(nodes[1], scope, subst), 0)
    if isinstance(items, str):
        return from_utf16(utf16(items)[:count])
    return items[:count]


def _sub_array(nodes: list[Node], scope: Scope, subst: bool) -> list:
    items = nodes[0].run(scope, subst)
    if not isinstance(items, list):
        raise ExpressionError(f"{nodes[0].source} is not array.")
    start = _integer_arg(nodes[1], scope, subst)
    if not 0 <= start <= len(items):
        raise ExpressionError(f"{nodes[1].source}={start} is out of range")
    end = len(items)
    if len(nodes) == 3:
        end = _integer_arg(nodes[2], scope, subst)
        if not 0 <= end <= len(items):
            raise ExpressionError(f"{nodes[2].source}={end} is out of range")
    return items[start:end]


def _js_number_of(value: Any) -> float:
    """ToNumber, for the relational comparison `a[key] > b[key]`."""
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if js_is_number(value):
        return float(value)
    if isinstance(value, str | list):
        text = js_string(value).strip()
        try:
            return float(text) if text else 0.0
        except ValueError:
            return float("nan")
    return float("nan")


def _js_greater(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return js_sort_key(left) > js_sort_key(right)
    return _js_number_of(left) > _js_number_of(right)


def _default_order(item: Any) -> tuple:
    # Array.prototype.sort(): undefined last, everything else by its String() in UTF-16 order.
    if item is UNDEFINED:
        return (1, b"")
    text = "[object Object]" if isinstance(item, dict) else js_string(item)
    return (0, js_sort_key(text))


def _sort_by(descending: bool) -> Callable[..., list]:
    def run(nodes: list[Node], scope: Scope, subst: bool) -> list:
        items = nodes[0].run(scope, subst)
        if not isinstance(items, list):
            raise ExpressionError(f"{nodes[0].source} is not an array")
        if len(nodes) == 1:
            ordered = sorted(items, key=_default_order)
        else:
            key = nodes[1].run(scope, subst) or ""
            key = js_string(key)

            def value(item: Any) -> Any:
                return item.get(key, UNDEFINED) if isinstance(item, dict) else UNDEFINED

            def compare(a: Any, b: Any) -> int:
                left, right = value(a), value(b)
                return 1 if _js_greater(left, right) else -1 if _js_greater(right, left) else 0

            ordered = sorted(items, key=functools.cmp_to_key(compare))
        return ordered[::-1] if descending else ordered

    return run


def _indices_and_values(values: list[Any]) -> list:
    value = values[0]
    if isinstance(value, list):
        return [{"index": i, "value": item} for i, item in enumerate(value)]
    if isinstance(value, dict):
        return [{"index": key, "value": item} for key, item in value.items()]
    raise ExpressionError(f"{value!r} is not array or object.")


def _flatten(values: list[Any]) -> list:
    items = values[0]
    depth = values[1] if len(values) > 1 else 100
    if not isinstance(items, list):
        raise ExpressionError(f"{items!r} is not an array")
    if not js_is_number(depth) or depth < 1:
        depth = 1
    result = copy.deepcopy(items)  # JSON.parse(JSON.stringify(arr)): a copy
    level = 0
    while level < depth and any(isinstance(item, list) for item in result):
        result = [part for item in result for part in (item if isinstance(item, list) else [item])]
        level += 1
    return result


def _unique(values: list[Any]) -> list:
    return js_unique(_lists(values)[0])


def _merge(values: list[Any]) -> dict:
    result: dict = {}
    for value in values:
        if isinstance(value, list):
            for item in value:
                if not isinstance(item, dict):
                    raise ExpressionError(f"The argument {item!r} in array must be a JSON object.")
                result.update(item)
        elif isinstance(value, dict):
            result.update(value)
        else:
            raise ExpressionError(f"The argument {value!r} must be a JSON object or array.")
    return result


FUNCTIONS = [
    Function("contains", _contains, BOOLEAN, arity(2, 2), lazy=True),
    Function("first", _first, OBJECT, arity(1, 1)),
    Function("last", _last, OBJECT, arity(1, 1)),
    Function("join", _join, STRING, order(ARRAY, STRING, optional=(STRING,))),
    Function("count", _count, NUMBER, order(STRING | ARRAY)),
    Function("foreach", _foreach, ARRAY, lambda_args, lazy=True),
    Function("select", _foreach, ARRAY, lambda_args, lazy=True),
    Function("where", _where, ARRAY, lambda_args, lazy=True),
    Function("any", _quantifier(every=False), BOOLEAN, lambda_args, lazy=True),
    Function("all", _quantifier(every=True), BOOLEAN, lambda_args, lazy=True),
    Function("union", _union, ARRAY, arity(1, kind=ARRAY)),
    Function("intersection", _intersection, ARRAY, arity(1, kind=ARRAY)),
    Function("skip", _skip, ARRAY, order(ARRAY, NUMBER), lazy=True),
    Function("take", _take, ARRAY | STRING, order(ARRAY | STRING, NUMBER), lazy=True),
    Function("subArray", _sub_array, ARRAY, order(ARRAY, NUMBER, optional=(NUMBER,)), lazy=True),
    Function("sortBy", _sort_by(False), ARRAY, order(ARRAY, optional=(STRING,)), lazy=True),
    Function(
        "sortByDescending", _sort_by(True), ARRAY, order(ARRAY, optional=(STRING,)), lazy=True
    ),
    Function("indicesAndValues", _indices_and_values, ARRAY, arity(1, 1)),
    Function("flatten", _flatten, ARRAY, order(ARRAY, optional=(NUMBER,))),
    Function("unique", _unique, ARRAY, order(ARRAY)),
    Function("merge", _merge, OBJECT, arity(1)),
    Function("createArray", lambda values: list(values), ARRAY, no_check),
]
