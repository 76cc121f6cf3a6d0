"""Give an incident its Teams channel (Graph) and post the incident card into it (Bot Connector).

If anything fails (Graph or Entra unreachable, a timeout, an error answer, the bot not yet in the
team) the incident still exists: the failure is recorded on the incident, shown on its card with a
"Retry channel" button, written to the timeline once, and tried again by the channel job (on every
instance, one attempt at a time) with a doubling wait until the channel exists and has the card.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from bot.entra.graph import GraphClient, GraphError, token_provider
from bot.incidents import records, timeline
from bot.incidents.presentation import current_card
from bot.incidents.records import Incident
from bot.incidents.settings import CHANNEL_MEMBERSHIP, CHANNEL_RETRY, GRAPH_URL, INCIDENT_TEAM_ID
from bot.incidents.slug import channel_name
from bot.kernel.messenger import ConversationUnknown, DeliveryFailed, Message
from bot.kernel.services import Services, Slot

log = logging.getLogger(__name__)

GRAPH: Slot[GraphClient] = Slot("incidents.graph")
TEAM_KV = ("incidents", "team")
MAX_NAME_ATTEMPTS = 20
MAX_RETRY_WAIT = 1800.0
CLAIM_SCOPE = "incidents.channel"
NO_TEAM = (
    "no incident team is configured; an admin can say `incident-team use this` in the team "
    "(or set VIGIL_INCIDENT_TEAM_ID)"
)


def graph_client(services: Services) -> GraphClient:
    """One Graph client per process, so its MSAL token cache lives as long as the process."""

    def build() -> GraphClient:
        raw = services.raw_config
        tokens = token_provider(raw, services.settings, services.secrets)
        return GraphClient(services.http, tokens, raw.get(GRAPH_URL))

    return services.provide(GRAPH, build)


async def incident_team(services: Services) -> str:
    """The team's Entra group id: configuration first, else what `incident-team use this` saved."""
    configured = services.raw_config.get(INCIDENT_TEAM_ID)
    if configured:
        return configured
    saved = await services.store.kv_read(*TEAM_KV[:1], [TEAM_KV[1]])
    value = saved.get(TEAM_KV[1])
    return str(value[0].get("aad_group_id", "")) if value else ""


async def remember_team(services: Services, aad_group_id: str, team_id: str, name: str) -> None:
    document = {"aad_group_id": aad_group_id, "team_id": team_id, "team_name": name}
    await services.store.kv_write(TEAM_KV[0], TEAM_KV[1], document, None)


async def provision(services: Services, incident: Incident, owner_id: str = "") -> Incident:
    """Create the channel if the incident has none, then post the card there; the new record.

    Never raises for a failure of Graph, Entra or Teams: that is recorded and retried later."""
    try:
        if not incident.channel_id:
            await _create_channel(services, incident, owner_id)
            incident = await records.get(services.store, incident.id)
        if incident.channel_id and not incident.card_activity_id:
            await _post_card(services, incident)
            incident = await records.get(services.store, incident.id)
    except Exception as exc:
        # Whatever broke, the incident stands; say so on it and let the job try again.
        log.exception("incident %s: channel step failed", incident.id)
        await _failed(services, incident, f"unexpected error ({type(exc).__name__})")
        incident = await records.get(services.store, incident.id)
    if incident.channel_id and incident.card_activity_id and incident.channel_retry_at:
        await records.update(services.store, incident.id, channel_retry_at=0.0)
        incident = await records.get(services.store, incident.id)
    return incident


async def retry_due(services: Services, now: float | None = None) -> int:
    """One round of the channel job: every due incident once; how many were tried here."""
    now = time.time() if now is None else now
    tried = 0
    for incident in await records.channels_due(services.store, now):
        # Keyed by the attempt count, which each failure raises: one instance per attempt.
        key = f"{incident.id}:{incident.channel_attempts}"
        if not await services.store.claim_once(CLAIM_SCOPE, key, MAX_RETRY_WAIT):
            continue
        await provision(services, incident, incident.opened_by_id)
        tried += 1
    return tried


async def channel_job(services: Services) -> None:
    """Runs until cancelled: creates the channels (and posts the cards) that failed before."""
    poll = min(5.0, services.raw_config.get(CHANNEL_RETRY))
    while True:
        try:
            await retry_due(services)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("incident channel round failed")
        await asyncio.sleep(poll)


async def _create_channel(services: Services, incident: Incident, owner_id: str) -> None:
    store = services.store
    group = await incident_team(services)
    if not group:
        await _failed(services, incident, NO_TEAM)
        return
    client = graph_client(services)
    membership = services.raw_config.get(CHANNEL_MEMBERSHIP)
    description = f"{incident.id} ({incident.severity}): {incident.title}"
    for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
        name = channel_name(incident.day, incident.title, incident.number, attempt)
        try:
            channel = await client.create_channel(group, name, description, membership, owner_id)
        except GraphError as exc:
            if _name_taken(exc):
                # Ours already, when an earlier try was created but its answer lost?
                channel = await _ours(client, group, name, incident)
                if channel is None:
                    continue
            else:
                log.warning("incident %s: channel not created: %s", incident.id, exc)
                await _failed(services, incident, _reason(exc))
                return
        channel_id = str(channel.get("id") or "")
        if not channel_id:
            await _failed(services, incident, "Graph answered without a channel id")
            return
        await records.update(
            store,
            incident.id,
            team_id=group,
            channel_id=channel_id,
            channel_name=str(channel.get("displayName") or name),
            channel_url=_https(channel.get("webUrl")),
            channel_error="",
        )
        await timeline.add_timeline(
            store, incident.id, "Vigil", "channel", f"Channel {name} created"
        )
        return
    await _failed(services, incident, f"{MAX_NAME_ATTEMPTS} channel names were all taken")


async def _post_card(services: Services, incident: Incident) -> None:
    """Start a thread in the new channel with the card; Teams takes it once Vigil was installed
    in the team (the Messenger then knows how to reach the team)."""
    if services.messenger is None:
        await _card_not_posted(services, incident, "Vigil cannot post to Teams from here")
        return
    card = await current_card(services.store, incident)
    try:
        thread = await services.messenger.create_channel_conversation(
            incident.team_id, incident.channel_id, Message(card=card)
        )
    except ConversationUnknown:
        await _card_not_posted(
            services, incident, "Vigil has not seen this team yet (add the bot to the team)"
        )
        return
    except DeliveryFailed as exc:
        log.warning("incident %s: card not posted: %s", incident.id, exc)
        await _card_not_posted(services, incident, str(exc))
        return
    await records.update(
        services.store,
        incident.id,
        card_conversation_id=thread.conversation_id,
        card_activity_id=thread.activity_id,
    )


async def _card_not_posted(services: Services, incident: Incident, reason: str) -> None:
    await _retry_later(services, incident, f"Card not posted: {reason}")


async def _failed(services: Services, incident: Incident, reason: str) -> None:
    await records.update(services.store, incident.id, channel_error=reason)
    await _retry_later(services, incident, f"Channel not created: {reason}")


async def _retry_later(services: Services, incident: Incident, what: str) -> None:
    """Schedule the next try; the timeline hears of the first failure and of a new reason."""
    attempts = incident.channel_attempts + 1
    first = services.raw_config.get(CHANNEL_RETRY)
    wait = min(MAX_RETRY_WAIT, first * 2 ** min(attempts - 1, 20))
    await records.update(
        services.store,
        incident.id,
        channel_attempts=attempts,
        channel_retry_at=time.time() + wait,
    )
    last = await timeline.last_of_kind(services.store, incident.id, "channel")
    if last is None or last.text != what:
        await timeline.add_timeline(services.store, incident.id, "Vigil", "channel", what)


async def _ours(
    client: GraphClient, group: str, name: str, incident: Incident
) -> dict[str, Any] | None:
    """The channel named `name` if this incident made it (its description starts with the id)."""
    try:
        found = await client.find_channel(group, name)
    except GraphError:
        return None
    if found and str(found.get("description") or "").startswith(f"{incident.id} "):
        return found
    return None


def _name_taken(exc: GraphError) -> bool:
    return exc.status == 409 or (exc.status == 400 and exc.code == "NameAlreadyExists")


def _reason(exc: GraphError) -> str:
    if exc.status == 0:
        return f"Graph could not be reached ({exc.code}: {exc.message})"[:300]
    if exc.status in (401, 403):
        return (
            f"Graph refused ({exc.status} {exc.code}); grant Channel.Create.Group (resource-"
            "specific consent) or Channel.Create to the app"
        )
    return f"Graph answered {exc.status} {exc.code}".strip()


def _https(value: Any) -> str:
    return value if isinstance(value, str) and value.startswith("https://") else ""
