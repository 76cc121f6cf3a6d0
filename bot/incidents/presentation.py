"""The incident card's data (docs/cards.md `incident`), plus the channel-failure notice, and the
line that tells the requester where the incident lives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cards
from bot.incidents.records import Incident
from bot.incidents.timeline import Entry, latest
from bot.kernel import timefmt
from bot.store import Store

CARD_TIMELINE = 5
RETRY_VERB = "incident.retry_channel"


def card_data(incident: Incident, latest: Sequence[Entry], total: int) -> dict[str, Any]:
    more = total - len(latest)
    return {
        "incidentId": incident.id,
        "title": incident.title or "(untitled)",
        "severity": incident.severity,
        "status": incident.status.capitalize(),
        "commander": incident.commander_name or "unassigned",
        "openedAt": timefmt.date_time(incident.opened_at),
        "channelUrl": incident.channel_url,
        "timeline": [
            {
                "at": timefmt.clock(e.at, label=False),
                "who": e.actor,
                "text": e.text,
            }
            for e in latest
        ],
        "timelineMore": f"+{more} earlier entries (incident timeline)" if more > 0 else "",
    }


def incident_card(incident: Incident, latest: Sequence[Entry], total: int) -> dict[str, Any]:
    """The rendered card; when the channel could not be made it says why and offers a retry."""
    card = cards.render("incident", card_data(incident, latest, total))
    if incident.channel_id or not incident.channel_error:
        return card
    # The shared template has no failure slot; the notice goes through the same text escaping
    # by rendering it as the error template's message, then borrowing that TextBlock.
    notice = cards.render(
        "error", {"title": "", "message": f"No incident channel: {incident.channel_error}"}
    )
    text = next(
        block["text"] for block in _blocks(notice) if "No incident channel" in block.get("text", "")
    )
    card["body"].append({"type": "TextBlock", "text": text, "wrap": True, "color": "Attention"})
    card.setdefault("actions", []).append(
        {
            "type": "Action.Execute",
            "title": "Retry channel",
            "verb": RETRY_VERB,
            "data": {"incidentId": incident.id},
            "fallback": {
                "type": "Action.Submit",
                "title": "Retry channel",
                "data": {"verb": RETRY_VERB, "incidentId": incident.id},
            },
        }
    )
    return card


async def current_card(store: Store, incident: Incident) -> dict[str, Any]:
    """The incident card with the latest timeline entries."""
    entries, total = await latest(store, incident.id, CARD_TIMELINE)
    return incident_card(incident, entries, total)


def where_text(incident: Incident, *, created: bool = False) -> str:
    """The requester's line: where the incident lives (its channel, or why it has none yet)."""
    opened = f"Opened {incident.id}. " if created else ""
    if incident.channel_url:
        where = f"Channel: [{incident.channel_name}]({incident.channel_url})"
    elif incident.channel_id:
        where = f"Channel: {incident.channel_name}"
    elif incident.channel_retry_at:
        # Honest about both facts: the incident exists, its channel does not yet.
        return (
            f"{incident.id} opened; its channel is pending ({incident.channel_error}). "
            "I'll post it there when it exists."
        )
    else:
        where = f"No channel yet: {incident.channel_error}"
    return opened + where


def _blocks(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if node.get("type") == "TextBlock" else []
        for value in node.values():
            found += _blocks(value)
        return found
    if isinstance(node, list):
        return [block for item in node for block in _blocks(item)]
    return []
