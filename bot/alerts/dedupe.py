"""Folding alerts into cards: one card per producer group (an Alertmanager group notification)
or else per alert identity, in a channel, per window.

An alert's identity is its rule with its whole label set (Alertmanager) or every entity (the other
sources): alerts whose label or entity sets differ are never merged, and "seen N×" counts repeats
of one alert. A card (an `alert_groups` row) counts its alerts; each new alert bumps its version
so the delivery worker updates it in place. Past `digest_after` distinct cards in a channel per
window, new keys go into that channel's digest card instead.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bot.alerts.model import Alert
from bot.store import Transaction

DIGEST_ALERTS_KEPT = 10


@dataclass(frozen=True)
class Window:
    seconds: int
    digest_after: int


def identity(alert: Alert) -> str:
    """What makes two alerts the same alert: source, rule, and the full label or entity set."""
    if alert.labels:
        what = "\n".join(f"{name}={value}" for name, value in sorted(alert.labels.items()))
    else:
        what = "\n".join(sorted(f"{e.type}:{e.value.casefold()}" for e in alert.entities))
    name = (alert.rule or alert.title).casefold()
    return f"{alert.source}|{name[:200]}|{_hashed(what)}"


def card_key(alert: Alert) -> str:
    """The card an alert belongs on: its producer's group (one notification, one card), or else
    its identity."""
    if alert.group:
        return f"{alert.source}|group|{_hashed(alert.group)}"
    return identity(alert)


def _hashed(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


async def fold(
    tx: Transaction,
    alert: Alert,
    conversation_id: str,
    rule: str,
    mentions: tuple[str, ...],
    window: Window,
    now: float | None = None,
    create: bool = True,
) -> str | None:
    """Put the alert on a card (new, existing or the digest); the card's id. With `create`
    false only an existing card takes it (a resolved alert updates the card it resolves)."""
    now = time.time() if now is None else now
    since = now - window.seconds
    key = card_key(alert)
    row = await tx.fetchone(
        "SELECT id FROM alert_groups WHERE conversation_id = ? AND group_key = ? AND kind = 'card'"
        " AND opened_at > ? ORDER BY opened_at DESC LIMIT 1",
        conversation_id,
        key,
        since,
    )
    if row is not None:
        await _bump(tx, row["id"], alert, now, count=1)
        return row["id"]
    if not create:
        return None
    cards = await tx.fetchval(
        "SELECT COUNT(*) FROM alert_groups WHERE conversation_id = ? AND kind = 'card'"
        " AND opened_at > ?",
        conversation_id,
        since,
    )
    if int(cards) >= window.digest_after:
        return await _digest(tx, alert, conversation_id, rule, since, now)
    return await _insert(tx, "card", key, alert, conversation_id, rule, mentions, now, {})


async def restate(tx: Transaction, group_id: str, alert: Alert, now: float | None = None) -> None:
    """An alert already on a card changed status (resolved, firing again): update the card."""
    await _bump(tx, group_id, alert, time.time() if now is None else now, count=0)


async def _bump(tx: Transaction, group_id: str, alert: Alert, now: float, count: int) -> None:
    # A card already sent becomes due again now; one waiting on a backoff keeps its time.
    await tx.execute(
        "UPDATE alert_groups SET count = count + ?, last_seen = ?, latest_alert_id = ?,"
        " status = ?, version = version + 1,"
        " next_attempt_at = CASE WHEN state = 'sent' THEN ? ELSE next_attempt_at END,"
        " state = CASE WHEN state = 'dead' THEN 'dead' ELSE 'pending' END WHERE id = ?",
        count,
        now,
        alert.id,
        alert.status.value,
        now,
        group_id,
    )


async def _insert(
    tx: Transaction,
    kind: str,
    key: str,
    alert: Alert,
    conversation_id: str,
    rule: str,
    mentions: tuple[str, ...],
    now: float,
    summary: dict[str, Any],
) -> str:
    group_id = "ag-" + uuid.uuid4().hex[:16]
    await tx.execute(
        "INSERT INTO alert_groups (id, conversation_id, group_key, kind, route, opened_at,"
        " last_seen, count, latest_alert_id, status, summary, mentions, version,"
        " delivered_version, state, next_attempt_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, 1, 0, 'pending', ?)",
        group_id,
        conversation_id,
        key,
        kind,
        rule,
        now,
        now,
        alert.id,
        alert.status.value,
        json.dumps(summary),
        json.dumps(list(mentions)),
        now,
    )
    return group_id


async def _digest(
    tx: Transaction, alert: Alert, conversation_id: str, rule: str, since: float, now: float
) -> str:
    row = await tx.fetchone(
        "SELECT id, summary FROM alert_groups WHERE conversation_id = ? AND kind = 'digest'"
        " AND opened_at > ? ORDER BY opened_at DESC LIMIT 1",
        conversation_id,
        since,
    )
    summary = json.loads(row["summary"]) if row else {"byHost": {}, "byRule": {}, "alerts": []}
    host = alert.primary_entity.value if alert.primary_entity else "(no host)"
    name = alert.rule if alert.rule and alert.rule != alert.title else alert.title
    summary["byHost"][host] = summary["byHost"].get(host, 0) + 1
    summary["byRule"][name[:100]] = summary["byRule"].get(name[:100], 0) + 1
    latest = {"severity": alert.severity.value, "title": alert.title[:200], "host": host, "at": now}
    summary["alerts"] = [latest, *summary["alerts"]][:DIGEST_ALERTS_KEPT]
    if row is None:
        return await _insert(tx, "digest", "digest", alert, conversation_id, rule, (), now, summary)
    await tx.execute(
        "UPDATE alert_groups SET summary = ? WHERE id = ?", json.dumps(summary), row["id"]
    )
    await _bump(tx, row["id"], alert, now, count=1)
    return row["id"]
