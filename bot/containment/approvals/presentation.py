"""How an approval reads: card data (plain strings the template binds) and chat lines."""

from __future__ import annotations

from typing import Any

from bot.containment.approvals.records import Approval, State
from bot.containment.connector import Action, Outcome
from bot.kernel import timefmt
from bot.kernel.rbac import Role

ACTION_TITLES = {
    Action.ISOLATE_ENDPOINT: "Isolate endpoint",
    Action.BLOCK_DOMAIN: "Block domain",
    Action.BLOCK_IP: "Block IP address",
    Action.BLOCK_URL: "Block URL",
    Action.BLOCK_HASH: "Block file hash",
}


def action_title(approval: Approval) -> str:
    title = ACTION_TITLES.get(Action(approval.action), approval.action)
    if approval.action == Action.ISOLATE_ENDPOINT and approval.options.get("selective"):
        title += " (selective)"
    return f"{title} {approval.target}"


def approver_text(role: Role) -> str:
    if role is Role.ADMIN:
        return "admin"
    return f"{role.value} (admins also qualify); never the requester"


def rollback_text(approval: Approval) -> str:
    if not approval.rollback_state:
        return ""
    by = f" by {approval.rollback_by_name}" if approval.rollback_by_name else ""
    at = f" at {timefmt.date_time(approval.rollback_at)}" if approval.rollback_at else ""
    detail = f": {approval.rollback_result}" if approval.rollback_result else ""
    if (approval.result_detail.get("rollback") or {}).get("lapse"):
        # Vigil removed a block whose --expires time passed; the record says so itself.
        if approval.rollback_state == "executing":
            return "The block expired; removing it now"
        text = approval.rollback_result or f"expired block removal {approval.rollback_state}"
        return f"{text[:1].upper()}{text[1:]}{at}"
    if approval.rollback_state == "executing":
        return f"Rollback requested{by}, running now{detail}"
    if approval.rollback_state == Outcome.SUCCEEDED:
        return f"Rolled back{by}{at}{detail}"
    if approval.rollback_state == Outcome.FAILED:
        return f"Rollback failed{by}{at}{detail}"
    return f"Rollback {approval.rollback_state}{by}{at}{detail}"


def status_unknown(approval: Approval) -> bool:
    """Sent (or maybe sent) and no final answer yet: the card says it is still checking."""
    if approval.state != State.EXECUTING:
        return False
    outcome = approval.result_detail.get("outcome") if approval.result_detail else None
    return outcome in (Outcome.UNKNOWN, Outcome.PENDING) or approval.result.startswith(
        "status unknown"
    )


def result_text(approval: Approval) -> str:
    """The connector's answer as the card shows it (nothing before there is one)."""
    if approval.state in (State.CANCELLED, State.PENDING, State.REJECTED, State.EXPIRED):
        return ""
    detail = approval.result_detail.get("detail") if approval.result_detail else ""
    if isinstance(detail, str) and detail:
        return detail
    return approval.result if approval.result not in ("", approval.state, "executing") else ""


def card_data(
    approval: Approval,
    *,
    role: Role,
    user_ids: list[str],
    can_decide: bool = False,
    can_cancel: bool = False,
    can_rollback: bool = False,
) -> dict[str, Any]:
    """The `approval` template's data for one viewer (docs/cards.md names each field)."""
    approved_by = ", ".join(str(entry.get("name", "")) for entry in approval.approvals)
    decided_by = approval.decided_by_name
    if approval.state in (State.EXPIRED, State.CANCELLED):
        decided_by = decided_by if approval.state == State.CANCELLED else ""
    return {
        "approvalId": approval.id,
        "state": approval.state,
        "action": action_title(approval),
        "target": approval.target,
        "requestedBy": approval.requester_name,
        "requestedAt": timefmt.date_time(approval.requested_at),
        "expiresAt": timefmt.date_time(approval.expires_at),
        "reason": approval.reason,
        "evidence": list(approval.evidence),
        "decidedBy": decided_by,
        "decidedAt": timefmt.date_time(approval.decided_at),
        "decisionNote": approval.decision_note,
        "result": result_text(approval),
        "approverText": approver_text(role),
        "approvalsSoFar": len(approval.approvals),
        "approvalsRequired": approval.required_approvals,
        "approvedBy": approved_by,
        "warnings": list(approval.warnings),
        "statusUnknown": status_unknown(approval),
        "rollbackText": rollback_text(approval),
        "canDecide": can_decide,
        "canCancel": can_cancel,
        "canRollback": can_rollback,
        "userIds": user_ids,
    }


def summary_line(approval: Approval) -> str:
    """One chat line for `approvals list`."""
    who = f", by {approval.requester_name}"
    decided = f", decided by {approval.decided_by_name}" if approval.decided_by_name else ""
    count = ""
    if approval.state == State.PENDING and approval.required_approvals > 1:
        count = f" ({len(approval.approvals)} of {approval.required_approvals} approvals)"
    return (
        f"- **{approval.id}** {action_title(approval)}: {approval.state}{count}{who}"
        f" at {timefmt.date_time(approval.requested_at)}{decided}"
    )
