"""Card data for an alert card (its alerts and the group's counters) and a digest.

A card that holds one alert (however often it repeated) shows that alert. A card that holds a
producer's group of different alerts lists each one by the labels that tell it apart, and is
titled from the alertnames and their shared summary.

Route mentions are added to the rendered card: `<at>Name</at>` in a TextBlock plus the
`msteams.entities` mention that Teams matches to it by that exact text.
"""

from __future__ import annotations

import json
from typing import Any

from bot.alerts.dedupe import identity
from bot.alerts.mentions import Mention
from bot.alerts.model import Alert, Entity, Severity, Status
from bot.kernel import timefmt
from cards.mentions import Person, with_mention_line

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
FULL_ALERTS = 25
COMPACT_ALERTS = 5
LABELS_PER_LINE = 4
# Labels that name what an alert is about, shown first when they differ within a group.
TELLING_LABELS = ("instance", "alias", "pod", "host", "job")
# Labels that never tell alerts apart for a reader (the alertname leads the line instead).
QUIET_LABELS = frozenset({"alertname"})


when = timefmt.date_time


def alert_card_data(
    alert: Alert, group: dict[str, Any], compact: bool = False, members: list[Alert] | None = None
) -> dict[str, Any]:
    """The card of a group row; `members` are the alerts on it, oldest first (latest alone
    when not given)."""
    distinct = _distinct(members or [alert])
    if len(distinct) > 1:
        return _group_card(alert, group, compact, distinct)
    shown = COMPACT_ENTITIES if compact else FULL_ENTITIES
    status = "Resolved" if group["status"] == "resolved" else "Firing"
    parts = [status, f"seen {group['count']}x", f"last {when(float(group['last_seen']))}"]
    return _card(alert, group, compact, alert.title, alert.severity, alert.entities, parts) | {
        "entitiesMore": _more(len(alert.entities) - shown)
    }


def _group_card(
    alert: Alert, group: dict[str, Any], compact: bool, distinct: list[tuple[Alert, int]]
) -> dict[str, Any]:
    labels = telling_labels([latest for latest, _ in distinct])
    # Listed by what tells them apart: alerts of one notification arrive together, unordered.
    distinct = sorted(
        distinct, key=lambda d: [d[0].rule, *(_labels_of(d[0]).get(n, "") for n in labels)]
    )
    alerts = [latest for latest, _ in distinct]
    firing = [a for a in alerts if a.status is not Status.RESOLVED]
    severity = max((a.severity for a in firing or alerts), key=lambda s: s.rank)
    common = [e for e in alerts[0].entities if all(e in a.entities for a in alerts[1:])]
    resolved = len(alerts) - len(firing)
    parts = [
        "Firing" if firing else "Resolved",
        f"{len(alerts)} alerts" + (f", {resolved} resolved" if firing and resolved else ""),
        f"last {when(float(group['last_seen']))}",
    ]
    data = _card(alert, group, compact, _group_title(alerts), severity, common, parts)
    limit = COMPACT_ALERTS if compact else FULL_ALERTS
    names_differ = len({a.rule for a in alerts}) > 1
    lines = [
        {"line": _line(latest, count, labels, names_differ)} for latest, count in distinct[:limit]
    ]
    # Newest alert's description would describe one server only.
    return data | {
        "description": "",
        "alerts": lines,
        "alertsMore": _more(len(distinct) - limit),
    }


def _card(
    alert: Alert,
    group: dict[str, Any],
    compact: bool,
    title: str,
    severity: Severity,
    entities: list[Entity],
    parts: list[str],
) -> dict[str, Any]:
    shown = COMPACT_ENTITIES if compact else FULL_ENTITIES
    limit = COMPACT_DESCRIPTION if compact else FULL_DESCRIPTION
    if group.get("acked_by"):
        parts.append(f"acknowledged by {group['acked_by']} at {when(float(group['acked_at']))}")
    truncated = (
        f"Alertmanager left {alert.truncated} more alerts of this group out (max_alerts)"
        if alert.truncated
        else ""
    )
    return {
        "alertId": alert.id,
        "title": title[:300],
        "severity": severity.value,
        "source": alert.source,
        "category": alert.category[:200],
        "detectedAt": when(alert.first_seen),
        "description": alert.description[:limit],
        "entities": [
            {"title": ENTITY_TITLES.get(e.type, e.type), "value": e.value[:200]}
            for e in entities[:shown]
        ],
        "entitiesMore": "",
        "alerts": [],
        "alertsMore": "",
        "truncated": truncated,
        "status": " · ".join(parts),
        "canAct": True,
        "userIds": [],
    }


def _more(count: int) -> str:
    return f"+{count} more" if count > 0 else ""


def _distinct(members: list[Alert]) -> list[tuple[Alert, int]]:
    """Each distinct alert on the card (its latest state) with how often it came, in the order
    they first came."""
    latest: dict[str, Alert] = {}
    counts: dict[str, int] = {}
    for member in members:
        key = identity(member)
        latest[key] = member
        counts[key] = counts.get(key, 0) + 1
    return [(latest[key], counts[key]) for key in latest]


def telling_labels(alerts: list[Alert]) -> list[str]:
    """The labels whose values differ within the group: the usual naming labels first, then
    the rest by name. Alerts without labels are told apart by their entities."""
    values = [_labels_of(a) for a in alerts]
    names = {name for labels in values for name in labels} - QUIET_LABELS
    differ = {n for n in names if len({labels.get(n, "") for labels in values}) > 1}
    first = [n for n in TELLING_LABELS if n in differ]
    return first + sorted(differ - set(first))


def _labels_of(alert: Alert) -> dict[str, str]:
    if alert.labels:
        return alert.labels
    shown: dict[str, str] = {}
    for entity in alert.entities:
        shown.setdefault(entity.type, entity.value)
    return shown


def _line(alert: Alert, count: int, labels: list[str], names_differ: bool) -> str:
    own = _labels_of(alert)
    pairs = [f"{n}={own.get(n, '')[:80]}" for n in labels[:LABELS_PER_LINE] if own.get(n)]
    head = (alert.rule or alert.title)[:100] if names_differ or not pairs else ""
    text = " · ".join(part for part in (head, ", ".join(pairs)) if part)
    if alert.status is Status.RESOLVED:
        text += " (resolved)"
    return text + (f" (seen {count}x)" if count > 1 else "")


def _group_title(alerts: list[Alert]) -> str:
    """ "Name: summary" when the group shares them; several names are listed, then the count."""
    names = list(dict.fromkeys(a.rule or a.title for a in alerts))
    summaries = {_summary(a) for a in alerts}
    head = ", ".join(n[:60] for n in names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
    shared = summaries.pop() if len(summaries) == 1 else ""
    title = f"{head}: {shared}" if shared and shared != head else head
    return f"{title} ({len(alerts)} alerts)"


def _summary(alert: Alert) -> str:
    """The summary part of an Alertmanager title ("alertname: summary"), else the title."""
    prefix = f"{alert.rule}: "
    return alert.title[len(prefix) :] if alert.title.startswith(prefix) else alert.title


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
    entries = [Person(m.aad_object_id, m.name) if m.known else m.text for m in mentions]
    return with_mention_line(card, "Notify", entries)
