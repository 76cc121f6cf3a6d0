"""Conform caller data to a template's data shape (its sample) and make every value safe.

The sample file is the contract: keys it lacks are dropped, missing keys get empty values of the
sample's type, lists are capped with a sibling `<list>More` text ("+N more"), strings become
plain text. Field names carry the rules: `*Url` is an https link or empty, `id`/`*Id` and
`*Ids` are identifiers, `userIds` holds at most 60 (Teams' refresh limit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cards.limits import MAX_REFRESH_USERS
from cards.plaintext import display, https_url, identifier

LONG_TEXT_KEYS = frozenset(
    {
        "description",
        "message",
        "reason",
        "summary",
        "impact",
        "intro",
        "hint",
        "text",
        "result",
        "decisionNote",
        "footer",
    }
)
LONG_TEXT_LIMIT = 1000
TEXT_LIMIT = 200
LIST_CAP = 10


@dataclass(frozen=True)
class Budget:
    """How much text and how many list items a card may carry; scales < 1 shrink them."""

    list_caps: Mapping[str, int] = field(default_factory=dict)
    scale: float = 1.0
    text_scale: float = 1.0

    def text_limit(self, key: str) -> int:
        base = LONG_TEXT_LIMIT if key in LONG_TEXT_KEYS else TEXT_LIMIT
        return max(16, int(base * self.text_scale))

    def list_cap(self, key: str) -> int:
        if key == "userIds":
            return MAX_REFRESH_USERS  # a Teams limit, not a size trade-off
        return max(1, int(self.list_caps.get(key, LIST_CAP) * self.scale))


def conform(data: Any, sample: Mapping[str, Any], budget: Budget) -> dict[str, Any]:
    """A fresh dict with exactly the sample's keys, holding safe values from `data`."""
    source = data if isinstance(data, Mapping) else {}
    result: dict[str, Any] = {}
    for key, example in sample.items():
        if key.endswith("More") and isinstance(sample.get(key[:-4]), list):
            continue  # filled in with its list below
        value = source.get(key)
        if isinstance(example, list):
            items = list(value) if isinstance(value, list | tuple) else []
            cap = budget.list_cap(key)
            result[key] = [_item(item, example, key, budget) for item in items[:cap]]
            if f"{key}More" in sample:
                hidden = len(items) - cap
                # A caller that cut the list itself (reading a bounded query) says how many.
                given = source.get(f"{key}More")
                given = _text(given, f"{key}More", budget) if isinstance(given, str) else ""
                result[f"{key}More"] = f"+{hidden} more" if hidden > 0 else given
        else:
            result[key] = _value(value, example, key, budget)
    return result


def _item(item: Any, example: list, key: str, budget: Budget) -> Any:
    element = example[0] if example else ""
    if isinstance(element, Mapping):
        return conform(item, element, budget)
    # A list of scalars shares its key's rules (e.g. userIds, roles).
    return _value(item, element, key[:-1] if key.endswith("s") else key, budget)


def _value(value: Any, example: Any, key: str, budget: Budget) -> Any:
    if isinstance(example, Mapping):
        return conform(value, example, budget)
    if isinstance(example, bool):
        return value if isinstance(value, bool) else False
    if isinstance(example, int | float):
        number_ok = isinstance(value, int | float) and not isinstance(value, bool)
        return value if number_ok and math.isfinite(value) else 0
    return _text(value, key, budget)


def _text(value: Any, key: str, budget: Budget) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = value if isinstance(value, str) else str(value)
    if key == "url" or key.endswith("Url"):
        return https_url(text)
    if key == "id" or key.endswith(("Id", "userId")):
        return identifier(text)
    return display(text, budget.text_limit(key))
