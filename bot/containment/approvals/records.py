"""Approval records: ids `AP-YYYYMMDD-NNNN`, their fields, and compare-and-set transitions.

Every change goes through `transition`, an UPDATE guarded by the row's `version` (and, when
asked, its state). Of any number of concurrent callers holding the same version, on any number
of instances, exactly one changes the row; the others get `StaleApproval` and re-read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bot.containment.connector import Action
from bot.store import Store


class State(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # decided; execution not started (or lost in a crash)
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    EXECUTING = "executing"  # claimed by an instance; may have been sent
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({State.REJECTED, State.EXPIRED, State.CANCELLED, State.SUCCEEDED, State.FAILED})

APPROVAL_ID = re.compile(r"AP-(\d{8})-(\d{1,6})", re.IGNORECASE)
MAX_REASON = 1000


class ApprovalNotFound(LookupError):
    pass


class StaleApproval(Exception):
    """Someone else changed the approval first; re-read it and decide again."""


@dataclass
class Approval:
    id: str
    action: str
    target: str
    reason: str
    requester_id: str
    requester_name: str
    requested_at: float
    expires_at: float
    state: str = State.PENDING.value
    version: int = 1
    # selective, block_expires_at, internal, hash_type, machine_id, approver_role ...
    options: dict[str, Any] = field(default_factory=dict)
    incident_id: str = ""
    required_approvals: int = 1
    # [{"id": aad object id, "name": ..., "at": epoch}] in the order they approved
    approvals: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, str]] = field(default_factory=list)  # [{"title", "value"}]
    warnings: list[str] = field(default_factory=list)
    crown_jewel: bool = False
    decided_by_id: str = ""
    decided_by_name: str = ""
    decided_at: float | None = None
    decision_note: str = ""
    connector: str = ""
    external_id: str = ""
    lease_owner: str = ""
    lease_until: float | None = None
    send_started_at: float | None = None
    finished_at: float | None = None
    result: str = ""
    result_detail: dict[str, Any] = field(default_factory=dict)
    rollback_state: str = ""  # "", executing, succeeded, failed
    rollback_by_name: str = ""
    rollback_at: float | None = None
    rollback_result: str = ""
    lapse_at: float | None = None  # a succeeded block with --expires is removed at this time
    conversation_id: str = ""  # where the card was posted (the Messenger resolves it)
    activity_id: str = ""

    @property
    def kind(self) -> Action:
        return Action(self.action)

    @property
    def approver_ids(self) -> list[str]:
        return [entry["id"] for entry in self.approvals]


_COLUMNS = tuple(f.name for f in fields(Approval))
_JSON = frozenset({"options", "approvals", "evidence", "warnings", "result_detail"})
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM approvals"  # noqa: S608 - constant column names
_IMMUTABLE = frozenset({"id", "version", "requested_at", "requester_id", "action", "target"})


def day_of(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y%m%d")


def normalise_id(text: str) -> str | None:
    """`ap-20240502-7` style input as the canonical `AP-20240502-0007`, or None."""
    match = APPROVAL_ID.fullmatch(text.strip())
    if not match:
        return None
    return f"AP-{match[1]}-{int(match[2]):04d}"


async def create(store: Store, approval: Approval) -> Approval:
    """Store a new request; its id comes from the per-day counter (the given id is ignored)."""
    day = day_of(approval.requested_at)
    async with store.transaction() as tx:
        number = await tx.next_counter(f"approval:{day}")
        approval.id = f"AP-{day}-{number:04d}"
        approval.version = 1
        row = _row(approval)
        marks = ", ".join("?" * len(row))
        await tx.execute(
            f"INSERT INTO approvals ({', '.join(_COLUMNS)}) VALUES ({marks})",  # noqa: S608 - constant
            *row,
        )
    return approval


async def get(store: Store, approval_id: str) -> Approval:
    row = await store.fetchone(f"{_SELECT} WHERE id = ?", approval_id)
    if row is None:
        raise ApprovalNotFound(approval_id)
    return _approval(row)


async def listing(
    store: Store, *, states: tuple[State, ...] = (), limit: int = 20
) -> list[Approval]:
    """Newest first; only the given states when any are given."""
    where = ""
    if states:
        where = f" WHERE state IN ({', '.join('?' * len(states))})"
    rows = await store.fetchall(
        f"{_SELECT}{where} ORDER BY requested_at DESC, id DESC LIMIT ?",  # noqa: S608 - ? marks only
        *[s.value for s in states],
        limit,
    )
    return [_approval(row) for row in rows]


async def in_states(store: Store, states: tuple[State, ...], *, limit: int = 100) -> list[Approval]:
    """Oldest first: work for schedulers (expiry, execution recovery, polling)."""
    rows = await store.fetchall(
        f"{_SELECT} WHERE state IN ({', '.join('?' * len(states))})"  # noqa: S608 - ? marks only
        " ORDER BY requested_at, id LIMIT ?",
        *[s.value for s in states],
        limit,
    )
    return [_approval(row) for row in rows]


async def standing_blocks(store: Store, action: str, connector: str) -> list[Approval]:
    """Succeeded `action` blocks sent by `connector`, no rollback or lapse started; oldest first."""
    rows = await store.fetchall(
        f"{_SELECT} WHERE action = ? AND connector = ? AND state = ? AND rollback_state = ?"  # noqa: S608 - constant
        " ORDER BY requested_at, id",
        action,
        connector,
        State.SUCCEEDED.value,
        "",
    )
    return [_approval(row) for row in rows]


async def transition(
    store: Store,
    approval: Approval,
    *,
    expect_state: State | None = None,
    **changes: Any,
) -> Approval:
    """Apply `changes` if nobody changed the row since `approval` was read; the new record.

    Raises StaleApproval when another caller won (or the state is no longer `expect_state`).
    """
    bad = set(changes) & _IMMUTABLE | (set(changes) - set(_COLUMNS))
    if bad:
        raise ValueError(f"not changeable: {', '.join(sorted(bad))}")
    assignments = ", ".join([*(f"{name} = ?" for name in changes), "version = version + 1"])
    values = [_value(name, value) for name, value in changes.items()]
    guard = "id = ? AND version = ?"
    params: list[Any] = [approval.id, approval.version]
    if expect_state is not None:
        guard += " AND state = ?"
        params.append(expect_state.value)
    changed = await store.execute(
        f"UPDATE approvals SET {assignments} WHERE {guard}",  # noqa: S608 - names checked above
        *values,
        *params,
    )
    if changed != 1:
        raise StaleApproval(approval.id)
    updated = Approval(**{name: getattr(approval, name) for name in _COLUMNS})
    for name, value in changes.items():
        setattr(updated, name, _normal(name, value))
    updated.version = approval.version + 1
    return updated


def _value(name: str, value: Any) -> Any:
    if name in _JSON:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if name == "crown_jewel":
        return int(bool(value))
    if isinstance(value, StrEnum):
        return value.value
    return value


def _normal(name: str, value: Any) -> Any:
    if name == "crown_jewel":
        return bool(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


def _row(approval: Approval) -> list[Any]:
    return [_value(name, getattr(approval, name)) for name in _COLUMNS]


def _approval(row: dict[str, Any]) -> Approval:
    values = {name: row[name] for name in _COLUMNS}
    for name in _JSON:
        values[name] = json.loads(values[name])
    values["crown_jewel"] = bool(values["crown_jewel"])
    return Approval(**values)
