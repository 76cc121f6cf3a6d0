"""Adaptive Expressions, parsed once into a tree of Python closures.

The grammar, operator precedence and evaluation rules are those of the official
`adaptive-expressions` 4.23.3 package as `adaptivecards-templating` 2.3.1 drives it: member
access and indexing (`a.b[0].c`, `$root.items[1]`, `a['key']`), array and object literals,
lambdas (`foreach(items, x => x.name)`), `${path}` null substitution, and the functions of
cards.functions. Every function name, arity and literal argument type is checked when the
template is loaded; an unsupported function is refused there, by name, never at render time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from cards.functions import FUNCTIONS, Function
from cards.functions.types import BOOLEAN, NUMBER, OBJECT, STRING, Node
from cards.jsvalues import UNDEFINED, js_number, js_parse_int, js_string
from cards.scope import ExpressionError, Scope, access_index, access_property, split_path, walk

__all__ = ["Expression", "ExpressionError", "ExpressionSyntaxError", "Scope", "supported_functions"]


class ExpressionSyntaxError(ValueError):
    """A template expression is malformed, or uses a function the engine does not support."""


# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\ufeff\u00a0\r\n]+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")
  | (?P<ident>(?:@@|[a-zA-Z_#@$]|%(?=[a-zA-Z0-9_]))[a-zA-Z0-9_]*)
  | (?P<op>=>|==|!=|<>|<=|>=|&&|\|\||\?\?|[-+!<>().,*/%^&?:\[\]{}])
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


# Binary operators by precedence, loosest first, as in ExpressionAntlrParser.g4 (the JS engine
# reads `1 < 2 == true` as `1 < (2 == true)` and `1 + 2 & 3 == 3` as `(1 + 2) & (3 == 3)`).
_LEVELS: tuple[tuple[str, ...], ...] = (
    ("??",),
    ("||",),
    ("&&",),
    ("<", "<=", ">", ">="),
    ("&",),
    ("==", "!="),  # `<>` lexes, but the JS engine has no function for it: refused at load
    ("+", "-"),
    ("*", "/", "%"),
)
_OPERATOR_FUNCTIONS = {
    "??": "coalesce",
    "||": "or",
    "&&": "and",
    "<": "less",
    "<=": "lessOrEquals",
    ">": "greater",
    ">=": "greaterOrEquals",
    "&": "concat",
    "==": "equals",
    "!=": "!=",
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "div",
    "%": "mod",
    "^": "^",
    "!": "not",
}
_LITERALS = {"true": True, "false": False, "null": None, "undefined": UNDEFINED}


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.pos = 0

    def parse(self) -> Node:
        node = self.expression()
        if self.peek() != "end":
            raise ExpressionSyntaxError(f"unexpected {self.peek()!r} in {self.source!r}")
        return node

    def peek(self) -> str:
        kind, text = self.tokens[self.pos]
        return "end" if kind == "end" else text

    def take(self, text: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.pos]
        if text is not None and (token[1] != text or token[0] in ("string", "end")):
            raise ExpressionSyntaxError(f"expected {text!r}, got {token[1]!r} in {self.source!r}")
        self.pos += 1
        return token

    def expression(self) -> Node:
        condition = self.binary(0)
        if self.peek() != "?":
            return condition
        self.take("?")
        yes = self.expression()
        self.take(":")
        no = self.expression()
        return self.call("if", [condition, yes, no])

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.power()
        left = self.binary(level + 1)
        while self.tokens[self.pos][0] == "op" and self.peek() in _LEVELS[level]:
            op = self.take()[1]
            right = self.binary(level + 1)
            left = self.call(_OPERATOR_FUNCTIONS[op], [left, right], f"{left.source} {op} {right}")
        return left

    def power(self) -> Node:
        base = self.unary()
        if self.tokens[self.pos][0] == "op" and self.peek() == "^":
            self.take()
            exponent = self.power()  # right-associative: 2^3^2 is 2^9
            return self.call("^", [base, exponent], f"{base.source} ^ {exponent.source}")
        return base

    def unary(self) -> Node:
        kind, text = self.tokens[self.pos]
        if kind == "op" and text in ("!", "-", "+"):
            self.take()
            operand = self.unary()
            if text == "!":
                return self.call("not", [operand], f"!{operand.source}")
            zero = _constant(0)
            name = "add" if text == "+" else "sub"
            return self.call(name, [zero, operand], f"{text}{operand.source}")
        return self.postfix(self.primary())

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "number":
            return _constant(js_number(float(text)) if "." in text else js_number(int(text)))
        if kind == "string":
            return _constant(_unquote(text))
        if kind == "op" and text == "(":
            node = self.expression()
            self.take(")")
            return node
        if kind == "op" and text == "[":
            return self.call("createArray", self.arguments("]"), f"[{text}]")
        if kind == "op" and text == "{":
            return self.object_literal()
        if kind == "ident":
            if text in _LITERALS and self.peek() != "(":
                return _constant(_LITERALS[text])
            return _accessor(text, None)
        raise ExpressionSyntaxError(f"unexpected {text or 'end'!r} in {self.source!r}")

    def postfix(self, node: Node) -> Node:
        while True:
            text = self.peek()
            if text == ".":
                self.take()
                kind, name = self.take()
                if kind != "ident":
                    raise ExpressionSyntaxError(f"expected a name after '.' in {self.source!r}")
                node = _accessor(name, node)
            elif text == "[":
                self.take()
                index = self.expression()
                self.take("]")
                node = _element(node, index)
            elif text == "(":
                if node.kind != "accessor":
                    raise ExpressionSyntaxError(
                        f"only a function name can be called: {self.source!r}"
                    )
                self.take()
                node = self.call(node.source, self.arguments(")"))
            else:
                return node

    def arguments(self, close: str) -> list[Node]:
        args: list[Node] = []
        while self.peek() != close:
            kind, text = self.tokens[self.pos]
            if kind == "ident" and self.tokens[self.pos + 1][1] == "=>":
                self.pos += 2  # a lambda `x => body` is two arguments: x and body
                args.append(_accessor(text, None))
            args.append(self.expression())
            if self.peek() != close:
                self.take(",")
        self.take(close)
        return args

    def object_literal(self) -> Node:
        pairs: list[tuple[str, Node]] = []
        while self.peek() != "}":
            kind, key = self.take()
            if kind == "string":
                key = key[1:-1]
            elif kind != "ident":
                raise ExpressionSyntaxError(f"expected a property name in {self.source!r}")
            self.take(":")
            pairs.append((key, self.expression()))
            if self.peek() != "}":
                self.take(",")
        self.take("}")
        return _object(pairs)

    def call(self, name: str, args: list[Node], source: str | None = None) -> Node:
        function = FUNCTIONS.get(name)
        if function is None:
            raise ExpressionSyntaxError(
                f"function {name!r} is not supported by Vigil's card engine ({self.source!r});"
                " see docs/cards.md for the supported functions"
            )
        shown = source or f"{name}({', '.join(arg.source for arg in args)})"
        try:
            function.validate(shown, args)
        except ValueError as exc:
            raise ExpressionSyntaxError(f"{exc} (in {self.source!r})") from None
        return _call(function, args, shown)


def _unquote(text: str) -> str:
    quote = text[0]
    body = text[1:-1].replace("\\" + quote, quote)
    # AEL's evalEscape: \\ \n \r \t keep their usual meaning; other backslashes stay.
    escapes = {"\\\\": "\\", "\\n": "\n", "\\r": "\r", "\\t": "\t"}
    return re.sub(r"\\[\\nrt]", lambda m: escapes[m.group()], body)


# ---------------------------------------------------------------- node builders


def _constant(value: Any) -> Node:
    def run(scope: Scope, subst: bool) -> Any:
        return value

    if isinstance(value, bool):
        kind = BOOLEAN
    elif isinstance(value, int | float):
        kind = NUMBER
    elif isinstance(value, str):
        kind = STRING
    else:
        kind = OBJECT
    shown = "null" if value is None else repr(value)
    node = Node(run, shown, kind, "constant")
    node.value = value
    return node


def _accessor(name: str, parent: Node | None) -> Node:
    source = name if parent is None else f"{parent.source}.{name}"
    node = Node(_never, source, OBJECT, "accessor")
    node.name, node.parent = name, parent
    static = _static_path(node)
    if static is not None:
        parts = split_path(static)

        def run_static(scope: Scope, subst: bool) -> Any:
            value = scope.read(parts)
            return "${" + static + "}" if value is UNDEFINED and subst else value

        node.run = run_static
        return node

    def run(scope: Scope, subst: bool) -> Any:
        path, left = _accumulate(node, scope, subst)
        if left is None:
            value = scope.read(split_path(path))
        else:
            base = left.run(scope, subst)
            value = _walk_base(base, split_path(path))
        return "${" + path + "}" if value is UNDEFINED and subst else value

    node.run = run
    return node


def _never(scope: Scope, subst: bool) -> Any:
    raise AssertionError("replaced when the node is built")


def _static_path(node: Node) -> str | None:
    """The path of a chain of plain names (`a.b.c`), known when the template is loaded."""
    names: list[str] = []
    current: Node | None = node
    while current is not None:
        if current.kind != "accessor":
            return None
        names.append(current.name)
        current = current.parent
    return ".".join(reversed(names))


def _accumulate(node: Node, scope: Scope, subst: bool) -> tuple[str, Node | None]:
    """FunctionUtils.tryAccumulatePath: names and evaluated indexes into one path string."""
    path = ""
    left: Node | None = node
    while left is not None:
        if left.kind == "accessor":
            path = f"{left.name}.{path}"
            left = left.parent
        elif left.kind == "element":
            value = left.index.run(scope, subst)
            text = js_string(value) if not isinstance(value, dict) else "[object Object]"
            if js_parse_int(text) == js_parse_int(text):  # isNumber(parseInt(value))
                path = f"[{text}].{path}"
            elif isinstance(value, str):
                path = f"['{value}'].{path}"
            else:
                raise ExpressionError(f"{left.index.source} doesn't return an int or string")
            left = left.instance
        else:
            break
    path = re.sub(r"\.*$", "", path).replace(".[", "[")
    return path, left


def _walk_base(base: Any, parts: list[str]) -> Any:
    if base is UNDEFINED or not parts:
        return UNDEFINED
    return walk(base, parts)


def _element(instance: Node, index: Node) -> Node:
    def run(scope: Scope, subst: bool) -> Any:
        container = instance.run(scope, subst)
        key = index.run(scope, False)
        if isinstance(key, int | float) and not isinstance(key, bool) and float(key).is_integer():
            return access_index(container, int(key))
        if isinstance(key, str):
            return access_property(container, key)
        raise ExpressionError(f"Could not coerce {index.source} to an int or string.")

    node = Node(run, f"{instance.source}[{index.source}]", OBJECT, "element")
    node.instance, node.index = instance, index
    return node


def _object(pairs: list[tuple[str, Node]]) -> Node:
    def run(scope: Scope, subst: bool) -> dict:
        result = {}
        for key, value in pairs:
            item = value.run(scope, subst)
            if item is not UNDEFINED:
                result[key] = item
        return result

    shown = ", ".join(f"{key}: {value.source}" for key, value in pairs)
    return Node(run, "{" + shown + "}", OBJECT, "object")


def _call(function: Function, args: list[Node], source: str) -> Node:
    if function.lazy:
        impl = function.run

        def run_lazy(scope: Scope, subst: bool) -> Any:
            return impl(args, scope, subst)

        node = Node(run_lazy, source, function.returns, "call")
        node.name, node.args = function.name, args
        return node

    eager: Callable[[list[Any]], Any] = function.run
    runs = [arg.run for arg in args]

    def run(scope: Scope, subst: bool) -> Any:
        return eager([each(scope, subst) for each in runs])

    node = Node(run, source, function.returns, "call")
    node.name, node.args = function.name, args
    return node


class Expression:
    """A compiled expression; `evaluate` raises ExpressionError where the JS engine reports one."""

    __slots__ = ("source", "_run", "parts")

    def __init__(self, source: str) -> None:
        self.source = source
        root = _Parser(source).parse()
        self._run = root.run
        # adaptivecards-templating joins the arguments of a top-level concat (or `&`) itself,
        # as it does the parts of "a ${x} b": each one's text, a failed one as "${…}".
        self.parts: list[Expression] | None = None
        if root.kind == "call" and root.name == "concat":
            self.parts = [_from_node(arg) for arg in root.args]

    def evaluate(self, scope: Scope, subst: bool) -> Any:
        return self._run(scope, subst)


def _from_node(node: Node) -> Expression:
    expression = Expression.__new__(Expression)
    expression.source, expression._run, expression.parts = node.source, node.run, None
    return expression


def supported_functions() -> list[str]:
    """Names of the expression functions the engine implements."""
    return sorted(name for name in FUNCTIONS if name.isidentifier())
