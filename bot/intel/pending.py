"""Indicators that were not checked (a source rate-limited or down, and no data elsewhere), kept
per conversation until a later lookup checks them: `check --retry-pending` finishes them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.intel.enrichment import Report
from bot.intel.indicators import Indicator, IndicatorType, InvalidIndicator, classify_as
from bot.intel.presentation import retry_at
from bot.intel.verdict import Verdict
from bot.store import Store

MAX_RETRY = 100  # one check's worth


@dataclass(frozen=True)
class Waiting:
    due: list[Indicator]
    later: int  # pending but not yet due
    next_at: float | None  # when the first of those is due


async def track(store: Store, reports: Sequence[Report], conversation: str) -> None:
    """Remember the reports not checked; forget the ones now checked."""
    now = time.time()
    async with store.transaction() as tx:
        for report in reports:
            key = (conversation, report.indicator.value, report.indicator.type.value)
            if report.verdict is Verdict.NOT_CHECKED:
                await tx.execute(
                    "INSERT INTO intel_pending (conversation_id, indicator, type, not_before,"
                    " created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (conversation_id, indicator,"
                    " type) DO UPDATE SET not_before = excluded.not_before",
                    *key,
                    retry_at(report, now) or now,
                    now,
                )
            else:
                await tx.execute(
                    "DELETE FROM intel_pending WHERE conversation_id = ? AND indicator = ?"
                    " AND type = ?",
                    *key,
                )


async def waiting(store: Store, conversation: str, now: float | None = None) -> Waiting:
    """What this conversation has waiting: the due ones (oldest first, at most MAX_RETRY)."""
    now = time.time() if now is None else now
    rows = await store.fetchall(
        "SELECT indicator, type, not_before FROM intel_pending WHERE conversation_id = ?"
        " ORDER BY created_at, indicator LIMIT 1000",
        conversation,
    )
    due: list[Indicator] = []
    later = [float(row["not_before"]) for row in rows if float(row["not_before"]) > now]
    for row in rows:
        if float(row["not_before"]) > now or len(due) >= MAX_RETRY:
            continue
        try:
            due.append(classify_as(row["indicator"], IndicatorType(row["type"])))
        except (InvalidIndicator, ValueError):
            continue  # stored by an older rule that no longer accepts it: nothing to retry
    return Waiting(due, len(later), min(later) if later else None)
