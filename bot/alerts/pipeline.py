"""The router step: stored alerts -> a rule decision -> a channel -> a card (or dropped).

The batch is read inside the routing lock (one query), snoozes are read once per batch and the
routing marks are written with one executemany, so several instances never fold one alert twice
and a burst costs few statements per alert. A batch that fails is routed again alert by alert.
"""

from __future__ import annotations

import logging
import time

from bot.alerts import repository
from bot.alerts.dedupe import Window, fold, restate
from bot.alerts.model import Alert
from bot.alerts.routing import Decision, Routes
from bot.kernel import conversation_refs
from bot.store import Store, Transaction

log = logging.getLogger(__name__)
BATCH = 500


async def resolve_channel(store: Store | Transaction, channel: str) -> str | None:
    """The conversation id of a channel given by name or id, if the bot has seen it."""
    if not channel:
        return None
    saved = await conversation_refs.find_channel(store, channel)
    return None if saved is None else saved.conversation_id


async def active_snoozes(store: Store | Transaction, now: float) -> set[tuple[str, str]]:
    """(rule, host) pairs snoozed now; host "" snoozes the rule on every host."""
    rows = await store.fetchall("SELECT rule, host FROM alert_snoozes WHERE until > ?", now)
    return {(row["rule"], row["host"]) for row in rows}


def snoozed(snoozes: set[tuple[str, str]], alert: Alert) -> bool:
    rule = alert.rule or alert.title
    return (rule, alert.entity("host")) in snoozes or (rule, "") in snoozes


async def route_pending(store: Store, routes: Routes, window: Window) -> int:
    """Route up to BATCH unrouted alerts; how many were handled.

    When the batch fails, its alerts are routed one by one and an alert whose routing fails
    alone is marked FAILED: one poisoned alert never holds up the others."""
    if await store.fetchone("SELECT id FROM alerts WHERE routed = 0 LIMIT 1") is None:
        return 0
    try:
        return await _route(store, routes, window)
    except Exception:
        log.exception("routing a batch of alerts failed; routing them one by one")
    handled = 0
    for alert_id in await repository.unrouted_ids(store, BATCH):
        try:
            handled += await _route(store, routes, window, alert_id)
        except Exception:
            log.exception("routing alert %s failed; it is left out (vigil alerts replay)", alert_id)
            await repository.routing_failed(store, alert_id)
            handled += 1
    return handled


async def _route(store: Store, routes: Routes, window: Window, alert_id: str | None = None) -> int:
    now = time.time()
    channels: dict[str, str | None] = {}
    async with store.transaction() as tx:
        await tx.lock("alerts.route")
        # Read inside the lock: another instance's routing committed before we got here.
        pending = await repository.unrouted(tx, BATCH, alert_id)
        snoozes = await active_snoozes(tx, now)
        marks: list[tuple[int, str | None, str | None, str, str]] = []
        for alert, columns in pending:
            if columns["group_id"]:
                await restate(tx, columns["group_id"], alert, now)
                marks.append(
                    (repository.ROUTED, columns["route"], columns["group_id"], *_keys(alert))
                )
                continue
            decision = routes.decide(alert, now)
            alert.severity = decision.severity or alert.severity
            if decision.action != "route" or snoozed(snoozes, alert):
                marks.append((repository.DROPPED, decision.rule, None, *_keys(alert)))
                continue
            if decision.channel not in channels:
                # Through the transaction: on SQLite it holds the store's one connection.
                channels[decision.channel] = await resolve_channel(tx, decision.channel)
            conversation = channels[decision.channel]
            if conversation is None:
                log.warning("alert %s: rule %s names no known channel", alert.id, decision.rule)
                marks.append((repository.NO_CHANNEL, decision.rule, None, *_keys(alert)))
                continue
            group = await fold(
                tx,
                alert,
                conversation,
                decision.rule,
                decision.mentions,
                window,
                now,
                create=decision.shows(alert),
            )
            # A resolved alert with no card to update is recorded, not posted.
            state = repository.ROUTED if group else repository.RECORDED
            marks.append((state, decision.rule, group, *_keys(alert)))
        if marks:
            await tx.executemany(
                "UPDATE alerts SET routed = ?, route = ?, group_id = ?, severity = ? WHERE id = ?",
                marks,
            )
    return len(pending)


def _keys(alert: Alert) -> tuple[str, str]:
    """The severity the route gave (its severity_map) and the row's id, for the routing mark."""
    return alert.severity.value, alert.id


def describe(decision: Decision, conversation: str | None) -> str:
    """One line for route-test: which rule, what it does, and where the card would go."""
    if decision.action != "route":
        return f"rule {decision.rule}: {decision.action}"
    if not decision.channel:
        return f"rule {decision.rule}: no channel (set VIGIL_ALERTS_DEFAULT_CHANNEL)"
    where = conversation or "not a channel the bot knows (add Vigil to its team)"
    return f"rule {decision.rule}: route to {decision.channel} -> {where}"
