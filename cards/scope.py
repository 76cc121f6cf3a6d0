"""What an expression reads, and how a path reads it: the memories of the official JS engine.

`adaptivecards-templating` 2.3.1 evaluates against a TemplateObjectMemory (`$root`, `$data`,
`$index`; a path without `$` is read under `$data`), and a lambda (`foreach(items, x => …)`)
stacks a memory holding its iterator on top. Paths are read like AEL's SimpleObjectMemory:
property names are case-insensitive and a failed step yields undefined, never an error.
"""

from __future__ import annotations

import re
from typing import Any

from cards.jsvalues import UNDEFINED, js_truthy


class ExpressionError(Exception):
    """An expression failed to evaluate (the JS engine reports an error for the same input)."""


class Scope:
    """`$root`, `$data` and `$index`, like the JS TemplateObjectMemory, plus lambda iterators."""

    __slots__ = ("root", "data", "index", "frames")

    def __init__(self, root: Any, data: Any = UNDEFINED, index: Any = UNDEFINED) -> None:
        self.root = root
        self.data = data
        self.index = index
        self.frames: tuple[tuple[str, Any], ...] = ()  # innermost lambda iterator last

    def current(self) -> Any:
        return self.root if self.data is UNDEFINED else self.data

    def with_iterator(self, name: str, item: Any) -> Scope:
        inner = Scope(self.root, self.data, self.index)
        inner.frames = (*self.frames, (name, item))
        return inner

    def read(self, parts: list[str]) -> Any:
        """The value at a path already split into parts (`a.b[0]` is `a`, `b`, `0`)."""
        first = parts[0]
        if not self.frames and first[0] != "$":
            return walk(self.root if self.data is UNDEFINED else self.data, parts)
        for name, item in reversed(self.frames):
            # StackedMemory: the first memory that has a value for the whole path wins.
            if parts[0].lower() == name.lower():
                value = walk(item, parts[1:])
                if value is not UNDEFINED:
                    return value
        if not first.startswith("$"):
            return walk(self.current(), parts)
        low = first.lower()
        if low == "$root":
            base = self.root
        elif low == "$data":
            base = self.current()
        elif low == "$index":
            base = self.index
        else:
            return UNDEFINED
        return walk(base, parts[1:])


_SPLIT = re.compile(r"[.\[\]]+")
_INT_PREFIX = re.compile(r"\s*[+-]?\d+")


def split_path(path: str) -> list[str]:
    """SimpleObjectMemory's split: on dots and brackets, quotes around a part removed."""
    parts = []
    for part in _SPLIT.split(path):
        if not part:
            continue
        if len(part) >= 2 and part[0] == part[-1] and part[0] in "'\"":
            part = part[1:-1]
        parts.append(part)
    return parts


def walk(value: Any, parts: list[str]) -> Any:
    """Follow the parts from value; undefined as soon as a step fails."""
    for part in parts:
        if isinstance(value, dict):  # the common case first: a property of an object
            value = _property(value, part)
            continue
        match = _INT_PREFIX.match(part) if isinstance(value, list) else None
        if match is not None:
            index = int(match.group())
            if not 0 <= index < len(value):
                return UNDEFINED
            value = value[index]
        else:
            value = access_property(value, part)
    return value


def _property(instance: dict, key: str) -> Any:
    # Object.keys(o).find(k => k.toLowerCase() === key.toLowerCase()): the first match wins.
    low = key.lower()
    for candidate in instance:
        if candidate.lower() == low:
            return instance[candidate]
    return UNDEFINED


def access_property(instance: Any, key: str) -> Any:
    """AEL's accessProperty: the first key equal ignoring case; undefined for falsy instances."""
    if isinstance(instance, dict):
        return _property(instance, key)
    if not js_truthy(instance):
        return UNDEFINED
    if isinstance(instance, list | str) and key.isdigit() and str(int(key)) == key:
        # Object.keys of an array or string are its indexes.
        index = int(key)
        return instance[index] if index < len(instance) else UNDEFINED
    return UNDEFINED


def access_index(instance: Any, index: int) -> Any:
    """AEL's accessIndex: undefined for null, an error out of range or on a non-list."""
    if instance is None or instance is UNDEFINED:
        return UNDEFINED
    if not isinstance(instance, list):
        raise ExpressionError(f"{instance!r} is not a collection.")
    if not 0 <= index < len(instance):
        raise ExpressionError(f"{index} is out of range")
    return instance[index]
