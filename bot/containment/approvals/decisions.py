"""Decisions on a pending approval: approve, reject, cancel, expire; each one compare-and-set.

A decision re-reads the record, asks the policy, and writes with `transition` guarded by the
version it read. When another click (on any instance) won in between, the write raises
StaleApproval and the decision starts over on the fresh record, where the policy now answers
"already approved by X". So of any number of concurrent clicks exactly one moves the state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
# The policy's answer for one record at one moment: None allows the decision.
Refuse = Callable[[Approval, float], Refusal | None]


@dataclass(frozen=True)
class Decision:
    """What a click did: the record afterwards, or why nothing changed."""

    approval: Approval
    refusal: Refusal | None = None
    changed: bool = False


async def approve(services: Services, approval_id: str, actor: Actor) -> Decision:
    """Add `actor`'s approval; the deciding one moves pending -> approved and starts execution."""
    role_for = approval_settings(services).role_for

    def changes(approval: Approval, now: float) -> dict[str, Any]:
        approvals = policy.with_approval(approval, actor, now)
        if not policy.is_decisive(approval, approvals):
            return {"approvals": approvals}
        return {
            "state": State.APPROVED,
            "approvals": approvals,
            "decided_by_id": actor.aad_object_id,
            "decided_by_name": _approvers(approvals),
            "decided_at": now,
        }

    decision = await _decide(
        services,
        approval_id,
        lambda approval, now: policy.check_approve(
            approval, actor, role_for(Action(approval.action)), now
        ),
        changes,
    )
    if decision.changed:
        await _approved(services, decision.approval, actor)
    return decision


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
    return await _close(
        services,
        approval_id,
        actor,
        State.REJECTED,
        lambda approval, now: policy.check_reject(
            approval, actor, role_for(Action(approval.action)), now, reason
        ),
        told=f"rejected by {actor.name}: {reason}",
        decision_note=reason,
    )


async def cancel(services: Services, approval_id: str, actor: Actor) -> Decision:
    """The requester withdraws a pending request: pending -> cancelled."""
    return await _close(
        services,
        approval_id,
        actor,
        State.CANCELLED,
        lambda approval, now: policy.check_cancel(approval, actor, now),
        told=f"cancelled by {actor.name}",
    )


async def _close(
    services: Services,
    approval_id: str,
    actor: Actor,
    state: State,
    refuse: Refuse,
    *,
    told: str,
    **note: str,
) -> Decision:
    """pending -> `state` (rejected, cancelled), decided by `actor`; `told` is the timeline's."""

    def changes(approval: Approval, now: float) -> dict[str, Any]:
        return {
            "state": state,
            "decided_by_id": actor.aad_object_id,
            "decided_by_name": actor.name,
            "decided_at": now,
            **note,
        }

    decision = await _decide(services, approval_id, refuse, changes)
    if decision.changed:
        await _timeline(services, decision.approval, actor, told)
        await update_posted_card(services, decision.approval)
    return decision


async def _decide(
    services: Services,
    approval_id: str,
    refuse: Refuse,
    changes: Callable[[Approval, float], dict[str, Any]],
) -> Decision:
    """Read the record, ask the policy (`refuse`), write `changes` guarded by the version read;
    when another decision won in between, start over on the fresh record."""
    for _ in range(MAX_ATTEMPTS):
        approval = await records.get(services.store, approval_id)
        now = time.time()
        refusal = refuse(approval, now)
        if refusal is not None:
            return Decision(approval, refusal)
        try:
            approval = await records.transition(
                services.store, approval, expect_state=State.PENDING, **changes(approval, now)
            )
        except StaleApproval:
            continue
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
