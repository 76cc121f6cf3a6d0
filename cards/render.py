"""render(): conform data to a template's shape, expand it, and keep it inside Teams' limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cards import catalog
from cards.limits import MAX_CARD_BYTES, serialized_size
from cards.shape import Budget, conform

# (text scale, list scale) per attempt: shorten text first, then show fewer list items.
_STEPS = (
    (1.0, 1.0),
    (0.5, 1.0),
    (0.25, 1.0),
    (0.125, 1.0),
    (0.125, 0.5),
    (0.0625, 0.25),
    (0.0, 0.125),
    (0.0, 0.0),
)


def prepare(
    name: str, data: Mapping[str, Any], text_scale: float = 1.0, list_scale: float = 1.0
) -> dict[str, Any]:
    """The safe data bound into the template (the same for the Python and the JS engine)."""
    budget = Budget(catalog.list_caps(name), list_scale, text_scale)
    return conform(data, catalog.shape(name), budget)


def render(name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The expanded card, at most 28 KB serialised: long content is cut, never refused."""
    template = catalog.compiled(name)
    card: dict[str, Any] = {}
    for text_scale, list_scale in _STEPS:
        card = template.expand(prepare(name, data, text_scale, list_scale))
        if serialized_size(card) <= MAX_CARD_BYTES:
            return card
    return card
