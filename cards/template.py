"""Adaptive Card Template Language: a template is compiled once into closures, then expanded.

Expansion follows `adaptivecards-templating` 2.3.1 (`Template.expand({$root: data})`): `${…}`
bindings keep the bound value's type when they are the whole string, `$data` repeats an object per
array item, `$when` keeps an object only when it is boolean true, `$index`/`$root` are in scope,
nulls vanish from arrays and nested arrays are flattened. Data values are never parsed as template.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from cards.expressions import Expression, ExpressionError, Scope
from cards.jsvalues import UNDEFINED, js_to_string

Node = Callable[[Scope], Any]

RESERVED = frozenset({"$data", "$when", "$root", "$index", "$host", "$_acTemplateVersion"})


class TemplateError(Exception):
    """Expansion failed where the official engine throws as well."""


class Template:
    """A compiled card template; `expand(data)` returns a fresh JSON-ready value."""

    __slots__ = ("_root",)

    def __init__(self, payload: Any) -> None:
        self._root = _compile(payload)

    def expand(self, data: Any) -> Any:
        value = self._root(Scope(data))
        return None if value is UNDEFINED else value


# ---------------------------------------------------------------- interpolated strings


def split_interpolated(text: str) -> list[str | Expression]:
    """Literal text and compiled `${…}` expressions of a template string, in order."""
    parts: list[str | Expression] = []
    literal: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text) and text[pos + 1] in "`$":
            _flush(literal, parts)
            parts.append(text[pos + 1])
            pos += 2
        elif char == "`":
            raise ValueError(f"a template string may not contain a backtick: {text!r}")
        elif text.startswith("${", pos):
            end = _expression_end(text, pos + 2)
            _flush(literal, parts)
            parts.append(Expression(text[pos + 2 : end]))
            pos = end + 1
        else:
            literal.append(char)
            pos += 1
    _flush(literal, parts)
    return parts


def _flush(literal: list[str], parts: list[str | Expression]) -> None:
    if literal:
        parts.append("".join(literal))
        literal.clear()


def _expression_end(text: str, pos: int) -> int:
    # The lexer's TEMPLATE token: quoted strings may hold braces, object literals nest `{…}`;
    # no newlines or backticks.
    start = pos
    depth = 0
    while pos < len(text):
        char = text[pos]
        if char in "'\"":
            close = pos + 1
            while close < len(text) and text[close] != char:
                close += 2 if text[close] == "\\" else 1
            pos = close + 1
        elif char == "{":
            depth += 1
            pos += 1
        elif char == "}" and depth:
            depth -= 1
            pos += 1
        elif char == "}":
            if pos == start:
                raise ValueError(f"empty expression in {text!r}")
            return pos
        elif char in "\r\n`":
            raise ValueError(f"unsupported character {char!r} in an expression of {text!r}")
        else:
            pos += 1
    raise ValueError(f"unterminated expression in {text!r}")


# ---------------------------------------------------------------- compilation


def _compile(node: Any) -> Node:
    if isinstance(node, str):
        return _compile_string(node)
    if isinstance(node, list):
        return _compile_list(node)
    if isinstance(node, dict):
        return _compile_object(node)
    return lambda scope: node


def _compile_string(text: str) -> Node:
    if "${" not in text:
        return lambda scope: text
    parts = split_interpolated(text)
    if len(parts) == 1 and isinstance(parts[0], Expression) and parts[0].parts is not None:
        parts = list(parts[0].parts)
    elif len(parts) == 1 and isinstance(parts[0], Expression):
        expression = parts[0]

        def single(scope: Scope) -> Any:
            try:
                value = expression.evaluate(scope, True)
            except ExpressionError as exc:
                raise TemplateError(str(exc)) from exc
            if isinstance(value, float) and not math.isfinite(value):
                return None  # JSON has no NaN or Infinity; JSON.stringify writes null
            return value

        return single

    def concat(scope: Scope) -> str:
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            try:
                value = part.evaluate(scope, True)
            except ExpressionError:
                value = "${" + part.source + "}"
            try:
                out.append(js_to_string(value))
            except TypeError as exc:
                raise TemplateError(f"{part.source}: {exc}") from exc
        return "".join(out)

    return concat


def _compile_list(items: list) -> Node:
    children = [_compile(item) for item in items]

    def expand_list(scope: Scope) -> list:
        result: list = []
        for child in children:
            value = child(scope)
            if value is None:
                continue
            if isinstance(value, list):
                result.extend(value)
            else:
                result.append(value)
        return result

    return expand_list


def _compile_object(node: dict) -> Node:
    fields = [(key, _compile(value)) for key, value in node.items() if key not in RESERVED]
    when = _compile_when(node.get("$when", UNDEFINED))
    data = _compile_data(node.get("$data", UNDEFINED))

    def expand_fields(scope: Scope) -> dict:
        result = {}
        for key, child in fields:
            value = child(scope)
            if value is not UNDEFINED:
                result[key] = value
        return result

    if data is None and when is None:
        return expand_fields

    def expand_object(scope: Scope) -> Any:
        saved_data, saved_index = scope.data, scope.index
        contexts: list = [UNDEFINED]
        repeated = False
        if data is not None:
            value = data(scope)
            repeated = isinstance(value, list)
            contexts = value if repeated else [value]
        results = []
        for position, context in enumerate(contexts):
            if repeated:
                scope.index = position
            if context is not UNDEFINED:
                scope.data = context
            if when is None or when(scope):
                results.append(expand_fields(scope))
        scope.data, scope.index = saved_data, saved_index
        if not results:
            return None
        return results[0] if len(results) == 1 else results

    return expand_object


def _compile_when(when: Any) -> Callable[[Scope], bool] | None:
    if when is UNDEFINED:
        return None
    if not (isinstance(when, str) and "${" in when):
        # A $when that is not an expression drops the object when it is truthy (JS rules).
        keep = not _js_truthy(when)
        return lambda scope: keep
    parts = split_interpolated(when)
    if not (len(parts) == 1 and isinstance(parts[0], Expression)):
        return lambda scope: False  # an interpolated string is never boolean true
    expression = parts[0]

    def test(scope: Scope) -> bool:
        try:
            return expression.evaluate(scope, False) is True
        except ExpressionError:
            return False

    return test


def _js_truthy(value: Any) -> bool:
    if value is None or value is UNDEFINED or value is False:
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and value == value
    if isinstance(value, str):
        return value != ""
    return True


def _compile_data(data: Any) -> Node | None:
    if data is UNDEFINED:
        return None
    if isinstance(data, str) and "${" in data:
        return _compile_string(data)
    return lambda scope: data
