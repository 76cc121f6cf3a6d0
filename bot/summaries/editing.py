"""The commander's edits to a draft, as plain text in chat: keep, replace, clear, or a time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.incidents.records import clean_text
from bot.summaries.draft import MAX_IMPACT_TEXT, MAX_ITEM_TEXT

KEEP_WORDS = frozenset({"ok", "okay", "keep", "k", "same", "yes", "fine"})
CLEAR_WORDS = frozenset({"none", "clear", "-", "nothing", "empty"})
MAX_ITEMS = 10
_IN = re.compile(r"in\s+(?:(\d{1,2})\s*h(?:ours?|rs?)?)?\s*(?:(\d{1,3})\s*m(?:in(?:utes?|s)?)?)?")
_AT = re.compile(r"(?:at\s+)?([01]?\d|2[0-3]):([0-5]\d)(?:\s*(?:utc|z|gmt))?")


def is_keep(text: str) -> bool:
    return text.strip().lower() in KEEP_WORDS


def is_clear(text: str) -> bool:
    return text.strip().lower() in CLEAR_WORDS


def edit_text(current: str, answer: str, limit: int = MAX_IMPACT_TEXT) -> str:
    """`ok` keeps, `none` clears, anything else replaces (one line, cleaned, cut)."""
    if is_keep(answer):
        return current
    if is_clear(answer):
        return ""
    return clean_text(answer, limit)


def edit_list(current: list[str], answer: str) -> list[str]:
    """`ok` keeps, `none` clears; otherwise one item per line (or `;`), bullets dropped."""
    if is_keep(answer):
        return current
    if is_clear(answer):
        return []
    lines = answer.replace("\r", "\n").split("\n")
    if len([line for line in lines if line.strip()]) <= 1:
        lines = answer.split(";")
    items = [clean_text(line.strip().lstrip("-*•").strip(), MAX_ITEM_TEXT) for line in lines]
    return [item for item in items if item][:MAX_ITEMS]


def edit_shown_list(current: list[str], more: int, answer: str) -> tuple[list[str], int]:
    """`edit_list`, with the count of items the card leaves out ("and N more"): kept while the
    list is kept, 0 once it is edited (the list sent is the whole list)."""
    items = edit_list(current, answer)
    return items, more if items == current else 0


def parse_next_update(answer: str, now: float) -> float | None:
    """`in 2h`, `in 90m`, `in 1h 30m`, `14:00 UTC` (the next such time) → epoch seconds.

    Raises ValueError for anything else; a time must be between 5 minutes and 3 days away.
    """
    text = " ".join(answer.strip().lower().split())
    at = None
    moment = datetime.fromtimestamp(now, UTC)
    match = _IN.fullmatch(text)
    if match and (match[1] or match[2]):
        at = moment + timedelta(hours=int(match[1] or 0), minutes=int(match[2] or 0))
    match = _AT.fullmatch(text)
    if match:
        at = moment.replace(hour=int(match[1]), minute=int(match[2]), second=0, microsecond=0)
        if at <= moment:
            at += timedelta(days=1)
    if at is None:
        raise ValueError("say a time like `in 2h`, `in 45m` or `14:00 UTC`")
    delta = (at - moment).total_seconds()
    if not 300 <= delta <= 3 * 86400:
        raise ValueError("the next update must be between 5 minutes and 3 days from now")
    return at.timestamp()
