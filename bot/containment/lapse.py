"""Blocks asked for with `--expires` are removed when they expire, by Vigil, whatever connector
holds them: the RPZ zone has no expiry of its own, and for Defender (which lapses the indicator
itself through `expirationTime`) and SOAR the removal makes the record, card and timeline say
so (MDE then answers the DELETE with 404, "already gone").

It is a rollback with the actor "Vigil (block expired)", run by the recovery pass on every
instance: the compare-and-set on `rollback_state` lets exactly one of them do each.
"""

from __future__ import annotations

import time

from bot.containment.approvals import records
from bot.containment.approvals.records import State
from bot.containment.engine import engine
from bot.containment.rollback import rollback
from bot.kernel.rbac import Actor
from bot.kernel.services import Services

LAPSE_ACTOR = Actor(aad_object_id="vigil:block-expiry", name="Vigil (block expired)")
BATCH = 100


async def lapse_due(services: Services) -> int:
    """Start removing every succeeded block whose expiry passed; how many started here."""
    mine = engine(services)
    rows = await services.store.fetchall(
        "SELECT id FROM approvals WHERE lapse_at IS NOT NULL AND lapse_at <= ?"
        " AND state = ? AND rollback_state = ? ORDER BY lapse_at LIMIT ?",
        time.time(),
        State.SUCCEEDED.value,
        "",
        BATCH,
    )
    started = 0
    for row in rows:
        key = f"rollback {row['id']}"
        if key in mine.running:
            continue
        approval = await records.get(services.store, row["id"])
        started += mine.spawn(key, rollback(services, approval, LAPSE_ACTOR, lapse=True))
    return started
