"""Text made storable once, where it enters Vigil: the rule every edge applies.

Two things in otherwise valid JSON cannot be stored: a lone surrogate (`"\\ud800"` is a legal
JSON escape but no UTF-8 text, so neither SQLite nor PostgreSQL take it) and NUL (`"\\u0000"`,
which PostgreSQL refuses in text). The rule, the same on both backends:

- in text that is read (a message, a display name, a title, a card value), each lone surrogate
  and each NUL becomes U+FFFD, the replacement character, so the reader sees that something
  was there and every other character is kept;
- an identifier (an activity or conversation id, an alert's id) is never changed, because two
  different ids would become one: it is refused (`Unstorable`, with the field named), and the
  edge answers 400 or 422.

Valid surrogate pairs never reach here as two halves: `json.loads` joins them into one
character. The scan is one pass per string (a character class, no backtracking).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# How JSON text can carry them: as escapes, or (json.loads decodes bytes with "surrogatepass") as
# UTF-8-encoded surrogates, ED A0..BF xx. A NUL byte anywhere (also every UTF-16/32 body) makes
# the bytes unreadable this way, so it counts as a match. False alarms only cost the walk.
_IN_JSON = re.compile(rb"\x00|\xed[\xa0-\xbf]|\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


class Unstorable(ValueError):
    """An identifier holds a character the store cannot hold; `field` names it."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: holds a lone surrogate or NUL, which cannot be stored")
        self.field = field


def json_is_storable(raw: bytes) -> bool:
    """True when JSON text `raw` cannot parse to anything unstorable: the walk can be skipped."""
    return _IN_JSON.search(raw) is None


def is_storable(text: str) -> bool:
    """True when `text` has no lone surrogate and no NUL."""
    if text.isascii():
        return "\x00" not in text
    return _UNSTORABLE.search(text) is None


def storable_text(text: str) -> str:
    """`text` with each lone surrogate and each NUL replaced by U+FFFD."""
    return text if is_storable(text) else _UNSTORABLE.sub(REPLACEMENT, text)


def exact(text: str, field: str) -> str:
    """An identifier, unchanged; Unstorable naming `field` when it cannot be stored as it is."""
    if not is_storable(text):
        raise Unstorable(field)
    return text


def storable_data(value: Any, ids: Collection[str] = ()) -> Any:
    """JSON data with every string (keys too) made storable; the strings at the dotted paths
    in `ids` (e.g. "from.id") are identifiers: Unstorable names the first that is not.

    Walked without recursion, so a deep document cannot exhaust the stack."""
    paths = frozenset(ids)
    root: list[Any] = [None]
    # (container to fill, its key or index, the value to copy there, the value's dotted path)
    stack: list[tuple[Any, Any, Any, str]] = [(root, 0, value, "")]
    while stack:
        parent, key, node, path = stack.pop()
        if isinstance(node, str):
            parent[key] = exact(node, path) if path in paths else storable_text(node)
        elif isinstance(node, dict):
            copy: dict[str, Any] = {}
            parent[key] = copy
            for name, item in node.items():
                clean = storable_text(name) if isinstance(name, str) else name
                copy[clean] = None
                stack.append((copy, clean, item, f"{path}.{clean}" if path else str(clean)))
        elif isinstance(node, list):
            items: list[Any] = [None] * len(node)
            parent[key] = items
            # Items of a list share its path: an id path names a field, not a position.
            stack.extend((items, index, item, path) for index, item in enumerate(node))
        else:
            parent[key] = node
    return root[0]
