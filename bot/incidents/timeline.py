"""An incident's timeline: who did what and when, appended by commands, approvals and actions."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.incidents.records import IncidentNotFound, clean_text
from bot.store import Store

MAX_ENTRY_TEXT = 4000


@dataclass(frozen=True)
class Entry:
    seq: int
    at: float
    actor: str
    kind: str
    text: str


async def add_timeline(
    store: Store,
    incident_id: str,
    actor_name: str,
    kind: str,
    text: str,
    at: float | None = None,
) -> Entry:
    """Append one entry (kind: opened, note, status, command, approval, action, summary ...).

    Raises IncidentNotFound for an unknown incident, so other areas learn of a wrong id at once.
    """
    at = time.time() if at is None else at
    actor = clean_text(actor_name, 200) or "unknown"
    kind = clean_text(kind, 40) or "note"
    text = clean_text(text, MAX_ENTRY_TEXT)
    async with store.transaction() as tx:
        if await tx.fetchval("SELECT 1 FROM incidents WHERE id = ?", incident_id) is None:
            raise IncidentNotFound(incident_id)
        seq = await tx.fetchval(
            "INSERT INTO incident_timeline (incident_id, at, actor, kind, text)"
            " VALUES (?, ?, ?, ?, ?) RETURNING seq",
            incident_id,
            at,
            actor,
            kind,
            text,
        )
    return Entry(int(seq), at, actor, kind, text)


async def entries(store: Store, incident_id: str) -> list[Entry]:
    """Every entry, oldest first (ties in time keep the order they were written in)."""
    rows = await store.fetchall(
        "SELECT seq, at, actor, kind, text FROM incident_timeline WHERE incident_id = ?"
        " ORDER BY at, seq",
        incident_id,
    )
    return [_entry(row) for row in rows]


async def last_of_kind(store: Store, incident_id: str, kind: str) -> Entry | None:
    row = await store.fetchone(
        "SELECT seq, at, actor, kind, text FROM incident_timeline WHERE incident_id = ?"
        " AND kind = ? ORDER BY at DESC, seq DESC LIMIT 1",
        incident_id,
        kind,
    )
    return None if row is None else _entry(row)


async def latest(store: Store, incident_id: str, count: int) -> tuple[list[Entry], int]:
    """The last `count` entries, oldest first, and how many entries there are in all."""
    rows = await store.fetchall(
        "SELECT seq, at, actor, kind, text FROM incident_timeline WHERE incident_id = ?"
        " ORDER BY at DESC, seq DESC LIMIT ?",
        incident_id,
        count,
    )
    total = await store.fetchval(
        "SELECT COUNT(*) FROM incident_timeline WHERE incident_id = ?", incident_id
    )
    return [_entry(row) for row in reversed(rows)], int(total or 0)


def _entry(row: dict) -> Entry:
    return Entry(int(row["seq"]), float(row["at"]), row["actor"], row["kind"], row["text"])
