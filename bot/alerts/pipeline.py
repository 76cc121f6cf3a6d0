"""The router step: stored alerts -> a rule decision -> a channel -> a card (or dropped).

Channel names are resolved to saved conversation references before the transaction; the
transaction re-checks each alert is still unrouted, so several instances never fold one twice.
"""

from __future__ import annotations

import logging
import time

from bot import conversation_refs
from bot.alerts import repository
from bot.alerts.dedupe import Window, fold, restate
from bot.alerts.model import Alert
from bot.alerts.routing import Decision, Routes
from bot.store import Store, Transaction

log = logging.getLogger(__name__)
BATCH = 500


async def resolve_channel(store: Store, channel: str) -> str | None:
    """The conversation id of a channel given by name or id, if the bot has seen it."""
    if not channel:
        return None
    saved = await conversation_refs.find_channel(store, channel)
    return None if saved is None else saved.conversation_id


async def snoozed(store: Store | Transaction, alert: Alert, now: float) -> bool:
    host = alert.entity("host")
    row = await store.fetchone(
        "SELECT until FROM alert_snoozes WHERE rule = ? AND host IN (?, '') AND until > ?",
        alert.rule or alert.title,
        host,
        now,
    )
    return row is not None


async def route_pending(store: Store, routes: Routes, window: Window) -> int:
    """Route up to BATCH unrouted alerts; how many were handled."""
    rows = await store.fetchall(
        "SELECT id, group_id FROM alerts WHERE routed = 0 ORDER BY received_at LIMIT ?", BATCH
    )
    if not rows:
        return 0
    now = time.time()
    channels: dict[str, str | None] = {}
    async with store.transaction() as tx:
        await tx.lock("alerts.route")
        for row in rows:
            found = await repository.get(tx, row["id"])
            if found is None or found[1]["routed"] != repository.UNROUTED:
                continue  # another instance routed it first
            alert, columns = found
            if columns["group_id"]:
                await restate(tx, columns["group_id"], alert, now)
                await _mark(tx, alert.id, repository.ROUTED, columns["route"], columns["group_id"])
                continue
            decision = routes.decide(alert, now)
            if decision.action != "route" or await snoozed(tx, alert, now):
                await _mark(tx, alert.id, repository.DROPPED, decision.rule, None)
                continue
            if decision.channel not in channels:
                channels[decision.channel] = await _resolve_in(tx, decision.channel)
            conversation = channels[decision.channel]
            if conversation is None:
                log.warning("alert %s: rule %s names no known channel", alert.id, decision.rule)
                await _mark(tx, alert.id, repository.NO_CHANNEL, decision.rule, None)
                continue
            group = await fold(
                tx, alert, conversation, decision.rule, decision.mentions, window, now
            )
            await _mark(tx, alert.id, repository.ROUTED, decision.rule, group)
    return len(rows)


async def _resolve_in(tx: Transaction, channel: str) -> str | None:
    # The same lookup as conversation_refs.find_channel, inside this transaction.
    if not channel:
        return None
    rows = await tx.fetchall(
        "SELECT conversation_id, channel_id, channel_name, team_id FROM conversation_refs"
        " WHERE team_id IS NOT NULL ORDER BY updated_at DESC"
    )
    for row in rows:
        if channel in (row["channel_id"], row["conversation_id"]):
            return row["conversation_id"]
    for row in rows:
        name = row["channel_name"]
        if name is None and row["channel_id"] and row["channel_id"] == row["team_id"]:
            name = "General"
        if name is not None and name.casefold() == channel.casefold():
            return row["conversation_id"]
    return None


async def _mark(
    tx: Transaction, alert_id: str, routed: int, rule: str | None, group: str | None
) -> None:
    await tx.execute(
        "UPDATE alerts SET routed = ?, route = ?, group_id = ? WHERE id = ?",
        routed,
        rule,
        group,
        alert_id,
    )


def describe(decision: Decision, conversation: str | None) -> str:
    """One line for route-test: which rule, what it does, and where the card would go."""
    if decision.action != "route":
        return f"rule {decision.rule}: {decision.action}"
    where = (
        conversation
        or f"{decision.channel or '(no default channel)'} (not a channel the bot knows)"
    )
    return f"rule {decision.rule}: route to {decision.channel} -> {where}"
