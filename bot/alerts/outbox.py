"""The durable outbox: cards due for a post or an update, claimed under a lease.

A card is due while `version > delivered_version`. Claiming sets a lease (the owner and an
expiry) in one transaction, with SKIP LOCKED on PostgreSQL; on SQLite, BEGIN IMMEDIATE already
serialises claimers. The owner renews its leases every few seconds while it lives and checks it
still holds a card right before sending it; a killed instance's leases run out within
LEASE_SECONDS and another instance (or the restarted one) takes the cards.
"""

from __future__ import annotations

import random
import time
from typing import Any

from bot.store import Store

LEASE_SECONDS = 15.0
# How often a worker renews its leases: three chances before one runs out.
RENEW_EVERY = LEASE_SECONDS / 3
MAX_ATTEMPTS = 8
_GROUP_COLUMNS = (
    "id, conversation_id, group_key, kind, route, opened_at, last_seen, count, latest_alert_id,"
    " status, summary, mentions, acked_by, acked_at, version, delivered_version, activity_id,"
    " state, attempts, next_attempt_at, compact, last_error"
)


async def claim(store: Store, owner: str, limit: int) -> list[dict[str, Any]]:
    now = time.time()
    lock = " FOR UPDATE SKIP LOCKED" if store.dialect == "postgresql" else ""
    async with store.transaction() as tx:
        rows = await tx.fetchall(
            f"SELECT {_GROUP_COLUMNS} FROM alert_groups WHERE state = 'pending'"  # noqa: S608 - constant
            f" AND next_attempt_at <= ? AND lease_until < ? ORDER BY next_attempt_at LIMIT ?{lock}",
            now,
            now,
            limit,
        )
        for row in rows:
            await tx.execute(
                "UPDATE alert_groups SET lease_owner = ?, lease_until = ? WHERE id = ?",
                owner,
                now + LEASE_SECONDS,
                row["id"],
            )
    return rows


async def current(store: Store, group_id: str) -> dict[str, Any] | None:
    return await store.fetchone(
        f"SELECT {_GROUP_COLUMNS} FROM alert_groups WHERE id = ?",  # noqa: S608 - constant
        group_id,
    )


async def hold(store: Store, group_id: str, owner: str) -> bool:
    """Renew the lease on one card right before sending it; False when it is no longer ours."""
    now = time.time()
    changed = await store.execute(
        "UPDATE alert_groups SET lease_until = ? WHERE id = ? AND lease_owner = ?"
        " AND lease_until > ?",
        now + LEASE_SECONDS,
        group_id,
        owner,
        now,
    )
    return changed == 1


async def renew(store: Store, owner: str, group_ids: list[str]) -> None:
    """Extend the leases this worker still holds (its heartbeat)."""
    now = time.time()
    for start in range(0, len(group_ids), 200):
        chunk = group_ids[start : start + 200]
        marks = ", ".join("?" for _ in chunk)
        await store.execute(
            f"UPDATE alert_groups SET lease_until = ? WHERE lease_owner = ?"  # noqa: S608
            f" AND lease_until > ? AND id IN ({marks})",
            now + LEASE_SECONDS,
            owner,
            now,
            *chunk,
        )


async def release(store: Store, owner: str) -> None:
    """Give back every lease of a stopping worker, so others need not wait for them to expire."""
    await store.execute(
        "UPDATE alert_groups SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ?", owner
    )


async def posted(store: Store, group_id: str, activity_id: str) -> None:
    """Record the new message id the moment the channel answers: the duplicate-post window.

    Whoever posted, the first id recorded wins, even if the lease was lost meanwhile: the card
    exists, so every later delivery must update it rather than post another.
    """
    await store.execute(
        "UPDATE alert_groups SET activity_id = ? WHERE id = ? AND activity_id IS NULL",
        activity_id,
        group_id,
    )


async def delivered(store: Store, group_id: str, owner: str, version: int) -> None:
    """The card shows `version`; it stays due if more alerts arrived meanwhile."""
    await store.execute(
        "UPDATE alert_groups SET delivered_version = ?, attempts = 0, last_error = NULL,"
        " lease_owner = NULL, lease_until = 0,"
        " state = CASE WHEN version > ? THEN 'pending' ELSE 'sent' END"
        " WHERE id = ? AND lease_owner = ?",
        version,
        version,
        group_id,
        owner,
    )


async def retry_later(
    store: Store, group: dict[str, Any], owner: str, error: str, after: float | None = None
) -> bool:
    """Back off (exponential with jitter); after MAX_ATTEMPTS the card is a dead letter."""
    attempts = int(group["attempts"]) + 1
    dead = attempts >= MAX_ATTEMPTS
    wait = after if after is not None else random.uniform(0.5, 1.0) * min(300.0, 2.0**attempts)
    await store.execute(
        "UPDATE alert_groups SET attempts = ?, last_error = ?, next_attempt_at = ?,"
        " state = ?, lease_owner = NULL, lease_until = 0 WHERE id = ? AND lease_owner = ?",
        attempts,
        error[:300],
        time.time() + wait,
        "dead" if dead else "pending",
        group["id"],
        owner,
    )
    return dead


async def dead(store: Store, group: dict[str, Any], owner: str, error: str) -> None:
    await store.execute(
        "UPDATE alert_groups SET state = 'dead', last_error = ?, lease_owner = NULL,"
        " lease_until = 0 WHERE id = ? AND lease_owner = ?",
        error[:300],
        group["id"],
        owner,
    )


async def set_compact(store: Store, group_id: str) -> None:
    await store.execute("UPDATE alert_groups SET compact = 1 WHERE id = ?", group_id)


async def dead_letters(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    return await store.fetchall(
        f"SELECT {_GROUP_COLUMNS} FROM alert_groups WHERE state = 'dead'"  # noqa: S608 - constant
        " ORDER BY last_seen DESC LIMIT ?",
        limit,
    )


async def revive(store: Store, group_id: str) -> bool:
    """Make a dead card due again (`vigil alerts replay` of one of its alerts)."""
    changed = await store.execute(
        "UPDATE alert_groups SET state = 'pending', attempts = 0, next_attempt_at = ?,"
        " version = CASE WHEN version > delivered_version THEN version ELSE delivered_version + 1"
        " END WHERE id = ?",
        time.time(),
        group_id,
    )
    return changed == 1


async def depth(store: Store) -> tuple[int, int]:
    """(cards due for delivery, dead letters), for /metrics."""
    rows = await store.fetchall(
        "SELECT state, COUNT(*) AS n FROM alert_groups WHERE state IN ('pending', 'dead')"
        " GROUP BY state"
    )
    counts = {row["state"]: int(row["n"]) for row in rows}
    return counts.get("pending", 0), counts.get("dead", 0)


async def revive_dead(store: Store, since: float = 0.0) -> int:
    """Make every dead card due again (`vigil alerts replay --all`), or only those whose latest
    alert came after `since`; how many."""
    return await store.execute(
        "UPDATE alert_groups SET state = 'pending', attempts = 0, next_attempt_at = ?,"
        " version = CASE WHEN version > delivered_version THEN version ELSE delivered_version + 1"
        " END WHERE state = 'dead' AND last_seen >= ?",
        time.time(),
        since,
    )
