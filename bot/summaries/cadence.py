"""Executive-summary cadences: `exec-summary INC-… --every 2h` and `--stop`, stored durably.

One active cadence per incident (a partial unique index). The scheduler in
bot/summaries/reminders.py claims each due run with a compare-and-set on `version`, so across
instances each due time is reminded once, and missed runs after downtime collapse into one.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass, fields
from typing import Any

from bot.incidents import timeline
from bot.incidents.records import Incident
from bot.kernel import timefmt
from bot.kernel.errors import DomainError, Refused
from bot.kernel.rbac import Actor, Role
from bot.kernel.services import Services
from bot.store import Store
from bot.summaries.cadence_settings import cadence_settings

log = logging.getLogger(__name__)

SCHEDULER = Actor(aad_object_id="vigil:summaries", name="Vigil summaries")
ACTIVE = "active"
STOPPED = "stopped"
TIMELINE_KIND = "cadence"
_DURATION = re.compile(r"(?:([0-9]{1,5})h)?(?:([0-9]{1,7})m)?(?:([0-9]{1,9})s)?")


@dataclass(frozen=True)
class Cadence:
    id: str
    incident_id: str
    state: str
    every_seconds: int
    next_due: float
    commander_id: str
    commander_name: str
    conversation_id: str
    conversation_kind: str
    created_by_id: str
    created_by_name: str
    created_at: float
    updated_at: float
    stopped_by_name: str
    stopped_at: float | None
    stop_reason: str
    version: int


@dataclass(frozen=True)
class Target:
    """Where a reminder goes: the commander's 1:1 chat, else the incident channel."""

    conversation_id: str
    kind: str  # personal | channel


_COLUMNS = tuple(f.name for f in fields(Cadence))
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM summary_cadences"  # noqa: S608 - constant


def parse_every(text: str, low: int, high: int) -> int:
    """`2h`, `90m`, `1h30m` (and `45s` when the minimum allows) as seconds from low to high."""
    value = text.strip().lower()
    match = _DURATION.fullmatch(value)
    if not value or not match or not any(match.groups()):
        raise DomainError(
            f"--every takes a duration like 30m, 2h or 1h30m, not {_clip(text)!r} "
            f"(from {format_every(low)} to {format_every(high)})"
        )
    hours, minutes, seconds = (int(group or 0) for group in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not low <= total <= high:
        raise DomainError(f"--every must be from {format_every(low)} to {format_every(high)}")
    return total


def format_every(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts) or "0s"


def may_manage(actor: Actor, incident: Incident) -> bool:
    """The incident's commander or scribe, or anyone with the commander role."""
    mine = actor.aad_object_id and actor.aad_object_id in (
        incident.commander_id,
        incident.scribe_id,
    )
    return bool(mine) or actor.has(Role.COMMANDER)


async def active_for(store: Store, incident_id: str) -> Cadence | None:
    row = await store.fetchone(
        f"{_SELECT} WHERE incident_id = ? AND state = ?", incident_id, ACTIVE
    )
    return None if row is None else _cadence(row)


async def get(store: Store, cadence_id: str) -> Cadence | None:
    row = await store.fetchone(f"{_SELECT} WHERE id = ?", cadence_id)
    return None if row is None else _cadence(row)


async def next_update_at(store: Store, incident_id: str) -> float | None:
    """When the next scheduled summary is due, or None without a cadence (for the draft)."""
    value = await store.fetchval(
        "SELECT next_due FROM summary_cadences WHERE incident_id = ? AND state = ?",
        incident_id,
        ACTIVE,
    )
    return None if value is None else float(value)


async def reminder_target(services: Services, incident: Incident) -> Target | None:
    messenger = services.messenger
    if messenger is None:
        return None
    personal = await messenger.personal_chat(incident.commander_id)
    if personal is not None:
        return Target(personal, "personal")
    if incident.channel_id and await messenger.reaches(incident.channel_id):
        return Target(incident.channel_id, "channel")
    return None


async def set_cadence(
    services: Services, incident: Incident, actor: Actor, every: int, now: float | None = None
) -> tuple[Cadence, bool]:
    """Start or change the incident's cadence; (the cadence, True when it replaced another)."""
    now = time.time() if now is None else now
    target = await reminder_target(services, incident)
    if target is None:
        raise DomainError(
            f"I have no chat with {incident.commander_name or 'the commander'} and {incident.id} "
            "has no channel, so a reminder could not reach anyone. The commander can say `hi` "
            "to me in a 1:1 chat first."
        )
    store = services.store
    values = {
        "every_seconds": every,
        "next_due": now + every,
        "commander_id": incident.commander_id,
        "commander_name": incident.commander_name,
        "conversation_id": target.conversation_id,
        "conversation_kind": target.kind,
        "updated_at": now,
    }
    for _ in range(3):
        existing = await active_for(store, incident.id)
        if existing is not None:
            if await _change(store, existing, values):
                return await _recorded(services, existing.id, actor, "changed to"), True
            continue
        added = await _add(store, incident.id, actor, values, now)
        if added is not None:
            return await _recorded(services, added, actor, "set to"), False
    raise DomainError("the cadence was changed by someone else at the same moment; try again")


async def _change(store: Store, existing: Cadence, values: dict[str, Any]) -> bool:
    """Compare-and-set on the version; False when another caller changed it first."""
    assignments = ", ".join(f"{name} = ?" for name in values)
    changed = await store.execute(
        f"UPDATE summary_cadences SET {assignments}, version = version + 1"  # noqa: S608
        " WHERE id = ? AND version = ?",
        *values.values(),
        existing.id,
        existing.version,
    )
    return changed == 1


async def _add(
    store: Store, incident_id: str, actor: Actor, values: dict[str, Any], now: float
) -> str | None:
    """The new active cadence's id; None when another caller started one first."""
    row = {
        "id": uuid.uuid4().hex,
        "incident_id": incident_id,
        "state": ACTIVE,
        **values,
        "created_by_id": actor.aad_object_id,
        "created_by_name": actor.name,
        "created_at": now,
        "stopped_by_name": "",
        "stopped_at": None,
        "stop_reason": "",
        "version": 1,
    }
    added = await store.execute(
        f"INSERT INTO summary_cadences ({', '.join(row)})"  # noqa: S608 - constant names
        f" VALUES ({', '.join('?' * len(row))})"
        " ON CONFLICT (incident_id) WHERE state = 'active' DO NOTHING",
        *row.values(),
    )
    return row["id"] if added == 1 else None


async def _recorded(services: Services, cadence_id: str, actor: Actor, verb: str) -> Cadence:
    cadence = await get(services.store, cadence_id)
    assert cadence is not None  # just written; cadences are never deleted
    await timeline.add_timeline(
        services.store,
        cadence.incident_id,
        actor.name,
        TIMELINE_KIND,
        f"Exec summary cadence {verb} every {format_every(cadence.every_seconds)}; "
        f"next due {timefmt.date_time(cadence.next_due)}",
    )
    return cadence


async def stop_cadence(
    services: Services, incident_id: str, actor: Actor, reason: str, now: float | None = None
) -> Cadence | None:
    """End the incident's cadence; None when none was running (or another caller ended it)."""
    now = time.time() if now is None else now
    existing = await active_for(services.store, incident_id)
    if existing is None:
        return None
    changed = await services.store.execute(
        "UPDATE summary_cadences SET state = ?, stopped_by_name = ?, stopped_at = ?,"
        " stop_reason = ?, updated_at = ?, version = version + 1 WHERE id = ? AND state = ?",
        STOPPED,
        actor.name,
        now,
        reason,
        now,
        existing.id,
        ACTIVE,
    )
    if changed != 1:
        return None
    await timeline.add_timeline(
        services.store,
        incident_id,
        actor.name,
        TIMELINE_KIND,
        f"Exec summary cadence stopped ({reason})",
    )
    return await get(services.store, existing.id)


async def start_cadence(
    services: Services, incident: Incident, actor: Actor, every_text: str
) -> tuple[Cadence, bool]:
    """`exec-summary --every`: set or change the cadence of an open incident, if the actor may;
    (the cadence, True when it replaced another)."""
    settings = cadence_settings(services)
    if not may_manage(actor, incident):
        raise not_manager(incident, "set its summary cadence")
    if not incident.is_open:
        raise Refused(
            f"{incident.id} is closed; a closed incident gets no scheduled summaries.",
            "incident closed",
            target=incident.id,
        )
    every = parse_every(every_text, settings.min_every, settings.max_every)
    return await set_cadence(services, incident, actor, every)


async def end_cadence(services: Services, incident: Incident, actor: Actor) -> Cadence | None:
    """`exec-summary --stop`, if the actor may; None when no cadence was running."""
    if not may_manage(actor, incident):
        raise not_manager(incident, "stop its summary cadence")
    return await stop_cadence(services, incident.id, actor, f"stopped by {actor.name}")


def not_manager(incident: Incident, what: str) -> Refused:
    return Refused(
        f"Only the incident commander of {incident.id} "
        f"({incident.commander_name or 'nobody yet'}), its scribe or someone with the commander "
        f"role can {what}.",
        "not the commander or scribe",
        target=incident.id,
    )


def _clip(text: str, limit: int = 40) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cadence(row: dict[str, Any]) -> Cadence:
    values = dict(row)
    for name in ("next_due", "created_at", "updated_at"):
        values[name] = float(values[name])
    if values["stopped_at"] is not None:
        values["stopped_at"] = float(values["stopped_at"])
    values["every_seconds"] = int(values["every_seconds"])
    values["version"] = int(values["version"])
    return Cadence(**values)
