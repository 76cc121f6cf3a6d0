"""Card data for an alert card (from its latest alert and the group's counters) and a digest.

Route mentions are added to the rendered card: `<at>Name</at>` in a TextBlock plus the
`msteams.entities` mention that Teams matches to it by that exact text.
"""

from __future__ import annotations

import json
from typing import Any

from bot.alerts.mentions import Mention
from bot.alerts.model import Alert
from bot.kernel import timefmt
from cards.plaintext import clean, display, escape_markdown

ENTITY_TITLES = {
    "host": "Host",
    "user": "User",
    "ip": "IP",
    "url": "URL",
    "domain": "Domain",
    "hash": "Hash",
    "process": "Process",
}
FULL_ENTITIES = 8
COMPACT_ENTITIES = 3
FULL_DESCRIPTION = 1500
COMPACT_DESCRIPTION = 200


when = timefmt.date_time


def alert_card_data(alert: Alert, group: dict[str, Any], compact: bool = False) -> dict[str, Any]:
    shown = COMPACT_ENTITIES if compact else FULL_ENTITIES
    limit = COMPACT_DESCRIPTION if compact else FULL_DESCRIPTION
    entities = [
        {"title": ENTITY_TITLES.get(e.type, e.type), "value": e.value[:200]}
        for e in alert.entities[:shown]
    ]
    more = len(alert.entities) - shown
    status = "Resolved" if group["status"] == "resolved" else "Firing"
    parts = [status, f"seen {group['count']}x", f"last {when(float(group['last_seen']))}"]
    if group.get("acked_by"):
        parts.append(f"acknowledged by {group['acked_by']} at {when(float(group['acked_at']))}")
    return {
        "alertId": alert.id,
        "title": alert.title[:300],
        "severity": alert.severity.value,
        "source": alert.source,
        "category": alert.category[:200],
        "detectedAt": when(alert.first_seen),
        "description": alert.description[:limit],
        "entities": entities,
        "entitiesMore": f"+{more} more" if more > 0 else "",
        "status": " · ".join(parts),
        "canAct": True,
        "userIds": [],
    }


def digest_card_data(group: dict[str, Any], window_seconds: int) -> dict[str, Any]:
    summary = json.loads(group["summary"])
    by_host = sorted(summary["byHost"].items(), key=lambda item: -item[1])
    by_rule = sorted(summary["byRule"].items(), key=lambda item: -item[1])
    latest = summary["alerts"]
    return {
        "title": "Alert digest: too many distinct alerts for one card each",
        "total": int(group["count"]),
        "window": f"since {when(float(group['opened_at']))} ({window_seconds // 60} min window)",
        "byHost": [{"name": n[:100], "count": c} for n, c in by_host[:8]],
        "byHostMore": f"+{len(by_host) - 8} more hosts" if len(by_host) > 8 else "",
        "byRule": [{"name": n[:100], "count": c} for n, c in by_rule[:8]],
        "byRuleMore": f"+{len(by_rule) - 8} more rules" if len(by_rule) > 8 else "",
        "alerts": [
            {
                "severity": a["severity"],
                "title": a["title"],
                "host": a["host"],
                "seenAt": timefmt.clock(a["at"], label=False),
            }
            for a in latest
        ],
        "alertsMore": f"+{int(group['count']) - len(latest)} more"
        if int(group["count"]) > len(latest)
        else "",
    }


def with_mentions(card: dict[str, Any], mentions: list[Mention]) -> dict[str, Any]:
    """The rendered card with a "Notify" line: known people as Teams mentions, others as text."""
    if not mentions:
        return card
    parts: list[str] = []
    entities: list[dict[str, Any]] = []
    for mention in mentions:
        if not mention.known:
            parts.append(display(mention.text, 100))
            continue
        # The tag's inner text is markdown too; no < or > may end the tag early.
        tag = "<at>" + escape_markdown(clean(mention.name, 100).replace("<", "").replace(">", ""))
        tag += "</at>"
        parts.append(tag)
        entities.append(
            {
                "type": "mention",
                "text": tag,
                "mentioned": {"id": mention.aad_object_id, "name": clean(mention.name, 100)},
            }
        )
    shown = dict(card)
    line = {"type": "TextBlock", "text": "Notify: " + ", ".join(parts), "wrap": True}
    shown["body"] = [*card.get("body", []), line]
    if entities:
        shown["msteams"] = {**card.get("msteams", {}), "entities": entities}
    return shown
