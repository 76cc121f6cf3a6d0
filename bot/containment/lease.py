"""The lease an instance holds on an executing approval (or rollback), renewed while it works.

Every change to the record goes through one `Lease`, under one lock, as a compare-and-set on the
row's version. If another instance took the approval over (because this one looked dead), the
next change fails and the holder stops at once: it never sends, polls or finishes for it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import Any

from bot.containment.approvals import records
from bot.containment.approvals.records import Approval, StaleApproval, State
from bot.store import Store

log = logging.getLogger(__name__)

RETRIES = 5


class LeaseLost(Exception):
    """Another instance changed the approval (took it over, or finished it); stop working on it."""


class Lease:
    def __init__(
        self,
        store: Store,
        approval: Approval,
        owner: str,
        seconds: float,
        *,
        rollback: bool = False,
    ) -> None:
        self.store = store
        # A rollback lease holds a succeeded record while its rollback_state is executing.
        self.rollback = rollback
        self.approval = approval
        self.owner = owner
        self.seconds = seconds
        self.lost = False
        self._lock = asyncio.Lock()
        self._renewer: asyncio.Task | None = None

    @classmethod
    async def claim(
        cls,
        store: Store,
        approval: Approval,
        owner: str,
        seconds: float,
        *,
        expect_state: State,
        rollback: bool = False,
        **changes: Any,
    ) -> Lease:
        """Take the approval as read (same version, same state); StaleApproval if anyone won."""
        claimed = await records.transition(
            store,
            approval,
            expect_state=expect_state,
            lease_owner=owner,
            lease_until=time.time() + seconds,
            **changes,
        )
        return cls(store, claimed, owner, seconds, rollback=rollback)

    async def change(self, *, expect_state: State | None = None, **changes: Any) -> Approval:
        async with self._lock:
            for _ in range(RETRIES):
                if self.lost:
                    break
                try:
                    self.approval = await records.transition(
                        self.store, self.approval, expect_state=expect_state, **changes
                    )
                    return self.approval
                except StaleApproval:
                    await self._reread()
            self.lost = True
            raise LeaseLost(self.approval.id)

    async def _reread(self) -> None:
        """Someone else wrote the row: still ours if it is executing under our owner id.

        (The workflow may write other columns, such as where the card is; only a takeover
        changes the owner.)
        """
        fresh = await records.get(self.store, self.approval.id)
        if self.rollback:
            working = fresh.state == State.SUCCEEDED.value and fresh.rollback_state == "executing"
        else:
            working = fresh.state == State.EXECUTING.value
        if working and fresh.lease_owner == self.owner:
            self.approval = fresh
        else:
            self.lost = True

    async def finish(self, **changes: Any) -> Approval:
        """The last change: stops renewing first, and gives the lease up with it."""
        await self.stop_renewing()
        state = State.SUCCEEDED if self.rollback else State.EXECUTING
        return await self.change(expect_state=state, lease_owner="", lease_until=None, **changes)

    async def release(self) -> None:
        """Best effort at shutdown: another instance may take over now, not when it lapses."""
        await self.stop_renewing()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.change(lease_until=time.time() - 1), timeout=2)

    async def hold_while(self, work: Awaitable[None], what: str) -> Approval:
        """Run `work` with the lease renewed; the record as it ended, or as the instance that
        took the lease over has it. Cancelled, the lease is released so another takes over now."""
        self.start_renewing()
        try:
            await work
        except LeaseLost:
            log.info("approval %s: another instance holds %s now", self.approval.id, what)
            return await records.get(self.store, self.approval.id)
        except asyncio.CancelledError:
            await self.release()
            raise
        finally:
            await self.stop_renewing()
        return self.approval

    def start_renewing(self) -> None:
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._keep())

    async def stop_renewing(self) -> None:
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(self.approval.id)

    async def _keep(self) -> None:
        # A third of the lease: two renewals may fail (a store hiccup) before it lapses.
        while True:
            await asyncio.sleep(self.seconds / 3)
            try:
                await self.change(lease_until=time.time() + self.seconds)
            except LeaseLost:
                log.warning("approval %s was taken over by another instance", self.approval.id)
                return
            except Exception:
                log.exception("renewing the lease on approval %s failed", self.approval.id)
