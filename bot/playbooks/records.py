"""Playbook runs (`PB-YYYYMMDD-NNN`, numbered in the store so instances never share one) and the
events their SOAR reports, one per (run, seq)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, fields
from typing import Any

from bot.store import Store
from bot.store.base import DuplicateKeyError
from bot.store.daily_ids import DailyIds
from bot.store.table import Table

RUN_IDS = DailyIds("PB", counter="playbook", digits=3)
# Run states: starting (card posted, webhook not answered yet), running, then one of the ends.
ENDED = frozenset({"failed", "finished", "cancelled"})
EVENT_STATUSES = ("started", "completed", "failed", "waiting", "finished", "cancelled")


class RunNotFound(LookupError):
    pass


class RunFinished(Exception):
    """An event for a run whose SOAR already reported `finished`."""


class RepeatedSeq(Exception):
    """The run already holds an event with this seq."""


@dataclass
class Run:
    id: str
    day: str
    number: int
    playbook: str
    inputs: dict[str, str]
    incident_id: str
    requested_by_id: str
    requested_by_name: str
    requested_at: float
    status: str = "starting"
    detail: str = ""
    finished_at: float | None = None
    card_conversation_id: str = ""
    card_activity_id: str = ""

    @property
    def is_open(self) -> bool:
        return self.status not in ENDED


@dataclass(frozen=True)
class Event:
    run_id: str
    seq: int
    step: str
    status: str
    output: str
    task: dict[str, Any]
    at: float


_RUN_COLUMNS = tuple(f.name for f in fields(Run))
_RUNS = Table("playbook_runs", _RUN_COLUMNS)
_EVENTS = Table("playbook_events", tuple(f.name for f in fields(Event)))


def normalise_id(text: str) -> str | None:
    """`pb-20240502-3` style input as the canonical `PB-20240502-003`, or None."""
    return RUN_IDS.normalise(text)


async def create(
    store: Store,
    *,
    playbook: str,
    inputs: dict[str, str],
    incident_id: str,
    requested_by_id: str,
    requested_by_name: str,
    now: float | None = None,
) -> Run:
    now = time.time() if now is None else now
    async with store.transaction() as tx:
        new_id = await RUN_IDS.next(tx, now)
        run = Run(
            id=new_id.text,
            day=new_id.day,
            number=new_id.number,
            playbook=playbook,
            inputs=dict(inputs),
            incident_id=incident_id,
            requested_by_id=requested_by_id,
            requested_by_name=requested_by_name,
            requested_at=now,
        )
        await _RUNS.insert(tx, [_value(name, getattr(run, name)) for name in _RUN_COLUMNS])
    return run


async def get(store: Store, run_id: str) -> Run:
    return _run(await _RUNS.get(store, run_id, RunNotFound))


async def recent(store: Store, *, open_only: bool = False, limit: int = 20) -> list[Run]:
    where = " WHERE status NOT IN ('failed', 'finished', 'cancelled')" if open_only else ""
    rows = await store.fetchall(
        f"{_RUNS.select}{where} ORDER BY requested_at DESC, number DESC LIMIT ?",  # noqa: S608 - constant
        limit,
    )
    return [_run(row) for row in rows]


async def set_state(store: Store, run_id: str, status: str, detail: str = "") -> None:
    ended = time.time() if status in ENDED else None
    await store.execute(
        "UPDATE playbook_runs SET status = ?, detail = ?, finished_at = ? WHERE id = ?",
        status,
        detail,
        ended,
        run_id,
    )


async def set_card(store: Store, run_id: str, conversation_id: str, activity_id: str) -> None:
    await store.execute(
        "UPDATE playbook_runs SET card_conversation_id = ?, card_activity_id = ? WHERE id = ?",
        conversation_id,
        activity_id,
        run_id,
    )


async def add_event(store: Store, event: Event) -> None:
    """Store one event; a `finished` or `cancelled` one ends the run, a `failed` one does not
    (a later step may recover). Raises RunFinished after `finished`, RepeatedSeq for a seq the
    run holds already (also when two instances store the same seq at once)."""
    try:
        async with store.transaction() as tx:
            status = await tx.fetchval(
                "SELECT status FROM playbook_runs WHERE id = ?", event.run_id
            )
            if status is None:
                raise RunNotFound(event.run_id)
            if status == "finished":
                raise RunFinished(event.run_id)
            held = "SELECT 1 FROM playbook_events WHERE run_id = ? AND seq = ?"
            if await tx.fetchval(held, event.run_id, event.seq) is not None:
                raise RepeatedSeq(event.run_id)
            await _EVENTS.insert(tx, _event_row(event))
            if event.status in ("finished", "cancelled"):
                await tx.execute(
                    "UPDATE playbook_runs SET status = ?, finished_at = ? WHERE id = ?",
                    event.status,
                    event.at,
                    event.run_id,
                )
            elif status == "starting":
                # An event can overtake the start's answer: the SOAR clearly has the run.
                await tx.execute(
                    "UPDATE playbook_runs SET status = 'running' WHERE id = ?", event.run_id
                )
    except DuplicateKeyError:
        raise RepeatedSeq(event.run_id) from None


async def events(store: Store, run_id: str) -> list[Event]:
    """The run's events in seq order, whatever order they arrived in."""
    rows = await store.fetchall(
        f"{_EVENTS.select} WHERE run_id = ? ORDER BY seq",  # noqa: S608 - constant
        run_id,
    )
    return [_event(row) for row in rows]


def _value(name: str, value: Any) -> Any:
    return json.dumps(value) if name == "inputs" else value


def _run(row: dict[str, Any]) -> Run:
    values = dict(row)
    values["inputs"] = json.loads(values["inputs"] or "{}")
    values["requested_at"] = float(values["requested_at"])
    values["number"] = int(values["number"])
    if values["finished_at"] is not None:
        values["finished_at"] = float(values["finished_at"])
    return Run(**values)


def _event_row(event: Event) -> list[Any]:
    return [
        event.run_id,
        event.seq,
        event.step,
        event.status,
        event.output,
        json.dumps(event.task),
        event.at,
    ]


def _event(row: dict[str, Any]) -> Event:
    return Event(
        run_id=row["run_id"],
        seq=int(row["seq"]),
        step=row["step"],
        status=row["status"],
        output=row["output"],
        task=json.loads(row["task"] or "{}"),
        at=float(row["at"]),
    )
