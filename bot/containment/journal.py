"""Each execution step, told three ways: the incident timeline, the audit log and the card.

The audit detail names what a SOC lead answers for: the approval, who asked, who approved, the
connector, the token scope, the credential id (never a secret), the redacted request sent, and
the response status and body digest.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.audit.trail import AuditUnavailable
from bot.containment.approvals.card import update_posted_card
from bot.containment.approvals.records import Approval
from bot.incidents.timeline import add_timeline
from bot.kernel.rbac import Actor
from bot.kernel.services import Services

log = logging.getLogger(__name__)

# Execution runs in the background, on whichever instance holds the lease: it is the system's act.
EXECUTOR = Actor(aad_object_id="vigil:containment", name="Vigil containment")
TIMELINE_KIND = "containment"


def audit_parameters(approval: Approval, stage: str) -> dict[str, Any]:
    detail = approval.result_detail
    provenance = detail.get("provenance") or {}
    return {
        "approval_id": approval.id,
        "stage": stage,
        "action": approval.action,
        "requester": approval.requester_name,
        "requester_id": approval.requester_id,
        "approvers": [entry.get("name", "") for entry in approval.approvals],
        "approver_ids": approval.approver_ids,
        "incident_id": approval.incident_id,
        "connector": provenance.get("connector") or approval.connector,
        "scope": provenance.get("scope", ""),
        "credential_id": provenance.get("credential_id", ""),
        "request": detail.get("request") or {},
        "response_status": detail.get("http_status"),
        "response_digest": detail.get("response_digest", ""),
        "external_id": approval.external_id,
    }


async def record_step(
    services: Services,
    approval: Approval,
    *,
    stage: str,
    text: str,
    failed: bool = False,
    actor: Actor = EXECUTOR,
    action: str = "containment.execute",
    strict: bool = False,
) -> None:
    """Timeline, audit, card. `strict`: an unwritable audit log raises (before anything is sent)."""
    await _timeline(services, approval, actor, text)
    try:
        await services.audit.record(
            actor=actor,
            action=action,
            target=approval.target,
            parameters=audit_parameters(approval, stage),
            result="error" if failed else "ok",
            detail=text,
            correlation_id=approval.id,
            conversation=approval.conversation_id,
            origin="scheduler" if actor.aad_object_id.startswith("vigil:") else "teams",
        )
    except AuditUnavailable:
        if strict:
            raise
        log.error("approval %s: audit log unavailable for step %s", approval.id, stage)
    await refresh_card(services, approval)


async def refresh_card(services: Services, approval: Approval) -> None:
    await update_posted_card(services, approval)


async def _timeline(services: Services, approval: Approval, actor: Actor, text: str) -> None:
    if not approval.incident_id:
        return
    try:
        await add_timeline(services.store, approval.incident_id, actor.name, TIMELINE_KIND, text)
    except Exception:
        # The timeline is a view; a missing incident must not stop or undo the action itself.
        log.warning("approval %s: no timeline entry on %s", approval.id, approval.incident_id)
