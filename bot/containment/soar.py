"""A signed webhook to a SOAR or ticketing system: the action as JSON, signed like alert ingest
(X-Vigil-Signature `sha256=<HMAC over timestamp + "." + body>`, X-Vigil-Timestamp), with the
approval id as Idempotency-Key, so a retry or a re-send after a crash is one action for the
receiver. 5xx, 429 and timeouts are retried under the one retry policy.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.containment.connector import (
    Action,
    ConnectorError,
    Outcome,
    Provenance,
    Request,
    Result,
    TargetInfo,
)
from bot.containment.settings import SOAR_KEY_SECRET
from bot.kernel.http_body import json_or_none, read_capped
from bot.kernel.retry import RetryPolicy, Unanswered, with_retries
from bot.kernel.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.secrets.source import (
    CredentialRejected,
    Secret,
    SecretSource,
    SecretUnavailable,
    call_with_rotation,
)

if TYPE_CHECKING:
    from bot.containment.registry import Connectors

MAX_BODY = 64 * 1024
STATUSES = {"succeeded": Outcome.SUCCEEDED, "failed": Outcome.FAILED, "pending": Outcome.PENDING}
RECEIPT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Every 5xx is tried again, since the Idempotency-Key makes a repeat one action for the receiver;
# 412 is Teams' throttling signal, not a webhook's.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    digest: str
    retry_after: str = ""


class SoarConnector:
    name = "soar"

    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        secrets: SecretSource,
        *,
        timeout: float = 15.0,
        attempts: int = 4,
        max_backoff: float = 20.0,
        redact: Callable[[str], str] = lambda text: text,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.url = url
        self.secrets = secrets
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.policy = RetryPolicy(
            max_attempts=attempts, max_wait=max_backoff, first_backoff=0.5, statuses=RETRY_STATUSES
        )
        self.redact = redact
        self._sleep = sleep

    @classmethod
    def from_config(cls, connectors: Connectors) -> SoarConnector:
        settings = connectors.settings
        return cls(
            connectors.http,
            settings.soar_url,
            connectors.secrets,
            timeout=settings.soar_timeout,
            attempts=settings.soar_attempts,
            max_backoff=settings.soar_max_backoff,
            redact=connectors.redactor.redact,
        )

    @property
    def provenance(self) -> Provenance:
        return Provenance(connector=self.name, credential_id=f"secret {SOAR_KEY_SECRET}")

    def supports(self, action: Action) -> bool:
        return True

    async def describe(self, action: Action, target: str) -> TargetInfo:
        # The webhook has no lookup: the receiving system checks the target itself.
        return TargetInfo(found=True, target=target, facts=(("Carried out by", "SOAR webhook"),))

    async def execute(self, request: Request) -> Result:
        return await self._post(request, "execute", request.approval_id)

    async def poll(self, request: Request, external_id: str) -> Result:
        """The receiver's current answer: the same post again, which its idempotency key makes
        a status read rather than a second action."""
        return await self._post(request, "execute", request.approval_id)

    async def find_sent(self, request: Request) -> Result | None:
        # No status API to ask; a re-send is safe because the receiver de-duplicates by key.
        return None

    async def rollback(self, request: Request, external_id: str) -> Result:
        return await self._post(request, "rollback", f"{request.approval_id}:rollback", external_id)

    async def find_rolled_back(self, request: Request) -> Result | None:
        # Never asked: removing again is the same as removing once (the rollback is repeated).
        return None

    async def check(self) -> str:
        try:
            await self.secrets.get(SOAR_KEY_SECRET)
        except SecretUnavailable as exc:
            raise ConnectorError(f"soar: signing key unavailable: {exc}") from None
        return f"soar: signing key {SOAR_KEY_SECRET} present; webhook {self.url}"

    # --- sending -------------------------------------------------------------------------------

    async def _post(
        self, request: Request, kind: str, idempotency_key: str, external_id: str = ""
    ) -> Result:
        payload = self._payload(request, kind, external_id)
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        summary = {
            "method": "POST",
            "url": self.url,
            "idempotency_key": idempotency_key,
            "body": {**payload, "reason": self.redact(request.reason)},
        }
        try:
            answer = await call_with_rotation(
                self.secrets,
                SOAR_KEY_SECRET,
                lambda key: self._deliver(key, body, idempotency_key),
            )
        except SecretUnavailable as exc:
            return self._result(Outcome.FAILED, f"soar: signing key unavailable: {exc}", summary)
        except CredentialRejected as exc:
            return self._result(
                Outcome.FAILED, f"SOAR refused the signature ({exc.status})", summary
            )
        except Unanswered as exc:
            outcome = Outcome.UNKNOWN if exc.maybe_sent else Outcome.FAILED
            suffix = "; status unknown" if exc.maybe_sent else ""
            return self._result(outcome, f"{_unanswered(exc.error)}{suffix}", summary)
        return self._interpret(answer, summary)

    def _payload(self, request: Request, kind: str, external_id: str) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "approval_id": request.approval_id,
            "action": request.action.value,
            "target": request.target,
            "reason": request.reason,
            "requester": request.requester,
            "approvers": list(request.approvers),
            "incident_id": request.incident_id or None,
            "selective": request.selective,
            "expires_at": _iso(request.expires_at),
            "kind": kind,
        }
        if external_id:
            payload["external_id"] = external_id
        return payload

    async def _deliver(self, key: Secret, body: bytes, idempotency_key: str) -> Answer:
        """Post under the retry policy; CredentialRejected on 401/403 (rotation)."""
        answer = await with_retries(
            self.policy,
            lambda: self._send_once(key, body, idempotency_key),
            what="SOAR webhook",
            sleep=self._sleep,
        )
        if answer.status in (401, 403):
            raise CredentialRejected("SOAR webhook", answer.status)
        return answer

    async def _send_once(self, key: Secret, body: bytes, idempotency_key: str) -> Answer:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(key.reveal(), timestamp, body),
            TIMESTAMP_HEADER: timestamp,
            "Idempotency-Key": idempotency_key,
        }
        async with self.http.post(
            self.url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
        ) as response:
            raw = await read_capped(response, MAX_BODY)
            retry_after = response.headers.get("Retry-After", "")[:40]
            status = response.status
        parsed = json_or_none(raw) if len(raw) <= MAX_BODY else None
        return Answer(status, parsed, hashlib.sha256(raw).hexdigest(), retry_after)

    # --- answers -------------------------------------------------------------------------------

    def _interpret(self, answer: Answer, summary: dict[str, Any]) -> Result:
        if answer.status in self.policy.statuses:
            detail = f"SOAR webhook answered {answer.status} after {self.policy.max_attempts} tries"
            return self._result(Outcome.FAILED, detail, summary, answer)
        reported = answer.body if isinstance(answer.body, dict) else {}
        said = _said(reported.get("detail"))
        if not 200 <= answer.status < 300:
            detail = f"SOAR webhook refused it: {answer.status}" + (f" {said}" if said else "")
            return self._result(Outcome.FAILED, detail, summary, answer)
        receipt = reported.get("id")
        receipt = str(receipt) if isinstance(receipt, str | int) else ""
        receipt = receipt if RECEIPT_ID.fullmatch(receipt) else ""
        status = reported.get("status")
        status = status.strip().lower() if isinstance(status, str) else ""
        # A 2xx is the contract; a status the receiver adds only refines it.
        outcome = STATUSES.get(status, Outcome.SUCCEEDED)
        text = f"SOAR {status if status in STATUSES else 'accepted'}"
        if receipt:
            text += f" ({receipt})"
        if said:
            text += f": {said}"
        return self._result(outcome, text, summary, answer, receipt)

    def _result(
        self,
        outcome: Outcome,
        detail: str,
        summary: dict[str, Any],
        answer: Answer | None = None,
        external_id: str = "",
    ) -> Result:
        return Result(
            outcome,
            detail,
            external_id=external_id,
            http_status=answer.status if answer else None,
            request_summary=summary,
            response_digest=answer.digest if answer else "",
            provenance=self.provenance,
        )


def _unanswered(error: Exception) -> str:
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"cannot connect to the SOAR webhook: {error.os_error}"
    return f"no answer from the SOAR webhook ({type(error).__name__})"


def _said(value: Any) -> str:
    return " ".join(value.split())[:300] if isinstance(value, str) else ""


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
