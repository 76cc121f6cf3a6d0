"""The inverse of a succeeded action (unisolate, delete the indicator), exactly once.

`rollback_state` moves "" -> executing -> succeeded | failed by compare-and-set on the record's
version, so of any number of Rollback clicks on any number of instances one runs it.
"""

from __future__ import annotations

import logging
import time

from bot.approvals import records
from bot.approvals.records import Approval, StaleApproval, State
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
    request_of,
)
from bot.containment.journal import record_step
from bot.rbac import Actor
from bot.services import Services

log = logging.getLogger(__name__)

AUDIT_ACTION = "containment.rollback"
LOST = "rollback state unknown after a restart; check the console"


def start_rollback(services: Services, approval: Approval, actor: Actor) -> None:
    """Roll back in the background; the click's answer does not wait for the connector."""
    engine(services).spawn(f"rollback {approval.id}", rollback(services, approval, actor))


async def rollback(services: Services, approval: Approval, actor: Actor) -> Approval:
    """Run the inverse action once; the record as it ended (or as the winning click left it)."""
    if approval.state != State.SUCCEEDED.value or approval.rollback_state:
        return approval
    try:
        approval = await records.transition(
            services.store,
            approval,
            expect_state=State.SUCCEEDED,
            rollback_state="executing",
            rollback_by_name=actor.name,
            rollback_at=time.time(),
            rollback_result="rolling back",
        )
    except StaleApproval:
        return await records.get(services.store, approval.id)
    verb = Action(approval.action).command
    try:
        await record_step(
            services,
            approval,
            stage="rollback executing",
            text=f"rolling back {verb} {approval.target} (by {actor.name})",
            actor=actor,
            action=AUDIT_ACTION,
            strict=True,
        )
    except Exception as exc:
        failed = Result(Outcome.FAILED, f"{exc}; not sent")
        return await _finish(services, approval, actor, failed, sent=False)
    try:
        connector = connector_for(services, approval)
    except ConnectorError as exc:
        return await _finish(
            services, approval, actor, Result(Outcome.FAILED, str(exc)), sent=False
        )
    request = request_of(approval)
    result = await call(connector.rollback(request, approval.external_id))
    detail = dict(approval.result_detail)
    detail["rollback"] = merged_detail({}, result, sent=True)
    sent = True
    if result.outcome not in FINAL:
        approval = await _change(
            services,
            approval,
            rollback_result=f"{STILL_CHECKING} ({result.detail})",
            result_detail=detail,
        )
        since = approval.rollback_at or time.time()
        check = rollback_check(connector, request, approval.external_id)
        result = await follow(services, connector, request, result, since=since, check=check)
        sent = False
    return await _finish(services, approval, actor, result, sent=sent)


def rollback_repeatable(connector: Connector, action: Action) -> bool:
    """Running this rollback twice has the effect of running it once."""
    return connector.name in IDEMPOTENT_CONNECTORS or action.is_block


def rollback_check(connector: Connector, request: Request, sent_id: str) -> Check:
    """How a rollback that answered pending or unknown is asked about again.

    A repeatable rollback is asked by rolling back again (the SOAR receiver answers its
    `<id>:rollback` key again; removing an absent RPZ record is a no-op; deleting a gone MDE
    indicator answers 404, "already gone"): `poll` would read the action itself. An Unisolate
    is polled by its machine action id; without one the give-up time ends the wait.
    """

    async def check(external_id: str) -> Result | None:
        if rollback_repeatable(connector, request.action):
            return await connector.rollback(request, sent_id)
        if external_id and request.action is Action.ISOLATE_ENDPOINT:
            return await connector.poll(request, external_id)
        return None

    return check


async def expire_lost(services: Services, approval: Approval) -> Approval | None:
    """A rollback left executing past the give-up time (its instance died) is marked failed."""
    settings = engine(services).settings
    if approval.rollback_state != "executing" or not given_up(settings, approval.rollback_at):
        return None
    try:
        updated = await records.transition(
            services.store, approval, rollback_state="failed", rollback_result=LOST
        )
    except StaleApproval:
        return None
    await record_step(
        services,
        updated,
        stage="rollback failed",
        text=f"rollback of {Action(updated.action).command} {updated.target} failed: {LOST}",
        failed=True,
        action=AUDIT_ACTION,
    )
    return updated


async def _finish(
    services: Services, approval: Approval, actor: Actor, result: Result, *, sent: bool
) -> Approval:
    outcome = "succeeded" if result.outcome is Outcome.SUCCEEDED else "failed"
    detail = dict(approval.result_detail)
    detail["rollback"] = merged_detail(detail.get("rollback") or {}, result, sent=sent)
    approval = await _change(
        services,
        approval,
        rollback_state=outcome,
        rollback_result=result.detail,
        result_detail=detail,
    )
    await record_step(
        services,
        approval,
        stage=f"rollback {outcome}",
        text=f"rollback of {Action(approval.action).command} {approval.target} {outcome}:"
        f" {result.detail}",
        failed=outcome == "failed",
        actor=actor,
        action=AUDIT_ACTION,
    )
    return approval


async def _change(services: Services, approval: Approval, **changes: object) -> Approval:
    """Rollback changes only while it is still ours: rollback_state is executing."""
    latest = approval
    for _ in range(5):
        if latest.rollback_state != "executing":
            break
        try:
            return await records.transition(services.store, latest, **changes)
        except StaleApproval:
            latest = await records.get(services.store, approval.id)
    log.warning("approval %s: rollback was finished elsewhere", approval.id)
    return latest
