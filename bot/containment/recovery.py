"""The background job each instance runs: finish what a crash or a restart left behind.

- `approved` (decided, then the deciding instance died before claiming): executed once;
- `executing` with a lapsed lease: taken over with a compare-and-set on the version and carried
  on by the rules in bot/containment/execution.py (send if never sent, else find and follow);
- a rollback left executing with a lapsed lease: taken over the same way and resumed (polled,
  repeated when repeatable, or looked for before an MDE release is sent again); past the give-up
  time it is marked failed;
- a succeeded block whose `--expires` time passed: removed (bot/containment/lapse.py).
At stop, the tasks it and `start` spawned are cancelled; each gives its lease up on the way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from bot.containment.approvals import records
from bot.containment.approvals.records import State
from bot.containment.engine import engine
from bot.containment.execution import carry_out, execute
from bot.containment.lapse import lapse_due
from bot.containment.registry import connectors_from_config
from bot.containment.rollback import resume_rollback
from bot.kernel.services import Services

log = logging.getLogger(__name__)

BATCH = 100


def execution_job(services: Services) -> Coroutine[Any, Any, None]:
    """The coroutine for bot/app.py background_jobs; settings are checked here, at start-up."""
    engine(services)
    # Build every configured connector now: a wrong connector setting stops `vigil serve` with
    # the key's name instead of failing the first approved action.
    connectors_from_config(services).all()
    return _run(services)


async def _run(services: Services) -> None:
    mine = engine(services)
    try:
        while True:
            try:
                await recover(services)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("containment recovery step failed; retrying")
            await asyncio.sleep(mine.settings.recovery_interval)
    finally:
        await mine.shutdown()


async def recover(services: Services) -> int:
    """One pass; the number of approvals it started work on here."""
    mine = engine(services)
    started = 0
    for approval in await records.in_states(services.store, (State.APPROVED,), limit=BATCH):
        started += mine.spawn(approval.id, execute(services, approval))
    now = time.time()
    for approval in await records.in_states(services.store, (State.EXECUTING,), limit=BATCH):
        if approval.id in mine.running or (approval.lease_until or 0) > now:
            continue
        started += mine.spawn(approval.id, _take_over(services, approval))
    rows = await services.store.fetchall(
        "SELECT id, lease_until, rollback_at FROM approvals WHERE state = ? AND rollback_state = ?"
        " ORDER BY rollback_at LIMIT ?",
        State.SUCCEEDED.value,
        "executing",
        BATCH,
    )
    for row in rows:
        key = f"rollback {row['id']}"
        # No lease at all (a rollback started before leases): give its instance one lease time.
        until = row["lease_until"] or (row["rollback_at"] or 0) + mine.settings.lease_seconds
        if key in mine.running or until > now:
            continue
        approval = await records.get(services.store, row["id"])
        started += mine.spawn(key, resume_rollback(services, approval))
    return started + await lapse_due(services)


async def _take_over(services: Services, approval: records.Approval) -> None:
    lease = await engine(services).claim(services.store, approval, expect_state=State.EXECUTING)
    if lease is None:
        return  # another instance took it over first, or its holder renewed just now
    log.info("approval %s: lease lapsed (owner %s); taking over", approval.id, approval.lease_owner)
    await carry_out(services, lease, resumed=True)
