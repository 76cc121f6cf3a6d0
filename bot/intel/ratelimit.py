"""Per-source token buckets (per minute and per day) in the store, shared by every instance.

A 429 from a source blocks it until its Retry-After has passed, for every instance too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.store import Store, Transaction

MINUTE = 60.0
DAY = 86400.0


@dataclass(frozen=True)
class Limits:
    per_minute: int = 0  # 0: no limit
    per_day: int = 0


@dataclass(frozen=True)
class Grant:
    """How many calls may go now, and when the next one could if fewer than asked."""

    granted: int
    retry_after: float | None = None


def _refill(tokens: float, capacity: int, window: float, elapsed: float) -> float:
    return min(float(capacity), tokens + elapsed * capacity / window)


def _wait(tokens: float, capacity: int, window: float) -> float:
    """Seconds until one whole token is back."""
    return max(0.0, (1.0 - tokens) * window / capacity)


class RateLimiter:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    async def take(self, source: str, wanted: int, limits: Limits) -> Grant:
        """Take up to `wanted` tokens for `source` atomically; how many were granted."""
        if wanted <= 0:
            return Grant(0)
        unlimited = not limits.per_minute and not limits.per_day
        now = self._clock()
        async with self._store.transaction() as tx:
            await tx.lock(f"intel-rate:{source}")
            row = await tx.fetchone(
                "SELECT minute_tokens, day_tokens, updated_at, blocked_until"
                " FROM intel_rate WHERE source = ?",
                source,
            )
            if row is None:
                minute, day, blocked = float(limits.per_minute), float(limits.per_day), 0.0
                elapsed = 0.0
            else:
                minute, day = float(row["minute_tokens"]), float(row["day_tokens"])
                blocked, elapsed = float(row["blocked_until"]), max(0.0, now - row["updated_at"])
            if blocked > now:
                return Grant(0, blocked - now)
            if unlimited:
                return Grant(wanted)
            waits = []
            granted = wanted
            if limits.per_minute:
                minute = _refill(minute, limits.per_minute, MINUTE, elapsed)
                granted = min(granted, math.floor(minute))
            if limits.per_day:
                day = _refill(day, limits.per_day, DAY, elapsed)
                granted = min(granted, math.floor(day))
            granted = max(0, granted)
            minute -= granted if limits.per_minute else 0
            day -= granted if limits.per_day else 0
            if granted < wanted:
                if limits.per_minute and minute < 1:
                    waits.append(_wait(minute, limits.per_minute, MINUTE))
                if limits.per_day and day < 1:
                    waits.append(_wait(day, limits.per_day, DAY))
            await self._save(tx, source, minute, day, now, blocked)
        return Grant(granted, max(waits) if waits else None)

    async def block(self, source: str, seconds: float) -> None:
        """Honour a source's 429: no instance calls it again for `seconds`."""
        now = self._clock()
        async with self._store.transaction() as tx:
            await tx.lock(f"intel-rate:{source}")
            await tx.execute(
                "INSERT INTO intel_rate (source, minute_tokens, day_tokens, updated_at,"
                " blocked_until) VALUES (?, 0, 0, ?, ?) ON CONFLICT (source) DO UPDATE SET"
                " blocked_until = excluded.blocked_until",
                source,
                now,
                now + seconds,
            )

    @staticmethod
    async def _save(
        tx: Transaction, source: str, minute: float, day: float, now: float, blocked: float
    ) -> None:
        await tx.execute(
            "INSERT INTO intel_rate (source, minute_tokens, day_tokens, updated_at, blocked_until)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET"
            " minute_tokens = excluded.minute_tokens, day_tokens = excluded.day_tokens,"
            " updated_at = excluded.updated_at",
            source,
            minute,
            day,
            now,
            blocked,
        )
