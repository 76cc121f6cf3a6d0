"""Opening an incident: the record, its first timeline entries, the audit event, the channel.

Bad input raises DomainError; the command or dialog that asked tells the requester."""

from __future__ import annotations

from bot.incidents import channel, records, timeline
from bot.incidents.records import MAX_INDICATORS, Incident, Severity
from bot.kernel.commands import Conversation
from bot.kernel.errors import DomainError
from bot.kernel.rbac import Actor
from bot.kernel.services import Services
from bot.store import DuplicateKeyError


def parse_severity(text: str | None) -> Severity:
    value = (text or "").strip().lower()
    if value not in Severity._value2member_map_:
        raise DomainError(f"severity must be one of {', '.join(s.value for s in Severity)}")
    return Severity(value)


def parse_indicators(text: str | None) -> list[str]:
    """Indicators given with --ioc: comma or space separated, kept as typed (defanged is fine)."""
    items = [item.strip() for item in (text or "").replace(",", " ").split()]
    items = [records.clean_text(item, 300) for item in items if item]
    if len(items) > MAX_INDICATORS:
        raise DomainError(f"at most {MAX_INDICATORS} indicators")
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
    request_key: str = "",
) -> Incident:
    """The new incident, with its channel when Graph made one (else `channel_error` says why and
    the channel job tries again).

    `request_key` names what asked ("activity:<id>", "dialog:<run>"): asked again, the same
    request gets the incident it already opened, never a second one."""
    if not records.clean_text(title, records.MAX_TITLE):
        raise DomainError("the incident needs a title")
    opened = await records.by_request(services.store, request_key)
    if opened is not None:
        return opened
    try:
        incident = await records.create(
            services.store,
            title=title,
            severity=severity,
            description=description,
            indicators=indicators,
            alert_id=records.clean_text(alert_id, 200),
            opened_by_id=actor.aad_object_id,
            opened_by_name=actor.name,
            request_key=request_key[:200],
        )
    except DuplicateKeyError:
        # The same request, redelivered while the first delivery was opening it.
        opened = await records.by_request(services.store, request_key[:200])
        if opened is None:
            raise
        return opened
    await _first_entries(services, incident, actor)
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
    return await channel.provision(services, incident, actor.aad_object_id)


async def _first_entries(services: Services, incident: Incident, actor: Actor) -> None:
    store = services.store
    opened = f"Incident opened ({incident.severity}): {incident.title}"
    await timeline.add_timeline(store, incident.id, actor.name, "opened", opened)
    if incident.indicators:
        listed = ", ".join(incident.indicators)
        await timeline.add_timeline(store, incident.id, actor.name, "indicators", listed)
    if incident.alert_id:
        await timeline.add_timeline(
            store, incident.id, actor.name, "alert", f"From alert {incident.alert_id}"
        )
