"""Parsed expression nodes, their static return types, and the load-time argument checks.

AEL checks each call when it parses an expression (arity, and literal arguments of the wrong
type such as `toUpper(1)`); so does this engine, so that the same templates are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# AEL's ReturnType flags.
BOOLEAN, NUMBER, OBJECT, STRING, ARRAY = 1, 2, 4, 8, 16
MANY = 1 << 30


class Node:
    """One parsed expression: `run(scope, subst)` evaluates it; the rest describes it."""

    __slots__ = (
        "run",
        "source",
        "rtype",
        "kind",
        "value",
        "name",
        "parent",
        "instance",
        "index",
        "args",
    )

    def __init__(self, run: Callable[..., Any], source: str, rtype: int, kind: str) -> None:
        self.run = run
        self.source = source
        self.rtype = rtype
        self.kind = kind  # constant | accessor | element | object | call
        self.value: Any = None
        self.name = ""
        self.parent: Node | None = None
        self.instance: Node | None = None
        self.index: Node | None = None
        self.args: list[Node] = []  # a call's arguments


Validator = Callable[[str, list[Node]], None]


@dataclass(frozen=True)
class Function:
    """An expression function: eager `run(values)`, or lazy `run(nodes, scope, subst)`."""

    name: str
    run: Callable[..., Any]
    returns: int
    validate: Validator
    lazy: bool = False


def _type_ok(wanted: int, node: Node) -> bool:
    return bool(wanted & OBJECT or node.rtype & OBJECT or wanted & node.rtype)


def arity(low: int, high: int = MANY, kind: int = OBJECT) -> Validator:
    """validateArityAndAnyType: between low and high arguments, each of the given type."""

    def check(source: str, args: list[Node]) -> None:
        if len(args) < low:
            raise ValueError(f"{source} should have at least {low} children.")
        if len(args) > high:
            raise ValueError(f"{source} can't have more than {high} children.")
        for arg in args:
            if not _type_ok(kind, arg):
                raise ValueError(f"{source}: {arg.source} has the wrong type.")

    return check


def order(*kinds: int, optional: tuple[int, ...] = ()) -> Validator:
    """validateOrder: the required argument types in order, then optional ones."""

    def check(source: str, args: list[Node]) -> None:
        if not len(kinds) <= len(args) <= len(kinds) + len(optional):
            raise ValueError(
                f"{source} should have between {len(kinds)} and {len(kinds) + len(optional)}"
                " children."
            )
        for wanted, arg in zip((*kinds, *optional), args, strict=False):
            if not _type_ok(wanted, arg):
                raise ValueError(f"{source}: {arg.source} has the wrong type.")

    return check


def lambda_args(source: str, args: list[Node]) -> None:
    """ValidateLambdaExpression: (collection, iterator name, expression)."""
    if len(args) != 3:
        raise ValueError(f"{source}: a lambda expects 3 parameters, found {len(args)}")
    second = args[1]
    if second.kind != "accessor" or second.parent is not None:
        raise ValueError(f"{source}: second parameter is not an identifier: {second.source}")


def no_check(source: str, args: list[Node]) -> None:
    return None
