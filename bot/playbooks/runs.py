"""A run's life: started by a person, advanced by its SOAR's events, shown on one card that is
updated in place, audited at every step and written to the incident's timeline when it has one."""

from __future__ import annotations

import logging
from typing import Any

import cards
from bot.incidents.records import IncidentNotFound
from bot.incidents.timeline import add_timeline
from bot.kernel.messenger import DeliveryFailed, Message
from bot.kernel.rbac import Actor
from bot.kernel.services import Services, Slot
from bot.playbooks import records, webhook
from bot.playbooks.config import Playbook, Playbooks
from bot.playbooks.presentation import run_card_data
from bot.playbooks.records import Event, Run
from bot.playbooks.settings import PlaybookSettings

log = logging.getLogger(__name__)

PLAYBOOKS: Slot[Playbooks] = Slot("playbooks.config")
SETTINGS: Slot[PlaybookSettings] = Slot("playbooks.settings")
TEMPLATE = "playbook_run"


def configured(services: Services) -> Playbooks:
    return services.provide(PLAYBOOKS, lambda: Playbooks.load(services.raw_config))


def settings(services: Services) -> PlaybookSettings:
    return services.provide(SETTINGS, lambda: PlaybookSettings.load(services.raw_config))


def soar_actor(playbook: str) -> Actor:
    """Who an event is audited as: the SOAR that signed it with the playbook's key."""
    return Actor(aad_object_id=f"vigil:playbook:{playbook}", name=f"SOAR ({playbook})")


async def start_run(
    services: Services,
    playbook: Playbook,
    *,
    inputs: dict[str, str],
    incident_id: str,
    actor: Actor,
    conversation_id: str,
    correlation_id: str = "",
) -> Run:
    """Record the run, post its card, then ask the SOAR once; the run as it stands after."""
    run = await records.create(
        services.store,
        playbook=playbook.name,
        inputs=inputs,
        incident_id=incident_id,
        requested_by_id=actor.aad_object_id,
        requested_by_name=actor.name,
    )
    await _post_card(services, playbook, run, conversation_id)
    payload: dict[str, Any] = {
        "run_id": run.id,
        "playbook": playbook.name,
        "inputs": inputs,
        "incident": incident_id or None,
        "requested_by": {"aad_object_id": actor.aad_object_id, "name": actor.name},
        "events_url": settings(services).events_url,
    }
    started = await webhook.start(
        services.http, services.secrets, playbook, payload, settings(services).timeout
    )
    current = await records.get(services.store, run.id)
    if started.ok:
        # An event may have moved it on already while the start's answer was on its way.
        status = "running" if current.status == "starting" else current.status
    else:
        status = "failed"
    detail = services.redactor.redact(started.detail)
    await records.set_state(services.store, run.id, status, detail)
    await services.audit.record(
        actor=actor,
        action="playbook.start",
        target=run.id,
        parameters={"playbook": playbook.name, "inputs": inputs, "incident": incident_id},
        result="ok" if started.ok else "error",
        detail=started.detail,
        correlation_id=correlation_id,
        conversation=conversation_id,
    )
    verb = "started" if started.ok else f"failed to start: {started.detail}"
    await _timeline(services, run, actor.name, f"{run.id} {playbook.name} {verb}")
    run = await records.get(services.store, run.id)
    await refresh_card(services, run)
    return run


async def record_event(services: Services, run: Run, event: Event) -> None:
    """After the event is stored: audit, timeline, and the card shown again."""
    actor = soar_actor(run.playbook)
    await services.audit.record(
        actor=actor,
        action="playbook.event",
        target=run.id,
        parameters={"seq": event.seq, "step": event.step, "status": event.status},
        result="ok",
        detail=event.output[:300],
        origin="webhook",
    )
    text = f"{run.id} step {event.seq} {event.step}: {event.status}"
    await _timeline(services, run, actor.name, text)
    await refresh_card(services, await records.get(services.store, run.id))


async def refresh_card(services: Services, run: Run) -> None:
    """Show the run as stored now (all its events, in seq order) on its card."""
    if not run.card_activity_id or services.messenger is None:
        return
    playbook = configured(services).find(run.playbook)
    events = await records.events(services.store, run.id)
    card = cards.render(TEMPLATE, run_card_data(playbook, run, events))
    try:
        await services.messenger.update(
            run.card_conversation_id, run.card_activity_id, Message(card=card), paced=True
        )
    except DeliveryFailed as exc:
        # The run is stored; the next event or `playbook status` shows it again.
        log.warning("run card of %s not updated: %s", run.id, exc)


async def _post_card(
    services: Services, playbook: Playbook, run: Run, conversation_id: str
) -> None:
    if services.messenger is None or not conversation_id:
        return
    card = cards.render(TEMPLATE, run_card_data(playbook, run, []))
    try:
        activity_id = await services.messenger.post(conversation_id, Message(card=card), paced=True)
    except DeliveryFailed as exc:
        log.warning("run card of %s not posted: %s", run.id, exc)
        return
    await records.set_card(services.store, run.id, conversation_id, activity_id)


async def _timeline(services: Services, run: Run, actor_name: str, text: str) -> None:
    if not run.incident_id:
        return
    try:
        await add_timeline(services.store, run.incident_id, actor_name, "playbook", text)
    except IncidentNotFound:
        log.warning("playbook run %s names unknown incident %s", run.id, run.incident_id)
