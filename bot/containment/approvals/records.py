"""Approval records: ids `AP-YYYYMMDD-NNNN`, their fields, and compare-and-set transitions.

Every change goes through `transition`, an UPDATE guarded by the row's `version` (and, when
asked, its state). Of any number of concurrent callers holding the same version, on any number
of instances, exactly one changes the row; the others get `StaleApproval` and re-read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from bot.containment.connector import Action
from bot.store import Store
from bot.store.daily_ids import DailyIds
from bot.store.table import Table


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

APPROVAL_IDS = DailyIds("AP", counter="approval", digits=4)
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
_TABLE = Table("approvals", _COLUMNS)
_SELECT = _TABLE.select
_IMMUTABLE = frozenset({"id", "version", "requested_at", "requester_id", "action", "target"})


def normalise_id(text: str) -> str | None:
    """`ap-20240502-7` style input as the canonical `AP-20240502-0007`, or None."""
    return APPROVAL_IDS.normalise(text)


async def create(store: Store, approval: Approval) -> Approval:
    """Store a new request; its id comes from the per-day counter (the given id is ignored)."""
    async with store.transaction() as tx:
        approval.id = (await APPROVAL_IDS.next(tx, approval.requested_at)).text
        approval.version = 1
        await _TABLE.insert(tx, _row(approval))
    return approval


async def get(store: Store, approval_id: str) -> Approval:
    return _approval(await _TABLE.get(store, approval_id, ApprovalNotFound))


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
