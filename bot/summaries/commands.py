"""`exec-summary INC-…`: builds the draft and starts the exec summary dialog where it was asked;
`--every` / `--stop` go to the cadence (bot/summaries/cadence.py)."""

from __future__ import annotations

import time
from typing import Any

from bot.incidents import records
from bot.incidents.records import Incident, IncidentNotFound
from bot.kernel import timefmt
from bot.kernel.commands import CommandSet, Invocation, Option, Param, Reply, UsageError
from bot.kernel.rbac import Actor, Role
from bot.kernel.services import Services
from bot.summaries import cadence
from bot.summaries.draft import Draft, build_draft
from bot.summaries.posting import NOT_CONFIGURED, may_post, new_post_key
from bot.summaries.settings import summary_settings

COMMANDS = CommandSet(group="summaries")
DIALOG_ID = "exec_summary"


@COMMANDS.command(
    "exec-summary",
    summary="Draft an executive summary of an incident, edit it, and post it to the exec channel "
    "(commanders, or the incident's scribe)",
    # The pipeline checks the analyst role; the handler adds commander-or-scribe of this incident.
    role=Role.ANALYST,
    mutating=True,
    params=(Param("incident", "INC-YYYYMMDD-NNN (optional in the incident's channel)", False),),
    options=(
        Option("--every", "remind me with a draft on a cadence, e.g. 2h", takes_value=True),
        Option("--stop", "end the cadence"),
    ),
    examples=(
        "exec-summary INC-20240502-003",
        "exec-summary INC-20240502-003 --every 2h",
        "exec-summary INC-20240502-003 --stop",
    ),
)
async def exec_summary(call: Invocation) -> Reply:
    incident = await _incident(call)
    if isinstance(incident, Reply):
        return incident
    if call.args["every"] is not None and call.args["stop"]:
        raise UsageError("use --every or --stop, not both")
    if call.args["every"] is not None or call.args["stop"]:
        if call.args["stop"]:
            return await _stop_cadence(call, incident)
        return await _set_cadence(call, incident, call.args["every"])
    if not summary_settings(call.services).exec_channel:
        return Reply(
            text=NOT_CONFIGURED,
            audit_target=incident.id,
            audit_result="refused",
            audit_detail="exec channel not configured",
        )
    if not may_post(call.actor, incident):
        return Reply(
            text=f"Only commanders, or the commander or scribe of {incident.id} "
            f"({incident.commander_name or 'nobody yet'}), can write its executive summary.",
            audit_target=incident.id,
            audit_result="refused",
            audit_detail="not a commander, nor the incident's commander or scribe",
        )
    draft = await draft_for(call.services, incident, call.actor)
    return Reply(
        dialog=DIALOG_ID,
        dialog_options=dialog_options(draft),
        audit_target=incident.id,
        audit_detail="exec summary dialog started",
    )


async def _set_cadence(call: Invocation, incident: Incident, every_text: str) -> Reply:
    """The `--every` answer: when and where the next reminder goes."""
    started, replaced = await cadence.start_cadence(call.services, incident, call.actor, every_text)
    every = started.every_seconds
    where = (
        "in your 1:1 chat" if started.conversation_kind == "personal" else "in the incident channel"
    )
    if started.commander_id != call.actor.aad_object_id:
        where = f"to {started.commander_name or 'the commander'} " + where.replace("your", "their")
    verb = "changed to" if replaced else "set:"
    return Reply(
        text=f"{incident.id}: exec summary cadence {verb} every {cadence.format_every(every)}. "
        f"Next reminder {timefmt.date_time(started.next_due)}, {where}, with a draft to "
        f"Post, Edit or Skip. Stop it with `exec-summary {incident.id} --stop`.",
        audit_target=incident.id,
        audit_detail=f"cadence {'changed' if replaced else 'set'} every {every}s",
    )


async def _stop_cadence(call: Invocation, incident: Incident) -> Reply:
    """The `--stop` answer."""
    if await cadence.end_cadence(call.services, incident, call.actor) is None:
        return Reply(
            text=f"{incident.id} has no summary cadence running.",
            audit_target=incident.id,
            audit_detail="no cadence",
        )
    return Reply(
        text=f"{incident.id}: exec summary cadence stopped; no more reminders.",
        audit_target=incident.id,
        audit_detail="cadence stopped",
    )


async def draft_for(services: Services, incident: Incident, actor: Actor) -> Draft:
    """The draft with this process's settings and the cadence's next due time, if one runs."""
    settings = summary_settings(services)
    return await build_draft(
        services.store,
        incident.id,
        now=time.time(),
        prepared_by=actor.name,
        max_items=settings.max_items,
        next_update_at=await cadence.next_update_at(services.store, incident.id),
        next_update_hours=settings.next_update_hours,
    )


def dialog_options(draft: Draft) -> dict[str, Any]:
    """What the dialog starts from (also for a reminder's Edit): JSON only, it is stored."""
    return {
        "draft": draft.to_dict(),
        "key": new_post_key(),
    }


async def _incident(call: Invocation) -> Incident | Reply:
    text = call.args["incident"]
    store = call.services.store
    if text:
        incident_id = records.normalise_id(text)
        if incident_id is None:
            raise UsageError(f"{records.clean_text(text, 40)!r} is not an incident id")
        try:
            return await records.get(store, incident_id)
        except IncidentNotFound:
            return Reply(
                text=f"There is no incident {incident_id}.",
                audit_target=incident_id,
                audit_result="refused",
                audit_detail="no such incident",
            )
    found = await records.for_channel(store, call.conversation.channel_id or call.conversation.id)
    if found is None:
        raise UsageError("name the incident (INC-YYYYMMDD-NNN) or run this in its channel")
    return found
