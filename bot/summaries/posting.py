"""post_summary: the exec summary card into the exec channel, a copy on the incident timeline,
an audit record. Only commanders (or the incident's commander or scribe) post there."""

from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

import cards
from bot.incidents import records, timeline
from bot.incidents.records import Incident
from bot.kernel import conversation_refs
from bot.kernel.messenger import DeliveryFailed, Message
from bot.kernel.rbac import Actor, Role
from bot.kernel.services import Services
from bot.summaries.draft import Draft
from bot.summaries.presentation import card_data, plain_text
from bot.summaries.settings import summary_settings

log = logging.getLogger(__name__)
# Records one step of a post in the audit log: (result, detail, **parameters).
Audit = Callable[..., Awaitable[None]]
AUDIT_ACTION = "summary.post"
# A post key claimed but never given a message id belongs to an instance that died mid-post once
# this has passed: longer than the connector's longest send (5 tries of 15 s, waits up to 60 s).
CLAIM_LEASE = 360.0
NOT_CONFIGURED = (
    "Executive summaries are not configured: a Vigil admin sets VIGIL_EXEC_CHANNEL "
    "(summaries.exec_channel) to the exec channel's id (19:…@thread.tacv2)."
)


class SummaryError(RuntimeError):
    """Nothing was posted; the message says why, in words for the commander."""


class SummaryNotConfigured(SummaryError):
    pass


class SummaryRefused(SummaryError):
    pass


def may_post(actor: Actor, incident: Incident) -> bool:
    """Commanders, and the incident's own commander or scribe."""
    if actor.has(Role.COMMANDER):
        return True
    mine = {incident.commander_id, incident.scribe_id} - {""}
    return bool(actor.aad_object_id) and actor.aad_object_id in mine


def new_post_key() -> str:
    """Drawn once per dialog: confirming twice with one key posts once."""
    return uuid.uuid4().hex


async def post_summary(
    services: Services,
    draft: Draft,
    actor: Actor,
    *,
    key: str | None = None,
    correlation_id: str = "",
    conversation: str = "",
) -> str:
    """Post the redacted card to the exec channel; returns its activity id. Raises SummaryError."""
    settings = summary_settings(services)
    key = key or new_post_key()
    audit = functools.partial(
        _audit, services, actor, draft.incident_id, key, correlation_id, conversation
    )
    incident, conversation_id = await _where_to_post(services, draft, actor, audit)
    done = await _already_posted(services, key)
    if done:
        return done
    data = card_data(draft, settings.policy, services.redactor.redact_pii)
    card = cards.render("exec_summary", data)
    if not await _claim(services, key, incident, actor, draft, data):
        done = await _already_posted(services, key)
        if done:
            return done
        await audit("refused", "this summary is being posted by another click")
        raise SummaryError(
            "This summary is being posted right now (another click, or an instance that "
            "stopped mid-post). Check the exec channel; if it is not there in a few minutes, "
            "confirm again. Nothing new was posted."
        )
    activity_id = await _send(services, key, conversation_id, card, audit)
    copy = services.redactor.redact(f"Executive summary posted by {actor.name}: {plain_text(data)}")
    await timeline.add_timeline(services.store, incident.id, actor.name, "summary", copy)
    await audit(
        "ok",
        "posted to the exec channel",
        channel=settings.exec_channel,
        activity_id=activity_id,
        kept_internal_names=sorted(draft.kept_names),
    )
    return activity_id


async def _audit(
    services: Services,
    actor: Actor,
    incident_id: str,
    key: str,
    correlation_id: str,
    conversation: str,
    result: str,
    detail: str,
    **parameters: object,
) -> None:
    await services.audit.record(
        actor=actor,
        action=AUDIT_ACTION,
        target=incident_id,
        parameters={"post_key": key, **parameters},
        result=result,
        detail=detail,
        correlation_id=correlation_id,
        conversation=conversation,
    )


async def _where_to_post(
    services: Services, draft: Draft, actor: Actor, audit: Audit
) -> tuple[Incident, str]:
    """The incident and the exec channel's conversation, once the actor may post there."""
    settings = summary_settings(services)
    if not settings.exec_channel:
        await audit("refused", "exec channel not configured")
        raise SummaryNotConfigured(NOT_CONFIGURED)
    try:
        incident = await records.get(services.store, draft.incident_id)
    except records.IncidentNotFound:
        await audit("refused", "no such incident")
        raise SummaryRefused(f"There is no incident {draft.incident_id}.") from None
    if not may_post(actor, incident):
        await audit("refused", "not a commander, nor the incident's commander or scribe")
        raise SummaryRefused(
            f"Only commanders, or the commander or scribe of {incident.id}, can post "
            "executive summaries."
        )
    saved = await conversation_refs.find_channel(services.store, settings.exec_channel)
    if saved is None or services.messenger is None:
        await audit("error", "Vigil is not installed in the exec channel")
        raise SummaryError(
            "Vigil is not installed in the exec channel (or has not heard from it yet): add the "
            "Vigil app to that channel's team, then try again. Nothing was posted."
        )
    return incident, saved.conversation_id


async def _send(
    services: Services, key: str, conversation_id: str, card: dict, audit: Audit
) -> str:
    """Post the card under the claimed key and record its message id."""
    assert services.messenger is not None  # checked by _where_to_post
    try:
        activity_id = await services.messenger.post(conversation_id, Message(card=card), paced=True)
    except DeliveryFailed as exc:
        # Give the key back so the commander can confirm again.
        await services.store.execute("DELETE FROM exec_summaries WHERE id = ?", key)
        await audit("error", f"exec channel post failed: {exc}")
        raise SummaryError(f"Teams did not take the summary ({exc}). Nothing was posted.") from None
    await services.store.execute(
        "UPDATE exec_summaries SET activity_id = ? WHERE id = ?", activity_id, key
    )
    return activity_id


async def _claim(
    services: Services, key: str, incident: Incident, actor: Actor, draft: Draft, data: dict
) -> bool:
    """Take the post key: a new one, or one whose claimer died before recording its message."""
    now = time.time()
    inserted = await services.store.execute(
        "INSERT INTO exec_summaries (id, incident_id, posted_at, posted_by_id, posted_by_name,"
        " channel_id, activity_id, impact, data) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?)"
        " ON CONFLICT (id) DO NOTHING",
        key,
        incident.id,
        now,
        actor.aad_object_id,
        actor.name,
        summary_settings(services).exec_channel,
        draft.impact,
        json.dumps(data),
    )
    if inserted == 1:
        return True
    taken = await services.store.execute(
        "UPDATE exec_summaries SET posted_at = ?, posted_by_id = ?, posted_by_name = ?,"
        " impact = ?, data = ? WHERE id = ? AND activity_id = '' AND posted_at < ?",
        now,
        actor.aad_object_id,
        actor.name,
        draft.impact,
        json.dumps(data),
        key,
        now - CLAIM_LEASE,
    )
    if taken == 1:
        log.warning("exec summary %s: taking over a post that never completed", key)
    return taken == 1


async def _already_posted(services: Services, key: str) -> str | None:
    found = await services.store.fetchval(
        "SELECT activity_id FROM exec_summaries WHERE id = ?", key
    )
    return str(found) if found else None
