"""render(): conform data to a template's shape, expand it, and keep it inside Teams' limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cards import catalog
from cards.limits import MAX_CARD_BYTES, serialized_size
from cards.shape import Budget, conform

# Each retry halves text lengths and list lengths until the card fits.
_SCALES = (1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.0)


def prepare(name: str, data: Mapping[str, Any], scale: float = 1.0) -> dict[str, Any]:
    """The safe data bound into the template (the same for the Python and the JS engine)."""
    return conform(data, catalog.shape(name), Budget(catalog.LIST_CAPS.get(name, {}), scale))


def render(name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The expanded card, at most 28 KB serialised: long content is cut, never refused."""
    template = catalog.compiled(name)
    card: dict[str, Any] = {}
    for scale in _SCALES:
        card = template.expand(prepare(name, data, scale))
        if serialized_size(card) <= MAX_CARD_BYTES:
            return card
    return card
