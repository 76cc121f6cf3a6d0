"""Teams mentions in a rendered Adaptive Card: one line of `<at>Name</at>` tags and their entities.

Teams notifies a person only through a mention entity whose `text` matches a tag in the card.
Names are untrusted: cleaned, stripped of `<` and `>` so no tag ends early, and markdown-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cards.plaintext import clean, escape_markdown

NAME_LIMIT = 100


@dataclass(frozen=True)
class Person:
    aad_object_id: str
    name: str


def with_mention_line(
    card: dict[str, Any], label: str, entries: Sequence[Person | str]
) -> dict[str, Any]:
    """The card with a "`label`: ..." line, in order: each Person as a Teams mention, each text
    (someone Vigil cannot mention) as plain text."""
    if not entries:
        return card
    parts: list[str] = []
    entities: list[dict[str, Any]] = []
    for person in entries:
        if isinstance(person, str):
            parts.append(escape_markdown(clean(person, NAME_LIMIT)))
            continue
        name = clean(person.name, NAME_LIMIT)
        tag = "<at>" + escape_markdown(name.replace("<", "").replace(">", "")) + "</at>"
        parts.append(tag)
        entities.append(
            {
                "type": "mention",
                "text": tag,
                "mentioned": {"id": person.aad_object_id, "name": name},
            }
        )
    shown = dict(card)
    line = {"type": "TextBlock", "text": f"{label}: " + ", ".join(parts), "wrap": True}
    shown["body"] = [*card.get("body", []), line]
    if entities:
        msteams = card.get("msteams", {})
        shown["msteams"] = {**msteams, "entities": [*msteams.get("entities", []), *entities]}
    return shown
