"""Alerts in the store: idempotent insert (source + source id), reads for commands and routing."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from bot.alerts.model import MAX_RAW_BYTES, Alert, Entity, Severity, Status
from bot.store import Store, Transaction

# routed: 0 waits for the router, 1 routed, 2 dropped or snoozed by a rule, 3 no channel found,
# 4 recorded only (a resolved alert with no card to update, on a route that does not post those),
# 5 routing it failed (`vigil alerts replay` sends it through again).
UNROUTED, ROUTED, DROPPED, NO_CHANNEL, RECORDED, FAILED = 0, 1, 2, 3, 4, 5
_COLUMNS = (
    "id, source, source_id, title, rule, category, severity, status, first_seen, last_seen,"
    " entities, description, link, warnings, raw, received_at, routed, route, group_id, producer"
)
_ROUTING_COLUMNS = _COLUMNS.replace(" raw,", " '' AS raw,")


@dataclass(frozen=True)
class Stored:
    id: str
    outcome: str  # created | duplicate | updated
    alert: Alert


def new_id() -> str:
    return "al-" + uuid.uuid4().hex[:16]


def raw_text(raw: Any) -> str:
    """The body as JSON, cut (and marked) at MAX_RAW_BYTES so a huge post cannot bloat the db."""
    text = json.dumps(raw, separators=(",", ":"), ensure_ascii=False, default=str)
    if len(text.encode()) <= MAX_RAW_BYTES:
        return text
    cut = text.encode()[: MAX_RAW_BYTES - 200].decode(errors="ignore")
    return json.dumps({"truncated": True, "prefix": cut})


def producer_text(alert: Alert) -> str:
    """The `producer` column: what the sender said beyond the common shape."""
    data: dict[str, Any] = {}
    if alert.labels:
        data["labels"] = alert.labels
    if alert.group:
        data["group"] = alert.group
    if alert.severity_word:
        data["severity"] = alert.severity_word
    if alert.truncated:
        data["truncated"] = alert.truncated
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def from_row(row: dict[str, Any]) -> Alert:
    producer = json.loads(row.get("producer") or "{}")
    return Alert(
        id=row["id"],
        source=row["source"],
        source_id=row["source_id"],
        title=row["title"],
        rule=row["rule"],
        category=row["category"],
        severity=Severity(row["severity"]),
        status=Status(row["status"]),
        first_seen=float(row["first_seen"]),
        last_seen=float(row["last_seen"]),
        entities=[Entity(kind, value) for kind, value in json.loads(row["entities"])],
        description=row["description"],
        link=row["link"],
        warnings=json.loads(row["warnings"]),
        raw=row["raw"],
        labels=producer.get("labels", {}),
        group=producer.get("group", ""),
        severity_word=producer.get("severity", ""),
        truncated=int(producer.get("truncated", 0)),
    )


async def get(store: Store | Transaction, alert_id: str) -> tuple[Alert, dict[str, Any]] | None:
    """The alert and its routing columns (routed, route, group_id, received_at)."""
    row = await store.fetchone(f"SELECT {_COLUMNS} FROM alerts WHERE id = ?", alert_id)  # noqa: S608 - constant
    return None if row is None else (from_row(row), row)


async def recent(store: Store, limit: int) -> list[tuple[Alert, dict[str, Any]]]:
    rows = await store.fetchall(
        f"SELECT {_COLUMNS} FROM alerts ORDER BY received_at DESC LIMIT ?",  # noqa: S608 - constant
        limit,
    )
    return [(from_row(row), row) for row in rows]


async def unrouted(
    tx: Transaction, limit: int, alert_id: str | None = None
) -> list[tuple[Alert, dict[str, Any]]]:
    """The oldest alerts waiting for the router (only `alert_id` when given), with their routing
    columns (not the raw body, which routing never reads: it is the largest column)."""
    only = "" if alert_id is None else " AND id = ?"
    rows = await tx.fetchall(
        f"SELECT {_ROUTING_COLUMNS} FROM alerts WHERE routed = 0{only}"  # noqa: S608 - constant
        " ORDER BY received_at LIMIT ?",
        *([] if alert_id is None else [alert_id]),
        limit,
    )
    return [(from_row(row), row) for row in rows]


async def unrouted_ids(store: Store, limit: int) -> list[str]:
    """The ids of the oldest alerts waiting for the router, nothing else of them read."""
    rows = await store.fetchall(
        "SELECT id FROM alerts WHERE routed = 0 ORDER BY received_at LIMIT ?", limit
    )
    return [row["id"] for row in rows]


async def routing_failed(store: Store, alert_id: str) -> None:
    """Take an alert whose routing raised out of the queue, so it cannot hold up the rest."""
    await store.execute(
        "UPDATE alerts SET routed = ? WHERE id = ? AND routed = 0", FAILED, alert_id
    )


async def requeue(store: Store, alert_id: str) -> bool:
    """Send an alert through routing again (`vigil alerts replay`)."""
    return await store.execute("UPDATE alerts SET routed = 0 WHERE id = ?", alert_id) == 1


async def on_card(store: Store, group_id: str, limit: int) -> list[Alert]:
    """The alerts on one card, oldest first, without their raw bodies; the newest `limit`."""
    rows = await store.fetchall(
        f"SELECT {_ROUTING_COLUMNS} FROM alerts WHERE group_id = ?"  # noqa: S608 - constant
        " ORDER BY received_at DESC, id DESC LIMIT ?",
        group_id,
        limit,
    )
    return [from_row(row) for row in reversed(rows)]
