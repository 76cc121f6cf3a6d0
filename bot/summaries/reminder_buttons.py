"""The Post / Skip buttons of exec-summary reminder cards (Edit is an imBack of `exec-summary`).

Each click is a compare-and-set on the reminder's state, so a double click (or two people)
acts once; a click on a reminder that is over gets the card back, read-only, saying why.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.incidents import records, timeline
from bot.incidents.records import Incident, IncidentNotFound
from bot.kernel.commands import ActionCall, ActionHandler, CommandSet, Reply, UsageError
from bot.kernel.rbac import Role
from bot.kernel.services import Services
from bot.kernel.timefmt import date_time
from bot.summaries import cadence as cadences
from bot.summaries.cadence import TIMELINE_KIND
from bot.summaries.draft import Draft
from bot.summaries.posting import CLAIM_LEASE, SummaryError, post_summary
from bot.summaries.reminders import (
    FINAL,
    POSTED,
    POSTING,
    SCHEDULED,
    SENT,
    SKIPPED,
    SUPERSEDED,
    Reminder,
    get,
    reminder_card,
)

COMMANDS = CommandSet(group="summaries")
POST_VERB = "summary.reminder.post"
SKIP_VERB = "summary.reminder.skip"
_REMINDER_ID = re.compile(r"[0-9a-f]{32}")


async def _clicked(call: ActionCall) -> tuple[Reminder, Incident]:
    value = call.data.get("reminderId")
    if not isinstance(value, str) or not _REMINDER_ID.fullmatch(value):
        raise UsageError("This button names no exec-summary reminder.")
    reminder = await get(call.services.store, value)
    if reminder is None:
        raise UsageError("I know no such exec-summary reminder.")
    try:
        return reminder, await records.get(call.services.store, reminder.incident_id)
    except IncidentNotFound:
        raise UsageError(f"There is no incident {reminder.incident_id} any more.") from None


async def _closed_reason(services: Services, reminder: Reminder, incident: Incident) -> str:
    """Why this reminder can no longer be acted on, or "" while it is open."""
    who = reminder.decided_by_name or "someone"
    at = date_time(reminder.decided_at) if reminder.decided_at else ""
    by_state = {
        POSTED: f"Already posted to the exec channel by {who} at {at}.",
        POSTING: f"{who} is posting this summary right now.",
        SKIPPED: f"Skipped by {who} at {at}.",
        SUPERSEDED: "A newer reminder replaced this one; use the latest.",
    }
    if reminder.state != SENT and not _stalled(reminder):
        return by_state.get(reminder.state, "This reminder is not open.")
    if reminder.kind == SCHEDULED:
        cadence = await cadences.get(services.store, reminder.cadence_id)
        if not incident.is_open:
            return f"{incident.id} is closed; this scheduled reminder is over."
        if cadence is None or cadence.state != cadences.ACTIVE:
            reason = cadence.stop_reason if cadence else "stopped"
            return f"The summary cadence of {incident.id} was stopped ({reason})."
    row = await services.store.fetchone(
        "SELECT posted_at, posted_by_name FROM exec_summaries WHERE incident_id = ?"
        " AND posted_at >= ? AND id <> ? ORDER BY posted_at DESC LIMIT 1",
        incident.id,
        reminder.sent_at or reminder.created_at,
        reminder.id,
    )
    if row is not None:
        return (
            f"{row['posted_by_name']} posted a summary of {incident.id} at "
            f"{date_time(float(row['posted_at']))}, after this reminder; nothing posted again."
        )
    return ""


async def _closed_answer(call: ActionCall, reminder: Reminder, reason: str) -> Reply:
    """The card, read-only, saying why; for a Post/Skip that came too late."""
    card = await _card_now(call.services, reminder, can_act=False, outcome=reason, state="closed")
    return Reply(
        text=None if card else reason,
        card=card,
        audit_target=reminder.incident_id,
        audit_result="refused",
        audit_detail=reason,
    )


async def _card_now(
    services: Services, reminder: Reminder, *, can_act: bool, outcome: str, state: str
) -> dict[str, Any] | None:
    if not reminder.draft:
        return None
    draft = Draft.from_dict(json.loads(reminder.draft))
    cadence = (
        await cadences.get(services.store, reminder.cadence_id) if reminder.cadence_id else None
    )
    return reminder_card(
        services, reminder, draft, cadence, can_act=can_act, outcome=outcome, state=state
    )


def _refused(incident: Incident, reminder: Reminder, what: str) -> Reply:
    return Reply(
        text=f"Only the incident commander of {incident.id} "
        f"({incident.commander_name or 'nobody yet'}), its scribe or someone with the commander "
        f"role can {what} this summary.",
        audit_target=incident.id,
        audit_result="refused",
        audit_detail=f"reminder {reminder.id}: not the commander or scribe",
    )


def _stalled(reminder: Reminder) -> bool:
    """Posting, but for longer than any post takes: its instance died; it may be posted again."""
    return (
        reminder.state == POSTING
        and reminder.decided_at is not None
        and reminder.decided_at < time.time() - CLAIM_LEASE
    )


async def _decide(call: ActionCall, reminder: Reminder, to_state: str) -> bool:
    """Compare-and-set sent (or a stalled post) -> to_state; True for the one click that wins."""
    now = time.time()
    won = await call.services.store.execute(
        "UPDATE summary_reminders SET state = ?, decided_by_name = ?, decided_at = ?,"
        " version = version + 1 WHERE id = ? AND (state = ? OR (state = ? AND decided_at < ?))",
        to_state,
        call.actor.name,
        now,
        reminder.id,
        SENT,
        POSTING,
        now - CLAIM_LEASE,
    )
    return won == 1


async def _claim(call: ActionCall, verb: str, to_state: str) -> tuple[Reminder, Incident] | Reply:
    """The reminder and its incident for the one click that moved it to `to_state`; for any
    other click (a refresh, a refusal, a reminder that is over or was just taken), the answer."""
    reminder, incident = await _clicked(call)
    if call.refresh:  # a refresh only renders; it never posts or skips
        card = await _card_now(call.services, reminder, can_act=False, outcome="", state="due")
        return Reply(card=card, text=None if card else "Nothing to show.", audit_target=incident.id)
    if not cadences.may_manage(call.actor, incident):
        return _refused(incident, reminder, verb)
    reason = await _closed_reason(call.services, reminder, incident)
    if reason:
        return await _closed_answer(call, reminder, reason)
    if not await _decide(call, reminder, to_state):
        fresh = await get(call.services.store, reminder.id)
        assert fresh is not None
        return await _closed_answer(
            call, fresh, await _closed_reason(call.services, fresh, incident)
        )
    return reminder, incident


async def _decided(
    call: ActionCall, reminder: Reminder, outcome: str, state: str, audit_detail: str
) -> Reply:
    """The card as the decision left it, read-only, saying what was done."""
    fresh = await get(call.services.store, reminder.id)
    assert fresh is not None
    card = await _card_now(call.services, fresh, can_act=False, outcome=outcome, state=state)
    return Reply(
        card=card,
        text=None if card else outcome,
        audit_target=reminder.incident_id,
        audit_detail=audit_detail,
    )


# A button's work, run only for the click that claimed the reminder.
ClaimedClick = Callable[[ActionCall, Reminder, Incident], Awaitable[Reply]]


def _button(verb: str, what: str, to_state: str) -> Callable[[ClaimedClick], ActionHandler]:
    """Declare the card action `verb`: the click that moves the reminder to `to_state` runs the
    handler; every other click gets the answer `_claim` gives (`what` names the act)."""

    def declare(handler: ClaimedClick) -> ActionHandler:
        @COMMANDS.action(verb, role=Role.ANALYST)
        async def clicked(call: ActionCall) -> Reply:
            found = await _claim(call, what, to_state)
            if isinstance(found, Reply):
                return found
            return await handler(call, *found)

        return clicked

    return declare


@_button(POST_VERB, "post", POSTING)
async def post(call: ActionCall, reminder: Reminder, incident: Incident) -> Reply:
    draft = Draft.from_dict(json.loads(reminder.draft))
    draft.prepared_by = call.actor.name
    try:
        # The reminder id is the post key: a retry after a crash mid-post posts once.
        await post_summary(
            call.services,
            draft,
            call.actor,
            key=reminder.id,
            correlation_id=call.correlation_id,
            conversation=call.conversation.id,
        )
    except SummaryError as exc:
        await call.services.store.execute(
            "UPDATE summary_reminders SET state = ?, decided_by_name = '', decided_at = NULL,"
            " version = version + 1 WHERE id = ? AND state = ?",
            SENT,
            reminder.id,
            POSTING,
        )
        return Reply(
            text=str(exc), audit_target=incident.id, audit_result="error", audit_detail=str(exc)
        )
    await call.services.store.execute(
        "UPDATE summary_reminders SET state = ?, version = version + 1 WHERE id = ?",
        POSTED,
        reminder.id,
    )
    outcome = f"Posted to the exec channel by {call.actor.name} at {date_time(time.time())}."
    return await _decided(call, reminder, outcome, POSTED, f"reminder {reminder.id} posted")


@_button(SKIP_VERB, "skip", SKIPPED)
async def skip(call: ActionCall, reminder: Reminder, incident: Incident) -> Reply:
    what = "final" if reminder.kind == FINAL else f"scheduled (due {date_time(reminder.due_at)})"
    await timeline.add_timeline(
        call.services.store,
        incident.id,
        call.actor.name,
        TIMELINE_KIND,
        f"Exec summary {what} skipped",
    )
    outcome = f"Skipped by {call.actor.name} at {date_time(time.time())}; nothing was posted."
    return await _decided(call, reminder, outcome, SKIPPED, f"reminder {reminder.id} skipped")
