"""What this process wrote lately, so that re-writing the same value can be skipped.

Every chat turn upserts the conversation reference and the user it came from; almost always
the statement finds the stored value identical and writes nothing, yet it still costs a trip to
the database. The memo answers "did this process store exactly this value, for this key, less
than `ttl` seconds ago?" so that trip can be left out.

Only for upserts that are safe to repeat and harmless to skip for a while, into tables no code
deletes from (a deleted row would come back only when the memo expires). Another instance may
have stored a different value since; the memo never hides a value this process has not stored
itself, and `ttl` bounds how long such a race can stay unrepaired. Reads never go through it.
"""

from __future__ import annotations

MAX_ENTRIES = 20_000


class WriteMemo:
    """(table, key) -> (digest, when), the oldest forgotten first beyond `max_entries`."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max = max_entries
        self._entries: dict[tuple[str, str], tuple[str, float]] = {}

    def holds(self, table: str, key: str, digest: str, now: float, ttl: float) -> bool:
        """True when this process stored `digest` under (table, key) less than `ttl` ago."""
        entry = self._entries.get((table, key))
        return entry is not None and entry[0] == digest and 0 <= now - entry[1] < ttl

    def stored(self, table: str, key: str, digest: str, now: float) -> None:
        """Note that the row (table, key) holds `digest` as of `now`."""
        self._entries.pop((table, key), None)  # re-inserted last: the dict stays oldest-first
        self._entries[(table, key)] = (digest, now)
        if len(self._entries) > self._max:
            del self._entries[next(iter(self._entries))]
