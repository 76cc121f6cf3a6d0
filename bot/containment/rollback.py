"""The inverse of a succeeded action (unisolate, delete the indicator), exactly once.

`rollback_state` moves "" -> executing -> succeeded | failed by compare-and-set on the record's
version, so of any number of Rollback clicks on any number of instances one runs it. The winner
holds a lease (like execution) while it works; when its instance dies, recovery takes the
rollback over once the lease lapses (`resume_rollback`):
- the rollback's own id is known (an Unisolate machine action): it is polled;
- a repeatable rollback (rpz, soar, deleting an MDE indicator) is run again;
- an MDE indicator other approvals still stand on is not deleted: only this share is given up
  (bot/containment/shared_indicators.py);
- an MDE unisolate first asks the machine's latest machine action, and is sent only if no
  release is there.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.containment.approvals.records import Approval, State
from bot.containment.connector import Action, Connector, ConnectorError, Outcome, Request, Result
from bot.containment.engine import (
    FINAL,
    IDEMPOTENT_CONNECTORS,
    STILL_CHECKING,
    Check,
    call,
    connector_for,
    engine,
    follow,
    given_up,
    merged_detail,
    ready_to_send,
    request_of,
)
from bot.containment.journal import EXECUTOR, record_step
from bot.containment.lease import Lease
from bot.containment.shared_indicators import kept, sharers
from bot.kernel.rbac import Actor
from bot.kernel.services import Services

log = logging.getLogger(__name__)

AUDIT_ACTION = "containment.rollback"
LOST = "rollback state unknown after a restart; check the console"
EXECUTING = "executing"


def start_rollback(services: Services, approval: Approval, actor: Actor) -> None:
    """Roll back in the background; the click's answer does not wait for the connector."""
    engine(services).spawn(f"rollback {approval.id}", rollback(services, approval, actor))


async def rollback(
    services: Services, approval: Approval, actor: Actor, *, lapse: bool = False
) -> Approval:
    """Run the inverse action once; the record as it ended (or as the winning click left it).

    `lapse`: the block's `--expires` time passed; recorded as an automatic removal.
    """
    if approval.state != State.SUCCEEDED.value or approval.rollback_state:
        return approval
    detail = dict(approval.result_detail)
    if lapse:
        detail["rollback"] = {"lapse": True}
    return await engine(services).claim_and_carry(
        services.store,
        approval,
        lambda lease: _carry(services, lease, actor, resumed=False),
        expect_state=State.SUCCEEDED,
        rollback=True,
        rollback_state=EXECUTING,
        rollback_by_name=actor.name,
        rollback_at=time.time(),
        rollback_result="removing the expired block" if lapse else "rolling back",
        result_detail=detail,
    )


async def resume_rollback(services: Services, approval: Approval) -> Approval:
    """Take over a rollback whose instance stopped renewing its lease (crash or stop)."""
    owner = approval.lease_owner or "none"

    async def take_over(lease: Lease) -> Approval:
        if lease.approval.rollback_state != EXECUTING:
            await lease.finish()
            return lease.approval
        log.info("approval %s: rollback lease lapsed (owner %s); taking over", approval.id, owner)
        return await _carry(services, lease, EXECUTOR, resumed=True)

    return await engine(services).claim_and_carry(
        services.store, approval, take_over, expect_state=State.SUCCEEDED, rollback=True
    )


async def _carry(services: Services, lease: Lease, actor: Actor, *, resumed: bool) -> Approval:
    work = _resume(services, lease, actor) if resumed else _send(services, lease, actor)
    return await lease.hold_while(work, "the rollback")


def _lapse(approval: Approval) -> bool:
    return bool((approval.result_detail.get("rollback") or {}).get("lapse"))


async def _send(services: Services, lease: Lease, actor: Actor) -> None:
    approval = lease.approval
    verb = Action(approval.action).command
    why = "the block expired" if _lapse(approval) else f"by {actor.name}"
    connector = await ready_to_send(
        services,
        approval,
        stage="rollback executing",
        text=f"rolling back {verb} {approval.target} ({why})",
        actor=actor,
        action=AUDIT_ACTION,
    )
    if isinstance(connector, Result):
        await _finish(services, lease, actor, connector, sent=False)
        return
    request = request_of(approval)
    result, sent = await _undo(services, connector, approval, request)
    await _settle(services, lease, actor, connector, request, result, sent=sent)


async def _undo(
    services: Services, connector: Connector, approval: Approval, request: Request
) -> tuple[Result, bool]:
    """The connector's rollback, unless other approvals still stand on a shared indicator.

    Read after this rollback's claim is stored (bot/containment/shared_indicators.py): of two
    concurrent rollbacks of the last two shares, at least one deletes. `True`: it was sent.
    """
    others = await sharers(services.store, approval, connector.name)
    if others:
        return kept(approval, others, connector.name), False
    return await call(connector.rollback(request, approval.external_id)), True


async def _resume(services: Services, lease: Lease, actor: Actor) -> None:
    approval = lease.approval
    if given_up(engine(services).settings, approval.rollback_at):
        await _finish(services, lease, actor, Result(Outcome.FAILED, LOST), sent=False)
        return
    try:
        connector = connector_for(services, approval)
    except ConnectorError as exc:
        failed = Result(Outcome.FAILED, f"{LOST}: {exc}")
        await _finish(services, lease, actor, failed, sent=False)
        return
    request = request_of(approval)
    own_id = str((approval.result_detail.get("rollback") or {}).get("external_id") or "")
    if own_id and not rollback_repeatable(connector, request.action):
        known = Result(Outcome.PENDING, STILL_CHECKING, external_id=own_id)
        await _settle(services, lease, actor, connector, request, known, sent=False)
        return
    if not rollback_repeatable(connector, request.action):
        found = await _find_rolled_back(connector, request)
        if found is not None:
            await _settle(services, lease, actor, connector, request, found, sent=False)
            return
    log.info("approval %s: running the rollback again after a restart", approval.id)
    result, sent = await _undo(services, connector, approval, request)
    await _settle(services, lease, actor, connector, request, result, sent=sent)


async def _find_rolled_back(connector: Connector, request: Request) -> Result | None:
    """What the connector already did for this rollback; a failing lookup is an unknown answer."""
    try:
        return await connector.find_rolled_back(request)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("approval %s: rollback lookup failed (%s)", request.approval_id, exc)
        return Result(Outcome.UNKNOWN, f"rollback lookup failed ({type(exc).__name__})")


async def _settle(
    services: Services,
    lease: Lease,
    actor: Actor,
    connector: Connector,
    request: Request,
    result: Result,
    *,
    sent: bool,
) -> None:
    if result.outcome not in FINAL:
        detail = dict(lease.approval.result_detail)
        detail["rollback"] = merged_detail(detail.get("rollback") or {}, result, sent=sent)
        approval = await lease.change(
            rollback_result=f"{STILL_CHECKING} ({result.detail})", result_detail=detail
        )
        since = approval.rollback_at or time.time()
        check = rollback_check(connector, request, approval.external_id)
        result = await follow(
            services, connector, request, result, since=since, lease=lease, check=check
        )
        sent = False
    await _finish(services, lease, actor, result, sent=sent)


def rollback_repeatable(connector: Connector, action: Action) -> bool:
    """Running this rollback twice has the effect of running it once."""
    return connector.name in IDEMPOTENT_CONNECTORS or action.is_block


def rollback_check(connector: Connector, request: Request, sent_id: str) -> Check:
    """How a rollback that answered pending or unknown is asked about again.

    A repeatable rollback is asked by rolling back again (the SOAR receiver answers its
    `<id>:rollback` key again; removing an absent RPZ record is a no-op; deleting a gone MDE
    indicator answers 404, "already gone"): `poll` would read the action itself. An Unisolate
    is polled by its machine action id, or looked for on the machine when it has none.
    """

    async def check(external_id: str) -> Result | None:
        if rollback_repeatable(connector, request.action):
            return await connector.rollback(request, sent_id)
        if external_id:
            return await connector.poll(request, external_id)
        return await connector.find_rolled_back(request)

    return check


async def _finish(
    services: Services, lease: Lease, actor: Actor, result: Result, *, sent: bool
) -> Approval:
    outcome = "succeeded" if result.outcome is Outcome.SUCCEEDED else "failed"
    detail = dict(lease.approval.result_detail)
    detail["rollback"] = merged_detail(detail.get("rollback") or {}, result, sent=sent)
    lapse = _lapse(lease.approval)
    text = result.detail
    if lapse:
        said = (
            "expired block removed"
            if outcome == "succeeded"
            else "removing the expired block failed"
        )
        text = f"{said}: {result.detail}"
    approval = await lease.finish(
        rollback_state=outcome, rollback_result=text, result_detail=detail
    )
    verb = Action(approval.action).command
    what = "removal of the expired block" if lapse else "rollback"
    await record_step(
        services,
        approval,
        stage=f"rollback {outcome}",
        text=f"{what} of {verb} {approval.target} {outcome}: {result.detail}",
        failed=outcome == "failed",
        actor=actor,
        action=AUDIT_ACTION,
    )
    return approval
