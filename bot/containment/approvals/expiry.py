"""The expiry job: pending requests past their `expires_at` become expired, once.

Every instance runs it; the compare-and-set in `decisions.expire` lets exactly one of them (or
a click racing it) change each record, and only that one updates the card, timeline and audit.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.containment.approvals import decisions, records
from bot.containment.approvals.records import State
from bot.containment.approvals.settings import approval_settings
from bot.kernel.services import Services

log = logging.getLogger(__name__)

BATCH = 200


async def expire_due(services: Services, now: float | None = None) -> int:
    """Expire every pending request past its time; how many this caller expired."""
    now = time.time() if now is None else now
    done = 0
    rows = await services.store.fetchall(
        "SELECT id FROM approvals WHERE state = ? AND expires_at <= ? ORDER BY expires_at LIMIT ?",
        State.PENDING.value,
        now,
        BATCH,
    )
    for row in rows:
        approval = await records.get(services.store, row["id"])
        if await decisions.expire(services, approval, now):
            done += 1
    return done


async def expiry_job(services: Services) -> None:
    """Runs until cancelled; a failing round is logged and the next one tries again."""
    interval = approval_settings(services).expiry_interval
    while True:
        try:
            expired = await expire_due(services)
            if expired:
                log.info("expired %d approval request(s)", expired)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("approval expiry round failed")
        await asyncio.sleep(interval)
