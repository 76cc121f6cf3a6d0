"""Incident records: ids `INC-YYYYMMDD-NNN` from a per-day counter in the store, and their fields.

The counter row and the incident row are written in one transaction, so two instances never
hand out the same number and a failed insert leaves no gap-free-looking duplicate behind.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from bot.store import Store
from bot.store.daily_ids import DailyIds
from bot.store.table import Table


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Status(StrEnum):
    TRIAGE = "triage"
    INVESTIGATING = "investigating"
    CONTAINED = "contained"
    ERADICATED = "eradicated"
    RECOVERED = "recovered"
    CLOSED = "closed"


INCIDENT_IDS = DailyIds("INC", counter="incident", digits=3)
INCIDENT_ID = INCIDENT_IDS.pattern
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_INDICATORS = 50


class IncidentNotFound(LookupError):
    pass


@dataclass
class Incident:
    id: str
    day: str
    number: int
    title: str
    severity: str
    status: str
    description: str = ""
    indicators: list[str] = field(default_factory=list)
    alert_id: str = ""
    opened_by_id: str = ""
    opened_by_name: str = ""
    commander_id: str = ""
    commander_name: str = ""
    scribe_id: str = ""
    scribe_name: str = ""
    opened_at: float = 0.0
    closed_at: float | None = None
    summary: str = ""
    team_id: str = ""
    channel_id: str = ""
    channel_name: str = ""
    channel_url: str = ""
    channel_error: str = ""
    card_conversation_id: str = ""  # the channel thread the card starts (the Messenger's id)
    card_activity_id: str = ""
    request_key: str = ""  # what asked for it ("" for none): one incident per request
    channel_attempts: int = 0  # failed channel creations so far
    channel_retry_at: float = 0.0  # when the channel job tries again (0: nothing pending)

    @property
    def is_open(self) -> bool:
        return self.status != Status.CLOSED


_COLUMNS = tuple(f.name for f in fields(Incident))
_TABLE = Table("incidents", _COLUMNS)
_SELECT = _TABLE.select
# Columns a caller may change with `update`; ids, numbers and opening facts never change.
_MUTABLE = frozenset(_COLUMNS) - {"id", "day", "number", "opened_at", "opened_by_id", "request_key"}


def normalise_id(text: str) -> str | None:
    """`inc-20240502-3` style input as the canonical `INC-20240502-003`, or None."""
    return INCIDENT_IDS.normalise(text)


def clean_text(text: str, limit: int) -> str:
    """One line of plain text without control characters, at most `limit` characters."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())[:limit]


async def create(
    store: Store,
    *,
    title: str,
    severity: Severity,
    description: str = "",
    indicators: list[str] | None = None,
    alert_id: str = "",
    opened_by_id: str,
    opened_by_name: str,
    request_key: str = "",
    now: float | None = None,
) -> Incident:
    """A new incident in triage, commanded by whoever opened it until someone is assigned.

    With a `request_key` that an incident already has, raises DuplicateKeyError (see by_request).
    """
    now = time.time() if now is None else now
    async with store.transaction() as tx:
        new_id = await INCIDENT_IDS.next(tx, now)
        incident = Incident(
            id=new_id.text,
            day=new_id.day,
            number=new_id.number,
            title=clean_text(title, MAX_TITLE),
            severity=Severity(severity).value,
            status=Status.TRIAGE.value,
            description=clean_text(description, MAX_DESCRIPTION),
            indicators=list(indicators or [])[:MAX_INDICATORS],
            alert_id=alert_id,
            opened_by_id=opened_by_id,
            opened_by_name=opened_by_name,
            commander_id=opened_by_id,
            commander_name=opened_by_name,
            opened_at=now,
            request_key=request_key,
        )
        await _TABLE.insert(tx, _row(incident))
    return incident


async def get(store: Store, incident_id: str) -> Incident:
    return _incident(await _TABLE.get(store, incident_id, IncidentNotFound))


async def by_request(store: Store, request_key: str) -> Incident | None:
    """The incident a request already opened, if any."""
    if not request_key:
        return None
    row = await store.fetchone(f"{_SELECT} WHERE request_key = ?", request_key)
    return None if row is None else _incident(row)


async def channels_due(store: Store, now: float, limit: int = 20) -> list[Incident]:
    """Open incidents whose channel creation failed and is due to be tried again."""
    rows = await store.fetchall(
        f"{_SELECT} WHERE channel_retry_at > 0 AND channel_retry_at <= ? AND channel_id = ''"
        " AND status <> 'closed' ORDER BY channel_retry_at LIMIT ?",
        now,
        limit,
    )
    return [_incident(row) for row in rows]


async def for_channel(store: Store, channel_id: str) -> Incident | None:
    """The incident whose channel this is (a thread id's channel part counts)."""
    if not channel_id:
        return None
    row = await store.fetchone(
        f"{_SELECT} WHERE channel_id = ? ORDER BY opened_at DESC", channel_id.split(";", 1)[0]
    )
    return None if row is None else _incident(row)


async def recent(store: Store, *, open_only: bool = False, limit: int = 20) -> list[Incident]:
    where = " WHERE status <> 'closed'" if open_only else ""
    rows = await store.fetchall(
        f"{_SELECT}{where} ORDER BY opened_at DESC, number DESC LIMIT ?",  # noqa: S608 - constant
        limit,
    )
    return [_incident(row) for row in rows]


async def update(store: Store, incident_id: str, **changes: Any) -> None:
    unknown = set(changes) - _MUTABLE
    if unknown:
        raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
    assignments = ", ".join(f"{name} = ?" for name in changes)
    values = [_value(name, value) for name, value in changes.items()]
    changed = await store.execute(
        f"UPDATE incidents SET {assignments} WHERE id = ?",  # noqa: S608 - names checked above
        *values,
        incident_id,
    )
    if changed != 1:
        raise IncidentNotFound(incident_id)


def _value(name: str, value: Any) -> Any:
    return json.dumps(value) if name == "indicators" else value


def _row(incident: Incident) -> list[Any]:
    return [_value(name, getattr(incident, name)) for name in _COLUMNS]


def _incident(row: dict[str, Any]) -> Incident:
    values = dict(row)
    values["indicators"] = json.loads(values["indicators"] or "[]")
    values["opened_at"] = float(values["opened_at"])
    values["channel_retry_at"] = float(values["channel_retry_at"])
    if values["closed_at"] is not None:
        values["closed_at"] = float(values["closed_at"])
    return Incident(**values)
