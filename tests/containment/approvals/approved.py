"""Approvals as the workflow leaves them after the decision (state approved), and the in-process
services that execute them: the execution tests start where WORKFLOW's decision ends.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.app import build_services
from bot.audit.log import tail
from bot.containment.approvals import records
from bot.containment.approvals.records import Approval, State
from bot.kernel.commands import CommandRegistry
from bot.kernel.config import RawConfig
from bot.kernel.rbac import RoleMap
from bot.kernel.services import Services
from bot.store import Store

AUDIT_KEY = "execution-test-audit-key-0123456789"
REQUESTER = ("aaaaaaaa-0000-4000-8000-000000000001", "Rob Responder")
APPROVER = ("aaaaaaaa-0000-4000-8000-000000000002", "Apu Approver")
SECOND = ("aaaaaaaa-0000-4000-8000-000000000003", "Ada Admin")


def fast_env(**extra: str) -> dict[str, str]:
    """Execution settings that keep tests short: quick polls, short leases."""
    return {
        "VIGIL_SECRET_AUDIT_HMAC_KEY": AUDIT_KEY,
        "VIGIL_CONTAINMENT_POLL_INITIAL": "0.05",
        "VIGIL_CONTAINMENT_POLL_MAX": "0.2",
        "VIGIL_CONTAINMENT_LEASE_SECONDS": "2",
        "VIGIL_CONTAINMENT_RECOVERY_INTERVAL": "0.2",
        **extra,
    }


def services_for(store: Store, http: aiohttp.ClientSession, env: Mapping[str, str]) -> Services:
    """One Vigil instance's ports (no Teams connector: nothing was posted, nothing to update)."""
    return build_services(RawConfig({}, dict(env)), store, http, CommandRegistry([]), RoleMap())


async def approved(
    store: Store,
    action: str,
    target: str,
    *,
    incident_id: str = "",
    options: dict[str, Any] | None = None,
    approvers: tuple[tuple[str, str], ...] = (APPROVER,),
) -> Approval:
    """A stored request, decided `pending -> approved` by compare-and-set, as the workflow does."""
    now = time.time()
    request = Approval(
        id="",
        action=action,
        target=target,
        reason="beaconing to evil.example.com",
        requester_id=REQUESTER[0],
        requester_name=REQUESTER[1],
        requested_at=now,
        expires_at=now + 1800,
        options=dict(options or {}),
        incident_id=incident_id,
        required_approvals=len(approvers),
    )
    created = await records.create(store, request)
    return await records.transition(
        store,
        created,
        expect_state=State.PENDING,
        state=State.APPROVED,
        approvals=[{"id": aad, "name": name, "at": now} for aad, name in approvers],
        decided_by_id=approvers[-1][0],
        decided_by_name=approvers[-1][1],
        decided_at=now,
    )


async def audit_of(store: Store, approval_id: str) -> list[dict[str, Any]]:
    """The execution and rollback audit records of one approval, oldest first."""
    found = []
    for record in await tail(store, 10_000):
        parameters = json.loads(record.parameters)
        if record.action.startswith("containment.") and parameters.get("approval_id") == (
            approval_id
        ):
            found.append(
                {
                    **parameters,
                    "audit_action": record.action,
                    "result": record.result,
                    "detail": record.result_detail,
                    "actor": record.actor_name,
                    "origin": record.origin,
                }
            )
    return found
