"""Route mentions: the people a routing rule names, resolved through the user directory.

A rule's `mentions` entry is an AAD object id, a UPN or a display name. A person the directory
knows (exactly one match) becomes a real Teams mention; anyone else stays plain text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.kernel import user_directory
from bot.store import Store

_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
MAX_MENTIONS = 10
_NAME_LIMIT = 100


@dataclass(frozen=True)
class Mention:
    """Someone named by a rule: `aad_object_id` is empty when the directory does not know them."""

    text: str
    name: str = ""
    aad_object_id: str = ""

    @property
    def known(self) -> bool:
        return bool(self.aad_object_id and self.name)


async def resolve(store: Store, wanted: list[str]) -> list[Mention]:
    """Each entry (at most MAX_MENTIONS) as a known person or as plain text."""
    resolved = []
    for entry in wanted[:MAX_MENTIONS]:
        text = str(entry).strip()[:_NAME_LIMIT]
        if text:
            resolved.append(await _one(store, text))
    return resolved


async def _one(store: Store, text: str) -> Mention:
    if _OBJECT_ID.fullmatch(text):
        seen = await user_directory.get(store, text)
        if seen is None and text != text.lower():
            seen = await user_directory.get(store, text.lower())
        if seen is not None and seen.name:
            return Mention(text, seen.name, seen.aad_object_id)
        return Mention(text)
    column = "upn" if "@" in text else "name"
    rows = await store.fetchall(
        f"SELECT aad_object_id, name FROM users WHERE LOWER({column}) = LOWER(?) LIMIT 2",  # noqa: S608
        text,
    )
    # Two people with one display name: mentioning either could alert the wrong person.
    if len(rows) == 1 and rows[0]["name"]:
        return Mention(text, rows[0]["name"], rows[0]["aad_object_id"])
    return Mention(text)


def wanted_by(group: dict[str, Any] | None) -> list[str]:
    """The mentions the route stored on an alert group (none for no group or a bad value)."""
    try:
        wanted = json.loads((group or {}).get("mentions") or "[]")
    except ValueError:
        return []
    return [str(item) for item in wanted] if isinstance(wanted, list) else []
