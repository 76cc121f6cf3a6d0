"""Exec-summary reminders: the scheduler that stores and sends due ones, and their card.

Each due run becomes a `summary_reminders` row in the same transaction that advances the
cadence (store first), then is sent under a short lease; a failed send is retried next tick.
Post and Skip are compare-and-sets on the reminder's state, so a double click acts once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, fields
from typing import Any

import cards
from bot.incidents import records
from bot.incidents.events import IncidentClosed
from bot.incidents.records import Incident, IncidentNotFound
from bot.kernel import timefmt
from bot.kernel.messenger import DeliveryFailed, Message
from bot.kernel.services import Services
from bot.store import Store
from bot.summaries import cadence as cadences
from bot.summaries.cadence import SCHEDULER, Cadence, format_every
from bot.summaries.cadence_settings import cadence_settings
from bot.summaries.draft import Draft, build_draft
from bot.summaries.presentation import card_data
from bot.summaries.settings import summary_settings

log = logging.getLogger(__name__)

TEMPLATE = "exec_summary_reminder"
SCHEDULED, FINAL = "scheduled", "final"
PENDING, SENT, POSTING, POSTED = "pending", "sent", "posting", "posted"
SKIPPED, SUPERSEDED, CANCELLED, FAILED = "skipped", "superseded", "cancelled", "failed"
LEASE_SECONDS = 60.0
MAX_BACKOFF = 300.0
BATCH = 50


@dataclass(frozen=True)
class Reminder:
    id: str
    cadence_id: str
    incident_id: str
    kind: str
    due_at: float
    missed: int
    created_at: float
    state: str
    commander_id: str
    commander_name: str
    conversation_id: str
    activity_id: str
    draft: str
    attempts: int
    next_attempt_at: float
    lease_until: float | None
    last_error: str
    sent_at: float | None
    decided_by_name: str
    decided_at: float | None
    version: int


_COLUMNS = tuple(f.name for f in fields(Reminder))
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM summary_reminders"  # noqa: S608 - constant


async def get(store: Store, reminder_id: str) -> Reminder | None:
    row = await store.fetchone(f"{_SELECT} WHERE id = ?", reminder_id)
    return None if row is None else _reminder(row)


def _new_row(
    cadence_id: str, incident_id: str, kind: str, due_at: float, missed: int, now: float, **who: str
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "cadence_id": cadence_id,
        "incident_id": incident_id,
        "kind": kind,
        "due_at": due_at,
        "missed": missed,
        "created_at": now,
        "state": PENDING,
        "commander_id": who.get("commander_id", ""),
        "commander_name": who.get("commander_name", ""),
        "conversation_id": who.get("conversation_id", ""),
        "activity_id": "",
        "draft": "",
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "last_error": "",
        "sent_at": None,
        "decided_by_name": "",
        "decided_at": None,
        "version": 1,
    }


_INSERT = (
    f"INSERT INTO summary_reminders ({', '.join(_COLUMNS)})"  # noqa: S608 - constant
    f" VALUES ({', '.join('?' * len(_COLUMNS))})"
)


async def claim_due(store: Store, now: float | None = None) -> int:
    """Turn each due cadence run into one stored reminder; how many this caller claimed.

    The compare-and-set on `version` lets one instance win each run; a cadence late by several
    periods (downtime) gets one reminder and its next due time moves past now.
    """
    now = time.time() if now is None else now
    rows = await store.fetchall(
        "SELECT id, version, next_due, every_seconds FROM summary_cadences"
        " WHERE state = ? AND next_due <= ? ORDER BY next_due LIMIT ?",
        cadences.ACTIVE,
        now,
        BATCH,
    )
    claimed = 0
    for row in rows:
        due, every = float(row["next_due"]), int(row["every_seconds"])
        missed = int((now - due) // every)
        async with store.transaction() as tx:
            won = await tx.execute(
                "UPDATE summary_cadences SET next_due = ?, updated_at = ?, version = version + 1"
                " WHERE id = ? AND version = ? AND state = ?",
                due + every * (missed + 1),
                now,
                row["id"],
                row["version"],
                cadences.ACTIVE,
            )
            if won != 1:
                continue
            found = await tx.fetchone(
                "SELECT incident_id, commander_id, commander_name, conversation_id"
                " FROM summary_cadences WHERE id = ?",
                row["id"],
            )
            assert found is not None  # updated in this transaction
            who = {key: found[key] for key in found if key != "incident_id"}
            reminder = _new_row(row["id"], found["incident_id"], SCHEDULED, due, missed, now, **who)
            await tx.execute(_INSERT, *reminder.values())
        claimed += 1
        if missed:
            log.info("cadence %s: %d missed run(s) folded into one reminder", row["id"], missed)
    return claimed


async def deliver_pending(services: Services, now: float | None = None) -> int:
    """Send the reminders waiting to go out (new ones and retries); how many were sent."""
    now = time.time() if now is None else now
    rows = await services.store.fetchall(
        "SELECT id FROM summary_reminders WHERE state = ? AND next_attempt_at <= ?"
        " ORDER BY due_at LIMIT ?",
        PENDING,
        now,
        BATCH,
    )
    sent = 0
    for row in rows:
        sent += await deliver(services, row["id"], now)
    return sent


async def deliver(services: Services, reminder_id: str, now: float | None = None) -> bool:
    """Send one pending reminder under a lease; True when this call sent it."""
    now = time.time() if now is None else now
    store = services.store
    reminder = await get(store, reminder_id)
    if reminder is None or reminder.state != PENDING or services.messenger is None:
        return False
    if not await _lease(store, reminder, now):
        return False
    try:
        incident = await records.get(store, reminder.incident_id)
    except IncidentNotFound:
        await _set_state(store, reminder.id, CANCELLED, "incident gone")
        return False
    cadence = await cadences.get(store, reminder.cadence_id) if reminder.cadence_id else None
    if reminder.kind == SCHEDULED and not _running(cadence, incident):
        await _set_state(store, reminder.id, CANCELLED, "cadence stopped or incident closed")
        return False
    draft = await _draft(services, incident, reminder, cadence, now)
    target = await cadences.reminder_target(services, incident)
    conversation_id = target.conversation_id if target else reminder.conversation_id
    card = reminder_card(services, reminder, draft, cadence, can_act=True, outcome="")
    message = Message(text=f"{_heading(reminder)} for {incident.id}", card=card)
    try:
        if not conversation_id:
            raise DeliveryFailed("no chat with the commander and no incident channel")
        activity_id = await services.messenger.post(conversation_id, message, paced=True)
    except DeliveryFailed as exc:
        await _retry_later(services, reminder, str(exc), now)
        return False
    await _mark_sent(store, reminder, incident, draft, conversation_id, activity_id, now)
    log.info("exec-summary reminder %s (%s) sent for %s", reminder.id, reminder.kind, incident.id)
    await _audit(
        services,
        "summary.reminder.sent",
        reminder,
        "ok",
        f"{reminder.kind} to {incident.commander_name}",
    )
    return True


async def _lease(store: Store, reminder: Reminder, now: float) -> bool:
    """Take the reminder for this send; False when another instance holds it or changed it."""
    leased = await store.execute(
        "UPDATE summary_reminders SET lease_until = ?, attempts = attempts + 1,"
        " version = version + 1 WHERE id = ? AND version = ? AND state = ?"
        " AND (lease_until IS NULL OR lease_until <= ?)",
        now + LEASE_SECONDS,
        reminder.id,
        reminder.version,
        PENDING,
        now,
    )
    return leased == 1


async def _mark_sent(
    store: Store,
    reminder: Reminder,
    incident: Incident,
    draft: Draft,
    conversation_id: str,
    activity_id: str,
    now: float,
) -> None:
    await store.execute(
        "UPDATE summary_reminders SET state = ?, activity_id = ?, sent_at = ?, draft = ?,"
        " commander_id = ?, commander_name = ?, conversation_id = ?,"
        " lease_until = NULL, last_error = '', version = version + 1 WHERE id = ?",
        SENT,
        activity_id,
        now,
        json.dumps(draft.to_dict()),
        incident.commander_id,
        incident.commander_name,
        conversation_id,
        reminder.id,
    )
    # An older reminder still open would post a stale draft; the newest one is the one to use.
    await store.execute(
        "UPDATE summary_reminders SET state = ?, version = version + 1"
        " WHERE incident_id = ? AND state = ? AND id <> ? AND created_at <= ?",
        SUPERSEDED,
        incident.id,
        SENT,
        reminder.id,
        reminder.created_at,
    )


def _running(cadence: Cadence | None, incident: Incident) -> bool:
    return cadence is not None and cadence.state == cadences.ACTIVE and incident.is_open


async def _draft(
    services: Services, incident: Incident, reminder: Reminder, cadence: Cadence | None, now: float
) -> Draft:
    settings = summary_settings(services)
    scheduled = reminder.kind == SCHEDULED and cadence is not None
    draft = await build_draft(
        services.store,
        incident.id,
        now=now,
        prepared_by=incident.commander_name,
        max_items=settings.max_items,
        next_update_at=cadence.next_due if scheduled and cadence else None,
        next_update_hours=settings.next_update_hours,
    )
    if reminder.kind == FINAL:
        draft.next_update_at = None  # the last one: no further update is planned
    return draft


async def _retry_later(services: Services, reminder: Reminder, error: str, now: float) -> None:
    attempts = reminder.attempts + 1
    if attempts >= cadence_settings(services).send_attempts:
        log.error(
            "exec-summary reminder %s given up after %d attempts: %s", reminder.id, attempts, error
        )
        await _audit(services, "summary.reminder.sent", reminder, "error", f"given up: {error}")
        await _set_state(services.store, reminder.id, FAILED, error)
        return
    delay = min(MAX_BACKOFF, cadence_settings(services).tick * 2 ** min(attempts, 12))
    await services.store.execute(
        "UPDATE summary_reminders SET next_attempt_at = ?, lease_until = NULL, last_error = ?,"
        " version = version + 1 WHERE id = ?",
        now + delay,
        error[:500],
        reminder.id,
    )
    log.warning("exec-summary reminder %s not sent (attempt %d): %s", reminder.id, attempts, error)


async def _set_state(store: Store, reminder_id: str, state: str, error: str = "") -> None:
    await store.execute(
        "UPDATE summary_reminders SET state = ?, last_error = ?, lease_until = NULL,"
        " version = version + 1 WHERE id = ?",
        state,
        error[:500],
        reminder_id,
    )


async def _audit(
    services: Services, action: str, reminder: Reminder, result: str, detail: str
) -> None:
    await services.audit.record(
        actor=SCHEDULER,
        action=action,
        target=reminder.incident_id,
        parameters={"reminder": reminder.id, "kind": reminder.kind, "due_at": reminder.due_at},
        result=result,
        detail=detail,
        origin="scheduler",
    )


def _heading(reminder: Reminder) -> str:
    return "Final executive summary" if reminder.kind == FINAL else "Executive summary due"


def reminder_card(
    services: Services,
    reminder: Reminder,
    draft: Draft,
    cadence: Cadence | None,
    *,
    can_act: bool,
    outcome: str,
    state: str = "due",
) -> dict[str, Any]:
    """The reminder card: the draft as the exec channel would see it, plus buttons (redacted on
    the way out, like every card)."""
    if reminder.kind == FINAL:
        note = "The incident is closed. Post a final summary for the executives, edit it, or skip."
    else:
        every = f" (every {format_every(cadence.every_seconds)})" if cadence else ""
        due = timefmt.date_time(reminder.due_at)
        note = f"Due {due}{every}. Post it as is, edit it, or skip it."
        if reminder.missed:
            note += f" {reminder.missed} earlier run(s) fell while Vigil was down; this is one."
    data = {
        **card_data(
            draft, summary_settings(services).policy, services.redactor.redact_pii, preview=True
        ),
        "reminderId": reminder.id,
        "heading": _heading(reminder),
        "note": note,
        "state": state,
        "outcome": outcome,
        "canAct": can_act,
    }
    return cards.render(TEMPLATE, data)


async def on_incident_closed(services: Services, event: IncidentClosed) -> None:
    """End the incident's cadence and offer its commander a final summary (subscribed to
    IncidentClosed at start-up).

    The offer goes out when executives were following the incident: a cadence was running or
    a summary was posted. It is stored before it is sent, so the scheduler retries a failure.
    """
    incident, actor = event.incident, event.actor
    now = time.time()
    stopped = await cadences.stop_cadence(services, incident.id, actor, "incident closed", now)
    if stopped is not None:
        await services.audit.record(
            actor=actor,
            action="summary.cadence.stop",
            target=incident.id,
            parameters={"cadence": stopped.id, "every_seconds": stopped.every_seconds},
            result="ok",
            detail="incident closed",
        )
    posted = await services.store.fetchval(
        "SELECT COUNT(*) FROM exec_summaries WHERE incident_id = ?", incident.id
    )
    if stopped is None and not int(posted or 0):
        return
    row = _new_row(
        stopped.id if stopped else "",
        incident.id,
        FINAL,
        now,
        0,
        now,
        commander_id=incident.commander_id,
        commander_name=incident.commander_name,
    )
    await services.store.execute(_INSERT, *row.values())
    await deliver(services, row["id"], now)


async def cadence_job(services: Services) -> None:
    """Runs until cancelled: claim due runs, send what waits; a failing round is logged."""
    tick = cadence_settings(services).tick
    while True:
        try:
            await claim_due(services.store)
            await deliver_pending(services)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("exec-summary cadence round failed")
        await asyncio.sleep(tick)


def _reminder(row: dict[str, Any]) -> Reminder:
    values = dict(row)
    for name in ("due_at", "created_at", "next_attempt_at"):
        values[name] = float(values[name])
    for name in ("lease_until", "sent_at", "decided_at"):
        if values[name] is not None:
            values[name] = float(values[name])
    for name in ("missed", "attempts", "version"):
        values[name] = int(values[name])
    return Reminder(**values)
