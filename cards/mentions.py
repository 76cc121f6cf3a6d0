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
    card: dict[str, Any], label: str, people: Sequence[Person], plain: Sequence[str] = ()
) -> dict[str, Any]:
    """The card with a "`label`: ..." line: `people` as Teams mentions, `plain` as text."""
    if not people and not plain:
        return card
    parts: list[str] = []
    entities: list[dict[str, Any]] = []
    for person in people:
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
    parts.extend(escape_markdown(clean(text, NAME_LIMIT)) for text in plain)
    shown = dict(card)
    line = {"type": "TextBlock", "text": f"{label}: " + ", ".join(parts), "wrap": True}
    shown["body"] = [*card.get("body", []), line]
    if entities:
        msteams = card.get("msteams", {})
        shown["msteams"] = {**msteams, "entities": [*msteams.get("entities", []), *entities]}
    return shown
