"""Teams rate limits, shared by every sender and every instance through the store.

Teams allows per conversation 7/s, 60 per 30 s and 1,800 per hour, and per bot 30/s. The budgets
here stay a little under those numbers: the channel counts arrival times, and network or
event-loop jitter can bunch two sends that left far enough apart. Two kinds of sender reserve
here: the alert outbox (bot/alerts/delivery.py), which schedules its durable cards by the
reserved times, and the Messenger when a caller asks for a paced post or update
(bot/teams/messenger.py), which waits until its time. Both take from the same budgets, so an
approval card and a storm of alert cards in one channel stay under Teams' limits together. The
tables keep the names of the alerts migration that made them (0051_alert_pacing.sql).

A conversation's send times are reserved under that conversation's own lock, never before its
last reservation, so only the windows ending at the new time need checking. The bot-wide budget
is a row of slots (one send per TENANT_SLOT seconds), each taken by inserting its key: no send
ever waits on one lock that every conversation shares.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

from bot.store import Store, StoreError, Transaction

# (window seconds, sends allowed in it) per conversation; Teams: 7/1 s, 60/30 s, 1,800/h.
# Measured with two instances under load, a send can arrive up to ~0.3 s late, bunching it with
# later ones: two sends of margin per second and ten per 30 s keep the arrivals under Teams'.
CONVERSATION_LIMITS = ((1.0, 5), (30.0, 50), (3600.0, 1700))
# A second's budget spread out rather than sent as one burst.
CONVERSATION_SPACING = 0.2
# One send per 40 ms bot-wide: 25/s, at most 26 in any sliding second (Teams: 30/s).
TENANT_SLOT = 0.04
TENANT_SCOPE = "bot"
_SLOT_SCAN = 256
_KEEP_SENDS = max(span for span, _ in CONVERSATION_LIMITS) + 60.0
_KEEP_SLOTS = 60.0
# How often one SharedPace forgets old sends, while it reserves.
PURGE_EVERY = 60.0


def earliest(
    now: float,
    last: float | None,
    oldest_in_budget: Mapping[float, float | None],
    limits: tuple[tuple[float, int], ...] = CONVERSATION_LIMITS,
    spacing: float = CONVERSATION_SPACING,
) -> float:
    """The first time >= now that fits every window, given each window's budget-th latest send.

    Reservations only move forward, so a window ending at the new time holds `budget` sends
    exactly when the budget-th latest one is inside it; waiting until it leaves is enough.
    """
    at = now if last is None else max(now, last + spacing)
    for span, _ in limits:
        oldest = oldest_in_budget.get(span)
        if oldest is not None and oldest > at - span:
            at = oldest + span
    return at


class SharedPace:
    """Reserve send times for conversations; every instance on one store shares the budgets."""

    def __init__(self, store: Store, clock: Callable[[], float] | None = None) -> None:
        self.store = store
        self.clock = clock
        self._purged: float | None = None

    async def reserve(self, conversation_id: str) -> float:
        """Take the next send time for the conversation; the seconds to wait until it."""
        if self._purged is None or time.monotonic() - self._purged > PURGE_EVERY:
            # Whoever reserves forgets the old sends, so no one job has to.
            self._purged = time.monotonic()
            await self.purge()
        scope = "c:" + conversation_id
        async with self.store.transaction() as tx:
            await tx.lock("alert_pace:" + scope)
            now = await self._now(tx)
            last = await tx.fetchval("SELECT MAX(at) FROM alert_pace_sends WHERE scope = ?", scope)
            oldest: dict[float, float | None] = {}
            for span, budget in CONVERSATION_LIMITS:
                value = await tx.fetchval(
                    "SELECT at FROM alert_pace_sends WHERE scope = ?"
                    " ORDER BY at DESC LIMIT 1 OFFSET ?",
                    scope,
                    budget - 1,
                )
                oldest[span] = None if value is None else float(value)
            at = earliest(now, None if last is None else float(last), oldest)
            at = await self._tenant_slot(tx, at)
            await tx.execute("INSERT INTO alert_pace_sends (scope, at) VALUES (?, ?)", scope, at)
        return max(0.0, at - now)

    async def _tenant_slot(self, tx: Transaction, at: float) -> float:
        # The first free slot at or after `at`; losing a race for one just moves to the next.
        first = math.ceil(at / TENANT_SLOT - 1e-6)
        for _ in range(64):
            rows = await tx.fetchall(
                "SELECT slot FROM alert_pace_tokens WHERE scope = ? AND slot >= ? AND slot < ?",
                TENANT_SCOPE,
                first,
                first + _SLOT_SCAN,
            )
            taken = {int(row["slot"]) for row in rows}
            free = next((s for s in range(first, first + _SLOT_SCAN) if s not in taken), None)
            if free is None:
                first += _SLOT_SCAN
                continue
            inserted = await tx.execute(
                "INSERT INTO alert_pace_tokens (scope, slot) VALUES (?, ?) ON CONFLICT DO NOTHING",
                TENANT_SCOPE,
                free,
            )
            if inserted == 1:
                return max(at, free * TENANT_SLOT)
            first = free + 1
        raise StoreError("no free bot-wide send slot found")

    async def purge(self) -> None:
        """Forget sends older than the longest window (and slots older than a minute)."""
        async with self.store.transaction() as tx:
            now = await self._now(tx)
            await tx.execute("DELETE FROM alert_pace_sends WHERE at < ?", now - _KEEP_SENDS)
            await tx.execute(
                "DELETE FROM alert_pace_tokens WHERE scope = ? AND slot < ?",
                TENANT_SCOPE,
                int((now - _KEEP_SLOTS) / TENANT_SLOT),
            )

    async def _now(self, tx: Transaction) -> float:
        if self.clock is not None:
            return self.clock()
        if self.store.dialect == "postgresql":
            # The database's clock: instances on several machines then agree on one timeline.
            return float(await tx.fetchval("SELECT EXTRACT(EPOCH FROM clock_timestamp())"))
        return time.time()
