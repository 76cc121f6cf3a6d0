"""Who may do what to an approval, and when: pure functions over plain data, no I/O.

Every check answers None (allowed) or a Refusal whose text is what the clicker reads and whose
code is what the audit record names. The order of checks is deliberate: a final state first (the
most useful answer to a late click), then expiry, then four-eyes, then role.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.containment.approvals.records import Approval, State
from bot.kernel import timefmt
from bot.kernel.rbac import Actor, Role

CROWN_JEWEL_APPROVALS = 2
MAX_BLOCK_SECONDS = 90 * 86400
MIN_BLOCK_SECONDS = 60
_DURATION = re.compile(r"(\d{1,6})\s*([mhd])")
_UNITS = {"m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Refusal:
    code: str  # four-eyes, role, expired, not-pending, already-approved, reason, not-requester
    text: str


def is_expired(approval: Approval, now: float) -> bool:
    return approval.state == State.PENDING and now >= approval.expires_at


def _state_refusal(approval: Approval, now: float) -> Refusal | None:
    if approval.state != State.PENDING:
        who = approval.decided_by_name
        if approval.state in (State.APPROVED, State.EXECUTING, State.SUCCEEDED, State.FAILED):
            return Refusal("not-pending", f"already approved by {who or 'someone else'}")
        if approval.state == State.REJECTED:
            return Refusal("not-pending", f"already rejected by {who or 'someone else'}")
        if approval.state == State.EXPIRED:
            return Refusal("expired", f"expired at {timefmt.clock(approval.expires_at)}")
        return Refusal("not-pending", f"this request is {approval.state}")
    if is_expired(approval, now):
        return Refusal("expired", f"expired at {timefmt.clock(approval.expires_at)}")
    return None


def _decider_refusal(
    approval: Approval, actor: Actor, role: Role, now: float, own_request: str
) -> Refusal | None:
    """What refuses any approver's decision: the state, four-eyes (`own_request` is what the
    requester reads), the role."""
    refusal = _state_refusal(approval, now)
    if refusal is not None:
        return refusal
    if actor.aad_object_id and actor.aad_object_id == approval.requester_id:
        return Refusal("four-eyes", own_request)
    if not actor.has(role):
        return Refusal("role", f"needs role {role.value}")
    return None


def check_approve(approval: Approval, actor: Actor, role: Role, now: float) -> Refusal | None:
    """May `actor` add an approval now? (`role` is the approver role for this action type.)"""
    own_request = "you requested this, someone else must approve"
    refusal = _decider_refusal(approval, actor, role, now, own_request)
    if refusal is not None:
        return refusal
    if actor.aad_object_id in approval.approver_ids:
        return Refusal(
            "already-approved",
            "you already approved this; a crown-jewel target needs a second, different approver",
        )
    return None


def check_reject(
    approval: Approval, actor: Actor, role: Role, now: float, reason: str
) -> Refusal | None:
    own_request = "you requested this; use Cancel to withdraw it"
    refusal = _decider_refusal(approval, actor, role, now, own_request)
    if refusal is not None:
        return refusal
    if not reason.strip():
        return Refusal("reason", "a reason is needed to reject; type it in the box")
    return None


def check_cancel(approval: Approval, actor: Actor, now: float) -> Refusal | None:
    refusal = _state_refusal(approval, now)
    if refusal is not None:
        return refusal
    if actor.aad_object_id != approval.requester_id:
        return Refusal("not-requester", f"only {approval.requester_name} can cancel this request")
    return None


def check_rollback(approval: Approval, actor: Actor) -> Refusal | None:
    if not actor.has(Role.RESPONDER):
        return Refusal("role", "needs role responder")
    if approval.state != State.SUCCEEDED:
        return Refusal(
            "not-succeeded",
            f"only a succeeded action can be rolled back; this one is {approval.state}",
        )
    if approval.rollback_state:
        by = f" by {approval.rollback_by_name}" if approval.rollback_by_name else ""
        return Refusal("rolled-back", f"rollback already {approval.rollback_state}{by}")
    return None


def can_decide(approval: Approval, actor: Actor | None, role: Role, now: float) -> bool:
    return actor is not None and check_approve(approval, actor, role, now) is None


def can_cancel(approval: Approval, actor: Actor | None, now: float) -> bool:
    return actor is not None and check_cancel(approval, actor, now) is None


def can_rollback(approval: Approval, actor: Actor | None) -> bool:
    return actor is not None and check_rollback(approval, actor) is None


def with_approval(approval: Approval, actor: Actor, now: float) -> list[dict[str, object]]:
    """The approvals list after `actor` approves (call only after check_approve allowed it)."""
    return [*approval.approvals, {"id": actor.aad_object_id, "name": actor.name, "at": now}]


def is_decisive(approval: Approval, approvals: list[dict[str, object]]) -> bool:
    """Distinct approvers reach the number required: the state moves to approved."""
    distinct = {entry["id"] for entry in approvals}
    return len(distinct) >= approval.required_approvals


def crown_jewel_match(
    patterns: Iterable[str], names: Iterable[str], tags: Iterable[str]
) -> str | None:
    """The first pattern matching a name (host, domain, DNS name) or, as `tag:X`, a tag."""
    names = [n.lower().rstrip(".") for n in names if n]
    tags = [t.lower() for t in tags if t]
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern.startswith("tag:"):
            wanted = pattern[4:].strip()
            if any(fnmatch.fnmatchcase(tag, wanted) for tag in tags):
                return pattern
        elif any(fnmatch.fnmatchcase(name, pattern) for name in names):
            return pattern
    return None


def required_approvals(crown_jewel: bool) -> int:
    return CROWN_JEWEL_APPROVALS if crown_jewel else 1


def parse_block_duration(text: str) -> int:
    """`--expires` for blocks: 30m, 12h, 7d, at most 90d; ValueError says what is allowed."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        raise ValueError("--expires takes a duration like 30m, 12h or 7d")
    seconds = int(match[1]) * _UNITS[match[2]]
    if not MIN_BLOCK_SECONDS <= seconds <= MAX_BLOCK_SECONDS:
        raise ValueError("--expires must be from 1m to 90d")
    return seconds
