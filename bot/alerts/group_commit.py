"""Group commit for ingest: posts that arrive while a commit runs share the next transaction.

Each post still waits for the commit that holds its alerts before it is answered, so nothing is
acknowledged before it is durable; a burst of 16 concurrent senders costs a few commits, not 16.
The commit runs in its own task, so a sender that disconnects cannot roll back the others. A
batch the database refuses is committed again post by post, so a poisoned post fails only itself.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from bot.alerts.model import Alert
from bot.alerts.repository import Stored, new_id, producer_text, raw_text
from bot.store import Store, Transaction

# Bound the IN (...) lists: SQLite allows 32,766 parameters, asyncpg 32,767.
CHUNK = 400
# One multi-row INSERT per CHUNK alerts (17 values a row, well under the parameter limits).
_INSERT_HEAD = (
    "INSERT INTO alerts (id, source, source_id, title, rule, category, severity, status,"
    " first_seen, last_seen, entities, description, link, warnings, raw, received_at, producer,"
    " routed)"
    " VALUES "
)
_ROW_MARKS = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
_INSERT_TAIL = " ON CONFLICT (source, source_id) DO NOTHING RETURNING id"
_RESTATE = "UPDATE alerts SET status = ?, last_seen = ?, description = ?, routed = 0 WHERE id = ?"


PURGE_EVERY = 60.0
Claim = tuple[str, str, float]  # (scope, key, ttl): the store's claims table, as claim_once


class Replayed(Exception):
    """The post's claim (its signature) was already used: nothing of it was stored."""


@dataclass
class _Waiting:
    alerts: list[Alert]
    claim: Claim | None
    done: asyncio.Future[list[Stored] | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


# Commits in flight at once. SQLite has one writer (one connection), so one. PostgreSQL waits for
# the WAL flush at each commit: several batches in flight overlap those waits (each on its own
# pooled connection). Concurrent batches are as safe as two instances are: inserts and claims
# are ON CONFLICT, and a lost insert race answers with the stored id.
IN_FLIGHT = {"sqlite": 1, "postgresql": 4}


class GroupCommit:
    """One per process: `save(alerts)` returns once the alerts are committed."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._waiting: list[_Waiting] = []
        self._committers: set[asyncio.Task[None]] = set()
        self._in_flight = IN_FLIGHT.get(store.dialect, 1)
        self._purged = 0.0

    async def save(self, alerts: list[Alert], claim: Claim | None = None) -> list[Stored]:
        """Commit the alerts (and the claim, first); Replayed when the claim was taken."""
        waiting = _Waiting(alerts, claim)
        self._waiting.append(waiting)
        if len(self._committers) < self._in_flight:
            committer = asyncio.create_task(self._drain())
            self._committers.add(committer)
            committer.add_done_callback(self._committers.discard)
        # shield: a cancelled request does not cancel the commit the others wait on.
        stored = await asyncio.shield(waiting.done)
        if stored is None:
            raise Replayed()
        return stored

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            purge = time.time() - self._purged > PURGE_EVERY
            if purge:
                self._purged = time.time()
            try:
                results = await save_batch(self.store, [(w.alerts, w.claim) for w in batch], purge)
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0], exc)
                else:
                    await self._one_by_one(batch)
                continue
            for waiting, stored in zip(batch, results, strict=True):
                _settle(waiting, stored)

    async def _one_by_one(self, batch: list[_Waiting]) -> None:
        """Each post of a failed batch committed on its own, so a post the database refuses
        fails alone (a 500) and the others are stored. The failed transaction was undone whole,
        claims included, so committing each again is safe."""
        for waiting in batch:
            try:
                [stored] = await save_batch(self.store, [(waiting.alerts, waiting.claim)])
            except Exception as exc:
                _fail(waiting, exc)
                continue
            _settle(waiting, stored)


def _settle(waiting: _Waiting, stored: list[Stored] | None) -> None:
    if not waiting.done.done():
        waiting.done.set_result(stored)


def _fail(waiting: _Waiting, exc: Exception) -> None:
    if not waiting.done.done():
        waiting.done.set_exception(exc)


async def save_batch(
    store: Store, posts: list[tuple[list[Alert], Claim | None]], purge: bool = False
) -> list[list[Stored] | None]:
    """Store several posts in one transaction: per post, each alert's outcome (None: replayed)."""
    now = time.time()
    async with store.transaction() as tx:
        if purge:
            await tx.execute("DELETE FROM claims WHERE expires_at <= ?", now)
        taken = await _claim(tx, [claim for _, claim in posts], now)
        kept = [alerts if ok else [] for (alerts, _), ok in zip(posts, taken, strict=True)]
        flat = [alert for alerts in kept for alert in alerts]
        for alert in flat:
            alert.id = new_id()
        inserted = await _insert(tx, flat, now)
        # The rest exist already: stored earlier, by another batch or instance that won the
        # race (its commit is visible to this statement), or earlier in this very batch.
        known = await _existing(tx, [alert for alert in flat if alert.id not in inserted])
        outcomes: list[Stored] = []
        restated: list[Alert] = []
        for alert in flat:
            if alert.id in inserted:
                outcomes.append(Stored(alert.id, "created", alert))
                continue
            key = (alert.source, alert.source_id)
            alert.id, status = known[key]
            if status == alert.status.value:
                outcomes.append(Stored(alert.id, "duplicate", alert))
                continue
            # A status change (Alertmanager resolved, or firing again) goes back to the router,
            # which updates the alert's card.
            known[key] = (alert.id, alert.status.value)
            restated.append(alert)
            outcomes.append(Stored(alert.id, "updated", alert))
        if restated:
            await tx.executemany(
                _RESTATE,
                [
                    (a.status.value, a.last_seen or now, a.description, a.id)
                    for a in sorted(restated, key=lambda a: a.id)  # key order: see _insert
                ],
            )
    answers: list[list[Stored] | None] = []
    start = 0
    for alerts, ok in zip(kept, taken, strict=True):
        answers.append(outcomes[start : start + len(alerts)] if ok else None)
        start += len(alerts)
    return answers


async def _insert(tx: Transaction, alerts: list[Alert], now: float) -> set[str]:
    """Insert the alerts whose (source, source_id) is new; the ids of the rows inserted.

    Rows go in key order, so batches committing at once wait on each other's rows in one order
    and never deadlock.
    """
    ordered = sorted(alerts, key=lambda alert: (alert.source, alert.source_id))
    inserted: set[str] = set()
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        rows = await tx.fetchall(
            _INSERT_HEAD + ", ".join([_ROW_MARKS] * len(chunk)) + _INSERT_TAIL,
            *[value for alert in chunk for value in _row(alert, now)],
        )
        inserted.update(row["id"] for row in rows)
    return inserted


async def _claim(tx: Transaction, claims: list[Claim | None], now: float) -> list[bool]:
    """Take every claim in one statement (the same rule as Store.claim_once); which succeeded."""
    wanted = {(c[0], c[1]): c[2] for c in claims if c is not None}
    won: set[tuple[str, str]] = set()
    items = sorted(wanted.items())  # key order: see _insert
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        rows = await tx.fetchall(
            "INSERT INTO claims (scope, key, expires_at) VALUES "  # noqa: S608 - marks only
            + ", ".join("(?, ?, ?)" for _ in chunk)
            + " ON CONFLICT (scope, key) DO UPDATE SET expires_at = excluded.expires_at"
            " WHERE claims.expires_at <= ? RETURNING scope, key",
            *[value for (scope, key), ttl in chunk for value in (scope, key, now + ttl)],
            now,
        )
        won.update((row["scope"], row["key"]) for row in rows)
    taken: list[bool] = []
    for claim in claims:
        if claim is None:
            taken.append(True)
            continue
        # The same claim twice in one batch: only the first post gets it.
        taken.append((claim[0], claim[1]) in won)
        won.discard((claim[0], claim[1]))
    return taken


async def _existing(tx: Transaction, alerts: list[Alert]) -> dict[tuple[str, str], tuple[str, str]]:
    """(source, source_id) -> (id, status) for the alerts already stored."""
    by_source: dict[str, set[str]] = {}
    for alert in alerts:
        by_source.setdefault(alert.source, set()).add(alert.source_id)
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for source, ids in by_source.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            rows = await tx.fetchall(
                "SELECT id, source_id, status FROM alerts WHERE source = ?"  # noqa: S608 - marks
                f" AND source_id IN ({', '.join('?' * len(chunk))})",
                source,
                *chunk,
            )
            for row in rows:
                found[(source, row["source_id"])] = (row["id"], row["status"])
    return found


def _row(alert: Alert, now: float) -> tuple[object, ...]:
    return (
        alert.id,
        alert.source,
        alert.source_id,
        alert.title,
        alert.rule,
        alert.category,
        alert.severity.value,
        alert.status.value,
        alert.first_seen or now,
        alert.last_seen or alert.first_seen or now,
        json.dumps([[e.type, e.value] for e in alert.entities]),
        alert.description,
        alert.link,
        json.dumps(alert.warnings),
        raw_text(alert.raw),
        now,
        producer_text(alert),
    )
