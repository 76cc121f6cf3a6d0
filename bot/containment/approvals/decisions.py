"""Decisions on a pending approval: approve, reject, cancel, expire; each one compare-and-set.

A decision re-reads the record, asks the policy, and writes with `transition` guarded by the
version it read. When another click (on any instance) won in between, the write raises
StaleApproval and the decision starts over on the fresh record, where the policy now answers
"already approved by X". So of any number of concurrent clicks exactly one moves the state.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bot.audit.trail import AuditUnavailable
from bot.containment.approvals import policy, records
from bot.containment.approvals.card import update_posted_card
from bot.containment.approvals.policy import Refusal
from bot.containment.approvals.presentation import action_title
from bot.containment.approvals.records import Approval, StaleApproval, State
from bot.containment.approvals.settings import approval_settings
from bot.containment.connector import Action
from bot.incidents.timeline import add_timeline
from bot.kernel import timefmt
from bot.kernel.rbac import Actor
from bot.kernel.services import Services

log = logging.getLogger(__name__)

TIMELINE_KIND = "containment"
MAX_ATTEMPTS = 50  # bounded retries; each StaleApproval means some other decision succeeded
SCHEDULER = Actor(aad_object_id="vigil:approvals", name="Vigil approvals")


@dataclass(frozen=True)
class Decision:
    """What a click did: the record afterwards, or why nothing changed."""

    approval: Approval
    refusal: Refusal | None = None
    changed: bool = False


async def approve(services: Services, approval_id: str, actor: Actor) -> Decision:
    """Add `actor`'s approval; the deciding one moves pending -> approved and starts execution."""
    role_for = approval_settings(services).role_for
    for _ in range(MAX_ATTEMPTS):
        approval = await records.get(services.store, approval_id)
        now = time.time()
        refusal = policy.check_approve(approval, actor, role_for(Action(approval.action)), now)
        if refusal is not None:
            return Decision(approval, refusal)
        approvals = policy.with_approval(approval, actor, now)
        try:
            if policy.is_decisive(approval, approvals):
                approval = await records.transition(
                    services.store,
                    approval,
                    expect_state=State.PENDING,
                    state=State.APPROVED,
                    approvals=approvals,
                    decided_by_id=actor.aad_object_id,
                    decided_by_name=_approvers(approvals),
                    decided_at=now,
                )
            else:
                approval = await records.transition(
                    services.store, approval, expect_state=State.PENDING, approvals=approvals
                )
        except StaleApproval:
            continue
        await _approved(services, approval, actor)
        return Decision(approval, changed=True)
    raise RuntimeError(f"approval {approval_id}: no decision after {MAX_ATTEMPTS} attempts")


async def _approved(services: Services, approval: Approval, actor: Actor) -> None:
    if approval.state == State.APPROVED:
        await _timeline(services, approval, actor, f"approved by {approval.decided_by_name}")
        from bot.containment import execution

        execution.start(services, approval)
    else:
        count = f"{len(approval.approvals)} of {approval.required_approvals}"
        await _timeline(services, approval, actor, f"approved by {actor.name} ({count})")
    await update_posted_card(services, approval)


async def reject(services: Services, approval_id: str, actor: Actor, reason: str) -> Decision:
    """pending -> rejected with a reason (required)."""
    reason = reason.strip()[: records.MAX_REASON]
    role_for = approval_settings(services).role_for
    for _ in range(MAX_ATTEMPTS):
        approval = await records.get(services.store, approval_id)
        now = time.time()
        refusal = policy.check_reject(
            approval, actor, role_for(Action(approval.action)), now, reason
        )
        if refusal is not None:
            return Decision(approval, refusal)
        try:
            approval = await records.transition(
                services.store,
                approval,
                expect_state=State.PENDING,
                state=State.REJECTED,
                decided_by_id=actor.aad_object_id,
                decided_by_name=actor.name,
                decided_at=now,
                decision_note=reason,
            )
        except StaleApproval:
            continue
        await _timeline(services, approval, actor, f"rejected by {actor.name}: {reason}")
        await update_posted_card(services, approval)
        return Decision(approval, changed=True)
    raise RuntimeError(f"approval {approval_id}: no decision after {MAX_ATTEMPTS} attempts")


async def cancel(services: Services, approval_id: str, actor: Actor) -> Decision:
    """The requester withdraws a pending request: pending -> cancelled."""
    for _ in range(MAX_ATTEMPTS):
        approval = await records.get(services.store, approval_id)
        now = time.time()
        refusal = policy.check_cancel(approval, actor, now)
        if refusal is not None:
            return Decision(approval, refusal)
        try:
            approval = await records.transition(
                services.store,
                approval,
                expect_state=State.PENDING,
                state=State.CANCELLED,
                decided_by_id=actor.aad_object_id,
                decided_by_name=actor.name,
                decided_at=now,
            )
        except StaleApproval:
            continue
        await _timeline(services, approval, actor, f"cancelled by {actor.name}")
        await update_posted_card(services, approval)
        return Decision(approval, changed=True)
    raise RuntimeError(f"approval {approval_id}: no decision after {MAX_ATTEMPTS} attempts")


async def expire(services: Services, approval: Approval, now: float | None = None) -> bool:
    """pending -> expired once past expires_at; True for the one caller that did it."""
    now = time.time() if now is None else now
    if not policy.is_expired(approval, now):
        return False
    try:
        approval = await records.transition(
            services.store, approval, expect_state=State.PENDING, state=State.EXPIRED
        )
    except StaleApproval:
        return False
    text = f"expired unapproved at {timefmt.clock(approval.expires_at)}"
    await _timeline(services, approval, SCHEDULER, text)
    try:
        await services.audit.record(
            actor=SCHEDULER,
            action="approval.expired",
            target=approval.target,
            parameters={"approval_id": approval.id, "action": approval.action},
            result="ok",
            detail=f"{approval.id} {text}",
            correlation_id=approval.id,
            conversation=approval.conversation_id,
            origin="scheduler",
        )
    except AuditUnavailable as exc:
        log.error("approval %s expired but not audited: %s", approval.id, exc)
    await update_posted_card(services, approval)
    return True


def _approvers(approvals: list[dict[str, object]]) -> str:
    return " and ".join(str(entry.get("name", "")) for entry in approvals)


async def _timeline(services: Services, approval: Approval, actor: Actor, text: str) -> None:
    if not approval.incident_id:
        return
    try:
        await add_timeline(
            services.store,
            approval.incident_id,
            actor.name,
            TIMELINE_KIND,
            f"{action_title(approval)} ({approval.id}): {text}",
        )
    except Exception:
        log.warning("approval %s: no timeline entry on %s", approval.id, approval.incident_id)
