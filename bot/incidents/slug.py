"""Channel names for incidents: `incident-YYYYMMDD-<slug>`, ASCII, lower case, hyphens, <= 50.

Graph limits a channel's displayName to 50 characters and refuses some punctuation; a slug of
ASCII letters, digits and single hyphens is always accepted and reads well in the channel list.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHANNEL_NAME = 50
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def slugify(title: str) -> str:
    """Lower-case ASCII words joined by hyphens; accents lose their marks, emoji disappear."""
    # NFKD splits "é" into "e" + a combining mark; encoding to ASCII then drops the mark.
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return _NOT_WORD.sub("-", ascii_text.lower()).strip("-")


def channel_name(day: str, title: str, number: int, attempt: int = 1) -> str:
    """The channel's displayName; `attempt` 2, 3 ... appends `-2`, `-3` after a name collision.

    An empty slug (a title of emoji only, say) falls back to the incident number, so the name
    still says which incident it is.
    """
    prefix = f"incident-{day}-"
    suffix = f"-{attempt}" if attempt > 1 else ""
    slug = slugify(title) or f"{number:03d}"
    room = MAX_CHANNEL_NAME - len(prefix) - len(suffix)
    return prefix + _cut(slug, room) + suffix


def _cut(slug: str, room: int) -> str:
    """At most `room` characters, cut at a word boundary when one is not too far back."""
    if len(slug) <= room:
        return slug
    cut = slug[:room]
    boundary = cut.rfind("-")
    if boundary >= room // 2:
        cut = cut[:boundary]
    return cut.strip("-")
