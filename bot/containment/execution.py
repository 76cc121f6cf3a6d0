"""Runs an approved containment action exactly once and follows it to a final state.

Exactly once, across instances and crashes:
- claim `approved -> executing` with a compare-and-set and a lease; only the winner goes on;
- record `send_started_at` (another compare-and-set) BEFORE calling the connector, so a record
  that says "not sent" was never sent;
- a pending or unknown answer keeps the record executing; it is polled (never sent again) until
  final or the give-up time, then marked failed with "check the console".
Recovery after a crash (bot/containment/recovery.py) re-enters through `carry_out`:
- a lapsed lease with no `send_started_at`: nothing was sent, so it is sent now;
- a lapsed lease with `send_started_at`: the connector's `find_sent` decides. Found: follow it.
  Not found: marked failed "sent state unknown after a restart; not repeated", except for
  connectors whose sends are idempotent by design (IDEMPOTENT_CONNECTORS), which send again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

from bot.containment.approvals.records import Approval, State
from bot.containment.connector import Action, Connector, ConnectorError, Outcome, Request, Result
from bot.containment.engine import (
    FINAL,
    IDEMPOTENT_CONNECTORS,
    STILL_CHECKING,
    call,
    connector_for,
    engine,
    follow,
    given_up,
    merged_detail,
    ready_to_send,
    request_of,
)
from bot.containment.journal import record_step
from bot.containment.lease import Lease
from bot.containment.rollback import rollback, start_rollback
from bot.containment.shared_indicators import shared_expiry, sharers
from bot.kernel.services import Services

__all__ = ["IDEMPOTENT_CONNECTORS", "carry_out", "execute", "rollback", "start", "start_rollback"]

log = logging.getLogger(__name__)

NOT_REPEATED = "sent state unknown after a restart; not repeated"


def start(services: Services, approval: Approval) -> None:
    """Execute in the background (the decision's answer does not wait for the connector)."""
    engine(services).spawn(approval.id, execute(services, approval))


async def execute(services: Services, approval: Approval) -> Approval:
    """Claim, send once, follow to a final state; the record as it ended (or as another has it)."""
    return await engine(services).claim_and_carry(
        services.store,
        approval,
        lambda lease: carry_out(services, lease),
        expect_state=State.APPROVED,
        state=State.EXECUTING,
        result="executing",
    )


async def carry_out(services: Services, lease: Lease, *, resumed: bool = False) -> Approval:
    """Work on a claimed approval: send it if it was never sent, else reconcile what was sent."""
    if lease.approval.send_started_at is None:
        work = _send(services, lease, resumed=resumed)
    else:
        work = _reconcile(services, lease)
    return await lease.hold_while(work, "it")


async def _send(services: Services, lease: Lease, *, resumed: bool) -> None:
    approval = lease.approval
    approvers = ", ".join(entry.get("name", "") for entry in approval.approvals) or "nobody"
    connector = await ready_to_send(
        services,
        approval,
        stage="executing",
        text=f"executing {Action(approval.action).command} {approval.target}"
        f" (approved by {approvers}{'; resumed after a restart' if resumed else ''})",
    )
    if isinstance(connector, Result):
        await _finish(services, lease, connector, sent=False)
        return
    # A shared indicator (one per value in Defender) keeps the latest lifetime of its approvals.
    others = await sharers(services.store, approval, connector.name)
    # The send time is on the record first: a block's lifetime is counted from it.
    approval = await lease.change(send_started_at=time.time(), connector=connector.name)
    request = request_of(approval)
    if others:
        request = replace(request, expires_at=shared_expiry(request.expires_at, others))
    result = await call(connector.execute(request))
    await _settle(services, lease, connector, request, result, sent=True)


async def _reconcile(services: Services, lease: Lease) -> None:
    """A lapsed lease on a record that may have been sent: find it, follow it, never send twice."""
    approval = lease.approval
    try:
        connector = connector_for(services, approval)
    except ConnectorError as exc:
        failed = Result(Outcome.FAILED, f"{NOT_REPEATED}: {exc}")
        await _finish(services, lease, failed, sent=False)
        return
    request = request_of(approval)
    if approval.external_id:
        known = Result(Outcome.PENDING, STILL_CHECKING, external_id=approval.external_id)
        await _settle(services, lease, connector, request, known, sent=False)
        return
    found = await _find_sent(services, lease, connector, request)
    if found is not None:
        await _settle(services, lease, connector, request, found, sent=False)
    elif connector.name in IDEMPOTENT_CONNECTORS:
        log.info("approval %s: not found at %s; sending again", approval.id, connector.name)
        approval = await lease.change(send_started_at=time.time())
        result = await call(connector.execute(request_of(approval)))
        await _settle(services, lease, connector, request, result, sent=True)
    else:
        await _finish(services, lease, Result(Outcome.FAILED, NOT_REPEATED), sent=False)


async def _find_sent(
    services: Services, lease: Lease, connector: Connector, request: Request
) -> Result | None:
    """Ask until the connector answers (found or not); a failing lookup is asked again later."""
    settings = engine(services).settings
    delay = settings.poll_initial
    while True:
        lease.check()
        try:
            return await connector.find_sent(request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("approval %s: find_sent failed (%s)", request.approval_id, exc)
        if given_up(settings, lease.approval.send_started_at):
            return Result(Outcome.FAILED, f"{NOT_REPEATED}; the connector did not answer")
        await asyncio.sleep(delay)
        delay = min(delay * 2, settings.poll_max)


async def _settle(
    services: Services,
    lease: Lease,
    connector: Connector,
    request: Request,
    result: Result,
    *,
    sent: bool,
) -> None:
    if result.outcome not in FINAL:
        approval = await lease.change(
            result=STILL_CHECKING,
            external_id=result.external_id or lease.approval.external_id,
            result_detail=merged_detail(lease.approval.result_detail, result, sent=sent),
        )
        said = f" ({result.detail})" if result.detail else ""
        await record_step(
            services,
            approval,
            stage=result.outcome.value,
            text=f"{Action(approval.action).command} {approval.target}: {STILL_CHECKING}{said}",
        )
        since = approval.send_started_at or time.time()
        result = await follow(services, connector, request, result, since=since, lease=lease)
        sent = False
    await _finish(services, lease, result, sent=sent)


async def _finish(services: Services, lease: Lease, result: Result, *, sent: bool) -> Approval:
    state = State.SUCCEEDED if result.outcome is Outcome.SUCCEEDED else State.FAILED
    expires = request_of(lease.approval).expires_at
    approval = await lease.finish(
        state=state,
        lapse_at=expires if state is State.SUCCEEDED else None,
        finished_at=time.time(),
        result=result.detail,
        external_id=result.external_id or lease.approval.external_id,
        result_detail=merged_detail(lease.approval.result_detail, result, sent=sent),
    )
    await record_step(
        services,
        approval,
        stage=state.value,
        text=f"{Action(approval.action).command} {approval.target} {state.value}: {result.detail}",
        failed=state is State.FAILED,
    )
    return approval
