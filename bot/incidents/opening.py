"""Opening an incident: the record, its first timeline entries, the audit event, the channel."""

from __future__ import annotations

from bot.commands import Conversation, Reply, UsageError
from bot.incidents import channel, records, timeline
from bot.incidents.presentation import CARD_TIMELINE, incident_card
from bot.incidents.records import MAX_INDICATORS, Incident, Severity
from bot.rbac import Actor
from bot.services import Services


def parse_severity(text: str | None) -> Severity:
    value = (text or "").strip().lower()
    if value not in Severity._value2member_map_:
        raise UsageError(f"severity must be one of {', '.join(s.value for s in Severity)}")
    return Severity(value)


def parse_indicators(text: str | None) -> list[str]:
    """Indicators given with --ioc: comma or space separated, kept as typed (defanged is fine)."""
    items = [item.strip() for item in (text or "").replace(",", " ").split()]
    items = [records.clean_text(item, 300) for item in items if item]
    if len(items) > MAX_INDICATORS:
        raise UsageError(f"at most {MAX_INDICATORS} indicators")
    return items


async def open_incident(
    services: Services,
    actor: Actor,
    conversation: Conversation,
    *,
    title: str,
    severity: Severity,
    description: str = "",
    indicators: list[str] | None = None,
    alert_id: str = "",
    correlation_id: str = "",
) -> Reply:
    if not records.clean_text(title, records.MAX_TITLE):
        raise UsageError("the incident needs a title")
    store = services.store
    incident = await records.create(
        store,
        title=title,
        severity=severity,
        description=description,
        indicators=indicators,
        alert_id=records.clean_text(alert_id, 200),
        opened_by_id=actor.aad_object_id,
        opened_by_name=actor.name,
    )
    opened = f"Incident opened ({incident.severity}): {incident.title}"
    await timeline.add_timeline(store, incident.id, actor.name, "opened", opened)
    if incident.indicators:
        listed = ", ".join(incident.indicators)
        await timeline.add_timeline(store, incident.id, actor.name, "indicators", listed)
    if incident.alert_id:
        await timeline.add_timeline(
            store, incident.id, actor.name, "alert", f"From alert {incident.alert_id}"
        )
    await services.audit.record(
        actor=actor,
        action="incident.create",
        target=incident.id,
        parameters={
            "title": incident.title,
            "severity": incident.severity,
            "indicators": incident.indicators,
            "alertId": incident.alert_id,
        },
        result="ok",
        detail="",
        correlation_id=correlation_id,
        conversation=conversation.id,
        origin="cli" if conversation.kind == "cli" else "teams",
    )
    incident = await channel.provision(services, incident, actor.aad_object_id)
    return await answer(services, incident, created=True)


async def answer(services: Services, incident: Incident, *, created: bool = False) -> Reply:
    """The requester's answer: the card, and a line saying where the incident lives."""
    latest, total = await timeline.latest(services.store, incident.id, CARD_TIMELINE)
    card = incident_card(incident, latest, total)
    opened = f"Opened {incident.id}. " if created else ""
    if incident.channel_url:
        where = f"Channel: [{incident.channel_name}]({incident.channel_url})"
    elif incident.channel_id:
        where = f"Channel: {incident.channel_name}"
    else:
        where = f"No channel yet: {incident.channel_error}"
    return Reply(text=opened + where, card=card, audit_target=incident.id)
