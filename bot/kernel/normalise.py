"""Inbound text made plain once: @mention markup removed, whitespace folded.

Teams puts every mention into the text as `<at>Name</at>` and describes it in an entity. The
bot's own mention goes; another person's becomes their quoted name, so that
`incident assign commander @Cam` reads `incident assign commander "Cam Commander"`; any other
`<at>` markup goes. The scan is linear in the text's length: no regex that could backtrack.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# An opening tag's start: `<at` not followed by a word character (`<attr>` is no mention). A
# fixed-length pattern that cannot backtrack; found in C, so a flood of "<" costs no Python loop.
_AT_OPEN = re.compile(r"<(?i:at)(?!\w)")


@dataclass(frozen=True)
class Mention:
    """One mention entity: its markup as it appears in the text, and whom it names."""

    text: str
    is_bot: bool = False
    name: str = ""


def normalise_text(text: str, mentions: Iterable[Mention] = ()) -> str:
    """The text without mention markup, each line's whitespace folded, blank lines dropped.

    Lines are kept because some answers are lists, one item per line."""
    replacements: dict[str, str] = {}
    for mention in mentions:
        if mention.is_bot:
            replacement = " "
        else:
            name = " ".join(mention.name.replace('"', "").split())
            if not name:
                continue
            replacement = f' "{name}" '
        # The first entity for a markup wins, as Teams lists mentions in text order.
        replacements.setdefault(mention.text, replacement)
    text = _replace_at_tags(text, replacements) if "<" in text else text
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _replace_at_tags(text: str, replacements: dict[str, str]) -> str:
    """Each `<at ...>...</at>` (any case) replaced by its mention's text, else by a space."""
    parts: list[str] = []
    done = 0
    found = _AT_OPEN.search(text)
    while found is not None:
        start, after = found.start(), found.end()
        opened = text.find(">", after)
        closed = _closing_tag(text, opened + 1) if opened != -1 else -1
        if closed == -1:
            # No later tag can be closed either: what is left stays as it is.
            break
        end = closed + len("</at>")
        parts.append(text[done:start])
        parts.append(replacements.get(text[start:end], " "))
        done = end
        found = _AT_OPEN.search(text, end)
    parts.append(text[done:])
    return "".join(parts)


def _closing_tag(text: str, position: int) -> int:
    """Where the next `</at>` (any case) starts, or -1."""
    candidate = text.find("</", position)
    while candidate != -1:
        if text[candidate + 2 : candidate + 5].lower() == "at>":
            return candidate
        candidate = text.find("</", candidate + 2)
    return -1
