"""The contract between the approval workflow and the systems that carry out containment.

A connector (Defender for Endpoint, a signed SOAR webhook, a DNS RPZ file) takes plain data and
returns plain data; it never touches the store, the audit log or cards. The workflow records
what the connector reports (including its provenance) and decides what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Action(StrEnum):
    ISOLATE_ENDPOINT = "isolate_endpoint"
    BLOCK_DOMAIN = "block_domain"
    BLOCK_IP = "block_ip"
    BLOCK_URL = "block_url"
    BLOCK_HASH = "block_hash"

    @property
    def is_block(self) -> bool:
        return self is not Action.ISOLATE_ENDPOINT

    @property
    def command(self) -> str:
        """The chat command that asks for it: `isolate-endpoint`, `block-domain`, ..."""
        return self.value.replace("_", "-")


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # Sent (or maybe sent) and not final yet: keep polling, never send again.
    PENDING = "pending"
    # The connector could not tell (timeout, connection reset after sending): keep polling.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Request:
    """One approved containment action, as a connector needs it."""

    approval_id: str  # also the idempotency key sent to external systems
    action: Action
    target: str  # host name for isolation; the indicator value for blocks
    reason: str
    requester: str
    approvers: tuple[str, ...]
    incident_id: str = ""
    selective: bool = False  # isolation type Selective instead of Full
    expires_at: float | None = None  # when a block indicator lapses (epoch seconds)
    machine_id: str = ""  # Defender machine id when the lookup found one


@dataclass(frozen=True)
class Provenance:
    """Which credential did it: never a secret, only names and ids."""

    connector: str  # "mde", "soar", "rpz"
    scope: str = ""  # OAuth scope the token was asked for, "" when none
    credential_id: str = ""  # app id or managed identity client id, "" when none


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str  # one line a human reads on the card: "isolated (Full)", "403 Forbidden: ..."
    external_id: str = ""  # MachineAction id, indicator id, webhook receipt, RPZ record name
    http_status: int | None = None
    request_summary: dict[str, Any] = field(default_factory=dict)  # redacted request sent
    response_digest: str = ""  # sha256 hex of the response body
    provenance: Provenance | None = None


@dataclass(frozen=True)
class TargetInfo:
    """What a connector knows about a target before anyone approves (card evidence)."""

    found: bool
    target: str
    machine_id: str = ""
    facts: tuple[tuple[str, str], ...] = ()  # (title, value) rows for the approval card
    tags: tuple[str, ...] = ()  # machine tags, matched against crown-jewel patterns


class ConnectorError(Exception):
    """The connector cannot work at all (misconfigured, credential refused); says why."""


class Connector(Protocol):
    name: str

    def supports(self, action: Action) -> bool: ...

    async def describe(self, action: Action, target: str) -> TargetInfo:
        """Look the target up before the approval card is posted (unknown host -> found=False)."""
        ...

    async def execute(self, request: Request) -> Result:
        """Send the action once. A timeout answers UNKNOWN, never raises."""
        ...

    async def poll(self, request: Request, external_id: str) -> Result:
        """The current state of an action already sent."""
        ...

    async def find_sent(self, request: Request) -> Result | None:
        """After a crash: the action this approval already sent, or None if nothing was sent."""
        ...

    async def rollback(self, request: Request, external_id: str) -> Result:
        """The inverse action: unisolate, or delete the indicator / record."""
        ...

    async def find_rolled_back(self, request: Request) -> Result | None:
        """After a crash during a rollback: the inverse action already sent, or None."""
        ...

    async def check(self) -> str:
        """For `vigil doctor`: a one-line OK description, or raise ConnectorError."""
        ...
