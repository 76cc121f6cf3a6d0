"""What the rest of Vigil calls to audit: redacts parameters and appends to the audit log.

The HMAC key comes from the secret source on first use, so Vigil starts (and /readyz explains)
when the key is not there yet; until it is, audited work answers "not configured".
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from bot.audit.log import AuditEntry, AuditLog, AuditRecord
from bot.kernel.rbac import Actor
from bot.kernel.redaction import Redactor
from bot.secrets.source import SecretSource, SecretUnavailable
from bot.store import Store

AUDIT_KEY_SECRET = "audit-hmac-key"  # noqa: S105 (a secret name)


class AuditUnavailable(RuntimeError):
    """The audit log cannot be written; the work that needed it must not go ahead."""


class AuditTrail:
    def __init__(self, store: Store, secrets: SecretSource, redactor: Redactor) -> None:
        self._store = store
        self._secrets = secrets
        self._redactor = redactor
        self._log: AuditLog | None = None
        self._lock = asyncio.Lock()

    async def log(self) -> AuditLog:
        if self._log is None:
            async with self._lock:
                if self._log is None:
                    try:
                        secret = await self._secrets.get(AUDIT_KEY_SECRET)
                        self._log = AuditLog(self._store, secret.reveal().encode())
                    except (SecretUnavailable, ValueError) as exc:
                        raise AuditUnavailable(f"audit log unavailable: {exc}") from None
        return self._log

    async def record(
        self,
        *,
        actor: Actor,
        action: str,
        target: str | None,
        parameters: Mapping[str, Any],
        result: str,
        detail: str = "",
        correlation_id: str = "",
        conversation: str = "",
        origin: str = "teams",
    ) -> AuditRecord:
        entry = AuditEntry(
            actor_id=actor.aad_object_id,
            actor_name=actor.name,
            actor_roles=sorted(str(role) for role in actor.roles),
            action=action,
            target=self._redactor.redact(target or ""),
            parameters=self._redactor.redact_data(dict(parameters)),
            result=result,
            detail=self._redactor.redact(detail),
            correlation_id=correlation_id,
            conversation=conversation,
            origin=origin,
        )
        return await (await self.log()).append(entry)
