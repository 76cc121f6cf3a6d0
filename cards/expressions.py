"""Adaptive Expressions: the subset the card templates use, compiled once into Python closures.

Semantics follow the official `adaptive-expressions` 4.x package as driven by
`adaptivecards-templating` 2.3.1: case-insensitive property lookup, `${path}` null substitution,
and the error-swallowing rules of `if`, `not`, `and`, `or` and the comparisons.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from cards.jsvalues import UNDEFINED, js_equals, js_is_number, js_to_string

# Evaluates a compiled expression against a scope; `subst` enables `${path}` null substitution.
Evaluator = Callable[["Scope", bool], Any]


class ExpressionError(Exception):
    """An expression failed to evaluate (the JS engine reports an error for the same input)."""


class ExpressionSyntaxError(ValueError):
    """A template expression uses syntax or a function outside the supported subset."""


class Scope:
    """What an expression reads: `$root`, `$data` and `$index`, like the JS TemplateObjectMemory."""

    __slots__ = ("root", "data", "index")

    def __init__(self, root: Any, data: Any = UNDEFINED, index: Any = UNDEFINED) -> None:
        self.root = root
        self.data = data
        self.index = index

    def get(self, first: str) -> Any:
        """Value of a path's first segment; names without `$` live under `$data`."""
        low = first.lower()
        if low == "$root":
            return self.root
        if low == "$data":
            return self.current()
        if low == "$index":
            return self.index
        if first.startswith("$"):
            return UNDEFINED
        return lookup(self.current(), first)

    def current(self) -> Any:
        return self.root if self.data is UNDEFINED else self.data


_INT_PREFIX = re.compile(r"\s*[+-]?\d+")


def lookup(instance: Any, key: str) -> Any:
    """One path segment, like SimpleObjectMemory: list index or case-insensitive property."""
    if isinstance(instance, list):
        match = _INT_PREFIX.match(key)
        if match is not None:
            index = int(match.group())
            return instance[index] if 0 <= index < len(instance) else UNDEFINED
        return UNDEFINED
    if isinstance(instance, dict):
        found = _first_ci_key(instance, key)
        return UNDEFINED if found is None else instance[found]
    return UNDEFINED


def _first_ci_key(instance: dict, key: str) -> str | None:
    # JS uses Object.keys(o).find(k => k.toLowerCase() === key.toLowerCase()): first match wins.
    low = key.lower()
    for candidate in instance:
        if candidate.lower() == low:
            return candidate
    return None


# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\ufeff\u00a0\r\n]+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:\\['\\]|[^'])*?'|"(?:\\["\\]|[^"])*?")
  | (?P<ident>(?:@@|[a-zA-Z_#@$%])[a-zA-Z0-9_]*)
  | (?P<op>==|!=|<>|<=|>=|&&|\|\||[-+!<>().,])
    """,
    re.VERBOSE,
)


def _tokenize(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise ExpressionSyntaxError(f"unsupported syntax at {source[pos:]!r} in {source!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append((kind, match.group()))
    tokens.append(("end", ""))
    return tokens


# ---------------------------------------------------------------- parser

# Binary operators by precedence level, loosest first, as in ExpressionAntlrParser.g4.
_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",),
    ("&&",),
    ("<", "<=", ">", ">="),
    ("==", "!=", "<>"),
    ("+", "-"),
)


class _Node:
    """A parsed expression: an evaluator plus the null-substitution path when it is an accessor."""

    __slots__ = ("run", "path", "source")

    def __init__(self, run: Evaluator, source: str, path: str | None = None) -> None:
        self.run = run
        self.source = source
        self.path = path


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.pos = 0

    def parse(self) -> _Node:
        node = self.binary(0)
        if self.peek()[0] != "end":
            raise ExpressionSyntaxError(f"unexpected {self.peek()[1]!r} in {self.source!r}")
        return node

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos]

    def take(self, text: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.pos]
        if text is not None and token[1] != text:
            raise ExpressionSyntaxError(f"expected {text!r}, got {token[1]!r} in {self.source!r}")
        self.pos += 1
        return token

    def binary(self, level: int) -> _Node:
        if level == len(_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in _LEVELS[level]:
            op = self.take()[1]
            right = self.binary(level + 1)
            left = _call(_OPERATORS[op], [left, right], f"{left.source} {op} {right.source}")
        return left

    def unary(self) -> _Node:
        kind, text = self.peek()
        if kind == "op" and text in ("!", "-", "+"):
            self.take()
            operand = self.unary()
            if text == "!":
                return _call(_FUNCTIONS["not"], [operand], f"!{operand.source}")
            zero = _constant(0)
            return _call(_OPERATORS[text], [zero, operand], f"{text}{operand.source}")
        return self.primary()

    def primary(self) -> _Node:
        kind, text = self.take()
        if kind == "number":
            node = _constant(float(text) if "." in text else int(text))
        elif kind == "string":
            node = _constant(_unquote(text))
        elif kind == "op" and text == "(":
            node = self.binary(0)
            self.take(")")
        elif kind == "ident":
            node = self.identifier(text)
        else:
            raise ExpressionSyntaxError(f"unexpected {text!r} in {self.source!r}")
        return self.postfix(node)

    def identifier(self, name: str) -> _Node:
        if self.peek()[1] == "(":
            self.take("(")
            args: list[_Node] = []
            if self.peek()[1] != ")":
                args.append(self.binary(0))
                while self.peek()[1] == ",":
                    self.take(",")
                    args.append(self.binary(0))
            self.take(")")
            function = _FUNCTIONS.get(name)
            if function is None:
                raise ExpressionSyntaxError(f"function {name!r} is not supported ({self.source!r})")
            sources = ", ".join(arg.source for arg in args)
            return _call(function, args, f"{name}({sources})")
        literals = {"true": True, "false": False, "null": None, "undefined": UNDEFINED}
        if name in literals:
            return _constant(literals[name])
        return _accessor(name)

    def postfix(self, node: _Node) -> _Node:
        while True:
            text = self.peek()[1]
            if text == ".":
                self.take()
                kind, name = self.take()
                if kind != "ident":
                    raise ExpressionSyntaxError(f"expected a name after '.' in {self.source!r}")
                node = _member(node, name)
            else:
                return node


def _unquote(text: str) -> str:
    quote = text[0]
    body = text[1:-1].replace("\\" + quote, quote)
    # AEL's evalEscape: \\ \n \r \t and \" \' keep their usual meaning.
    escapes = {"\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t"}
    return re.sub(r"\\[\\nrt]", lambda m: escapes[m.group()], body)


# ---------------------------------------------------------------- node builders


def _constant(value: Any) -> _Node:
    def run(scope: Scope, subst: bool) -> Any:
        return value

    shown = "null" if value is None else repr(value)
    return _Node(run, shown)


def _substituted(value: Any, path: str, subst: bool) -> Any:
    if value is UNDEFINED and subst:
        return "${" + path + "}"
    return value


def _accessor(name: str) -> _Node:
    def run(scope: Scope, subst: bool) -> Any:
        return _substituted(scope.get(name), name, subst)

    return _Node(run, name, path=name)


def _member(instance: _Node, name: str) -> _Node:
    if instance.path is not None:
        path = f"{instance.path}.{name}"
        segments = _segments(path)

        def run_path(scope: Scope, subst: bool) -> Any:
            value = scope.get(segments[0])
            for segment in segments[1:]:
                if value is UNDEFINED:
                    break
                value = lookup(value, segment)
            return _substituted(value, path, subst)

        return _Node(run_path, path, path=path)

    # AEL evaluates the left side (which may substitute) and then reads the property.
    def run(scope: Scope, subst: bool) -> Any:
        left = instance.run(scope, subst)
        return _substituted(lookup(left, name) if left else UNDEFINED, name, subst)

    return _Node(run, f"{instance.source}.{name}")


def _segments(path: str) -> list[str]:
    return path.split(".")


def _call(function: Callable[..., Any], args: list[_Node], source: str) -> _Node:
    runs = [arg.run for arg in args]
    if getattr(function, "lazy", False):

        def run_lazy(scope: Scope, subst: bool) -> Any:
            return function(runs, scope, subst)

        return _Node(run_lazy, source)

    def run(scope: Scope, subst: bool) -> Any:
        return function(*[arg(scope, subst) for arg in runs])

    return _Node(run, source)


# ---------------------------------------------------------------- functions


def _lazy(function: Callable[..., Any]) -> Callable[..., Any]:
    function.lazy = True  # type: ignore[attr-defined]
    return function


def _logic_true(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return value is not None and value is not UNDEFINED


@_lazy
def _if(runs: list[Evaluator], scope: Scope, subst: bool) -> Any:
    try:
        condition = _logic_true(runs[0](scope, False))
    except ExpressionError:
        condition = False
    return runs[1](scope, subst) if condition else runs[2](scope, subst)


@_lazy
def _not(runs: list[Evaluator], scope: Scope, subst: bool) -> bool:
    try:
        return not _logic_true(runs[0](scope, False))
    except ExpressionError:
        return True


@_lazy
def _and(runs: list[Evaluator], scope: Scope, subst: bool) -> bool:
    for run in runs:
        try:
            if not _logic_true(run(scope, False)):
                return False
        except ExpressionError:
            return False
    return True


@_lazy
def _or(runs: list[Evaluator], scope: Scope, subst: bool) -> bool:
    for run in runs:
        try:
            if _logic_true(run(scope, False)):
                return True
        except ExpressionError:
            continue
    return False


def _comparison(test: Callable[[Any, Any], bool], not_null: bool = False) -> Callable[..., Any]:
    @_lazy
    def compare(runs: list[Evaluator], scope: Scope, subst: bool) -> bool:
        try:
            left, right = runs[0](scope, False), runs[1](scope, False)
        except ExpressionError:
            return False
        if not_null and (_nullish(left) or _nullish(right)):
            return False
        try:
            return test(left, right)
        except ExpressionError:
            return False

    return compare


def _nullish(value: Any) -> bool:
    return value is None or value is UNDEFINED


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def ordered(left: Any, right: Any) -> bool:
        if (js_is_number(left) and js_is_number(right)) or (
            isinstance(left, str) and isinstance(right, str)
        ):
            return test(left, right)
        raise ExpressionError("operands must be comparable")

    return ordered


def _add(*args: Any) -> Any:
    for arg in args:
        if not (_nullish(arg) or js_is_number(arg) or isinstance(arg, str)):
            raise ExpressionError(f"{arg!r} is neither a number nor string")
    result = args[0]
    for arg in args[1:]:
        if (_nullish(result) and js_is_number(arg)) or (_nullish(arg) and js_is_number(result)):
            raise ExpressionError("'+' cannot be applied to a number and null")
        if js_is_number(result) and js_is_number(arg):
            result = result + arg
        else:
            left = "" if _nullish(result) else js_to_string(result)
            result = left + ("" if _nullish(arg) else js_to_string(arg))
    return result


def _subtract(*args: Any) -> Any:
    for arg in args:
        if not js_is_number(arg):
            raise ExpressionError(f"{arg!r} is not a number.")
    result = args[0]
    for arg in args[1:]:
        result = result - arg
    return result


def _count(value: Any) -> int:
    if isinstance(value, str | list | dict):
        return len(value)
    raise ExpressionError(f"{value!r} must be a string, list, map or object.")


def _length(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-16-le")) // 2
    if _nullish(value):
        return 0
    raise ExpressionError(f"{value!r} is neither a string nor a null object.")


@_lazy
def _empty(runs: list[Evaluator], scope: Scope, subst: bool) -> bool:
    # A comparison in AEL: no null substitution, and a failed argument makes it false.
    try:
        value = runs[0](scope, False)
    except ExpressionError:
        return False
    if _nullish(value):
        return True
    if isinstance(value, str | list | dict):
        return len(value) == 0
    return False


def _join(items: Any, separator: Any, last: Any = UNDEFINED) -> str:
    if not isinstance(items, list):
        raise ExpressionError(f"{items!r} is not a list.")
    parts = ["" if _nullish(item) else js_to_string(item) for item in items]
    if last is UNDEFINED:
        return js_to_string(separator).join(parts)
    if len(parts) < 3:
        return js_to_string(last).join(parts)
    return js_to_string(separator).join(parts[:-1]) + js_to_string(last) + parts[-1]


def _case(transform: Callable[[str], str]) -> Callable[[Any], str]:
    def apply(value: Any) -> str:
        if isinstance(value, str):
            return transform(value)
        if value is UNDEFINED:
            return ""
        raise ExpressionError(f"{value!r} is neither a string nor a null object.")

    return apply


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "if": _if,
    "not": _not,
    "and": _and,
    "or": _or,
    "equals": _comparison(js_equals),
    "greater": _comparison(_ordered(lambda a, b: a > b), not_null=True),
    "greaterOrEquals": _comparison(_ordered(lambda a, b: a >= b), not_null=True),
    "less": _comparison(_ordered(lambda a, b: a < b), not_null=True),
    "lessOrEquals": _comparison(_ordered(lambda a, b: a <= b), not_null=True),
    "add": _add,
    "sub": _subtract,
    "count": _count,
    "length": _length,
    "empty": _empty,
    "join": _join,
    "toUpper": _case(str.upper),
    "toLower": _case(str.lower),
}

_OPERATORS: dict[str, Callable[..., Any]] = {
    "||": _FUNCTIONS["or"],
    "&&": _FUNCTIONS["and"],
    "==": _FUNCTIONS["equals"],
    "!=": _comparison(lambda a, b: not js_equals(a, b)),
    "<>": _comparison(lambda a, b: not js_equals(a, b)),
    "<": _FUNCTIONS["less"],
    "<=": _FUNCTIONS["lessOrEquals"],
    ">": _FUNCTIONS["greater"],
    ">=": _FUNCTIONS["greaterOrEquals"],
    "+": _add,
    "-": _subtract,
}


class Expression:
    """A compiled expression; `evaluate` raises ExpressionError where the JS engine reports one."""

    __slots__ = ("source", "_run")

    def __init__(self, source: str) -> None:
        self.source = source
        self._run = _Parser(source).parse().run

    def evaluate(self, scope: Scope, subst: bool) -> Any:
        return self._run(scope, subst)


def supported_functions() -> list[str]:
    """Names of the expression functions the engine implements."""
    return sorted(_FUNCTIONS)
