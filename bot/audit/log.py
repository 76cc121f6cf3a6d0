"""The tamper-evident audit log: a hash chain with an HMAC per record, append-only in the store.

hash = SHA-256 over the canonical JSON of a record's fields, prev_hash included, so an edit breaks
the record and a deletion or reordering breaks the link to the next one. mac = HMAC-SHA256 of the
hash under a key the database never sees, so write access alone cannot rebuild the chain. seq is
the record's position: verify checks it against the chain, which is the authority on order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.store import DuplicateKeyError, Store

GENESIS = "0" * 64
RESULTS = ("ok", "refused", "error")
ORIGINS = ("teams", "cli", "webhook", "scheduler")
BATCH_MAX = 500  # records in one INSERT: 8,000 parameters, within SQLite's and asyncpg's limits
# Appends that lost the race for the next seq to another writer, retried with a fresh head
# before giving up. Each lost race means another writer's append went in.
ATTEMPTS = 50
PAGE = 1000

_FIELDS = (
    "time",
    "actor_id",
    "actor_name",
    "actor_roles",
    "action",
    "target",
    "parameters",
    "result",
    "result_detail",
    "correlation_id",
    "conversation",
    "origin",
    "prev_hash",
)
# Every stored column, in order: what a record holds and what an export writes.
RECORD_COLUMNS = ("seq", *_FIELDS, "hash", "mac")
_COLUMNS = ", ".join(RECORD_COLUMNS)
_INSERT = f"INSERT INTO audit_log ({_COLUMNS}) VALUES "  # noqa: S608 - constant
_ROW_MARKS = f"({', '.join('?' * len(RECORD_COLUMNS))})"


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


@dataclass(frozen=True)
class AuditEntry:
    """What happened, as the caller reports it. `parameters` must already be redacted."""

    actor_id: str
    actor_name: str
    action: str
    actor_roles: Sequence[str] = ()
    target: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    result: str = "ok"
    detail: str = ""
    correlation_id: str = ""
    conversation: str = ""
    origin: str = "teams"

    def columns(self) -> dict[str, str]:
        """The stored text columns, validated; raises ValueError for a malformed entry."""
        if not self.action or not isinstance(self.action, str):
            raise ValueError("an audit entry needs an action")
        if self.result not in RESULTS:
            raise ValueError(f"audit result must be one of {', '.join(RESULTS)}")
        if self.origin not in ORIGINS:
            raise ValueError(f"audit origin must be one of {', '.join(ORIGINS)}")
        if not isinstance(self.parameters, Mapping):
            raise ValueError("audit parameters must be a mapping")
        try:
            parameters = canonical_json(dict(self.parameters))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"audit parameters are not JSON data: {exc}") from None
        texts = {
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "target": self.target,
            "result_detail": self.detail,
            "correlation_id": self.correlation_id,
            "conversation": self.conversation,
        }
        for name, value in texts.items():
            if not isinstance(value, str):
                raise ValueError(f"audit {name} must be a string")
        return {
            **texts,
            "actor_roles": canonical_json(sorted(str(role) for role in self.actor_roles)),
            "action": self.action,
            "parameters": parameters,
            "result": self.result,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class AuditRecord:
    """One stored record, exactly as hashed."""

    seq: int
    time: float
    actor_id: str
    actor_name: str
    actor_roles: str  # canonical JSON list
    action: str
    target: str
    parameters: str  # canonical JSON object
    result: str
    result_detail: str
    correlation_id: str
    conversation: str
    origin: str
    prev_hash: str
    hash: str
    mac: str

    @property
    def time_iso(self) -> str:
        return dt.datetime.fromtimestamp(self.time, dt.UTC).isoformat(timespec="microseconds")

    def to_export(self) -> dict[str, Any]:
        """A flat dict for SIEM export: ISO time, JSON fields decoded."""
        return {
            "seq": self.seq,
            "time": self.time_iso,
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "actor_roles": json.loads(self.actor_roles),
            "action": self.action,
            "target": self.target,
            "parameters": json.loads(self.parameters),
            "result": self.result,
            "result_detail": self.result_detail,
            "correlation_id": self.correlation_id,
            "conversation": self.conversation,
            "origin": self.origin,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "mac": self.mac,
        }


def record_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the hashed fields (prev_hash included, seq not)."""
    content = {name: fields[name] for name in _FIELDS}
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def record_mac(key: bytes, digest: str) -> str:
    return hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    intact: bool
    records: int  # records checked and found good
    head: str  # hash of the last good record (GENESIS when empty)
    broken_seq: int | None = None
    reason: str | None = None  # "edited" | "deleted" | "reordered" | "bad MAC"
    detail: str = ""

    def summary(self) -> str:
        if self.intact:
            return f"intact, {self.records} records, head {self.head}"
        return f"broken at record {self.broken_seq}: {self.reason} ({self.detail})"


def _record(row: Mapping[str, Any]) -> AuditRecord:
    return AuditRecord(**{name: row[name] for name in RECORD_COLUMNS})


def _epoch(value: float | dt.datetime | None, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("audit export times must be timezone-aware")
        return value.timestamp()
    return float(value)


class AuditLog:
    """Append, verify, tail and export the audit chain in `store`.

    Concurrent appends are written together in one INSERT (group commit); `append` returns only
    after the statement holding its record committed, so a reported append is durable. A batch
    the database refuses is written again record by record: a poisoned record fails only itself.

    Appends are optimistic: the next seq follows this log's own last append, and the primary key
    on seq refuses a record at a position another writer (instance, CLI) took first. The whole
    INSERT is then undone and the batch is chained again onto the stored head. So the chain
    stays one line across processes, and an append costs one statement, not a locked
    transaction with a read of the head.
    """

    def __init__(
        self, store: Store, hmac_key: bytes, clock: Callable[[], float] = time.time
    ) -> None:
        if not isinstance(hmac_key, bytes) or len(hmac_key) < 16:
            raise ValueError("the audit HMAC key must be at least 16 bytes")
        self._store = store
        self._key = hmac_key
        self._clock = clock
        self._pending: list[tuple[dict[str, str], asyncio.Future[AuditRecord]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._head: tuple[int, str] | None = None  # (seq, hash) this log last appended

    def __repr__(self) -> str:
        return f"AuditLog({self._store.dialect})"  # never the key

    async def append(self, entry: AuditEntry) -> AuditRecord:
        """Append `entry`; returns the committed record. Raises ValueError for a malformed entry."""
        columns = entry.columns()
        done: asyncio.Future[AuditRecord] = asyncio.get_running_loop().create_future()
        self._pending.append((columns, done))
        if self._writer is None or self._writer.done():
            # A task of its own, so a cancelled caller never strands the others' batch.
            self._writer = asyncio.get_running_loop().create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[:BATCH_MAX]
            del self._pending[:BATCH_MAX]
            try:
                records = await self._write([columns for columns, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0][1], exc)
                else:
                    await self._one_by_one(batch)
                continue
            for (_, done), record in zip(batch, records, strict=True):
                if not done.done():
                    done.set_result(record)

    async def _one_by_one(
        self, batch: list[tuple[dict[str, str], asyncio.Future[AuditRecord]]]
    ) -> None:
        """Each append of a failed batch written on its own, so a record the database refuses
        fails alone and the others commit. Nothing of the failed INSERT was stored and the head
        moves only after a commit, so each is chained onto the last one that went in."""
        for columns, done in batch:
            try:
                [record] = await self._write([columns])
            except Exception as exc:
                _fail(done, exc)
                continue
            if not done.done():
                done.set_result(record)

    async def _write(self, batch: list[dict[str, str]]) -> list[AuditRecord]:
        for _ in range(ATTEMPTS):
            head = self._head or await self._stored_head()
            records = self._chain(batch, head)
            params = [getattr(r, name) for r in records for name in RECORD_COLUMNS]
            try:
                await self._store.execute(_INSERT + ", ".join([_ROW_MARKS] * len(records)), *params)
            except DuplicateKeyError:
                self._head = None  # another writer appended since: chain onto theirs
                continue
            self._head = (records[-1].seq, records[-1].hash)
            return records
        raise AuditWriteError(f"lost the race for the next record {ATTEMPTS} times")

    async def _stored_head(self) -> tuple[int, str]:
        head = await self._store.fetchone(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
        )
        return (int(head["seq"]), head["hash"]) if head else (0, GENESIS)

    def _chain(self, batch: list[dict[str, str]], head: tuple[int, str]) -> list[AuditRecord]:
        seq, prev = head
        now = self._clock()
        records = []
        for columns in batch:
            seq += 1
            fields = {**columns, "time": now, "prev_hash": prev}
            digest = record_hash(fields)
            records.append(
                AuditRecord(seq=seq, hash=digest, mac=record_mac(self._key, digest), **fields)
            )
            prev = digest
        return records

    async def verify(self) -> VerifyResult:
        """Walk the chain from the first record; stop at the first broken one and say why."""
        expected_seq, expected_prev, good = 1, GENESIS, 0
        async for record in _pages(self._store):
            problem = await self._check(record, expected_seq, expected_prev)
            if problem:
                reason, detail = problem
                return VerifyResult(False, good, expected_prev, record.seq, reason, detail)
            expected_seq, expected_prev, good = record.seq + 1, record.hash, good + 1
        return VerifyResult(True, good, expected_prev)

    async def _check(
        self, record: AuditRecord, expected_seq: int, expected_prev: str
    ) -> tuple[str, str] | None:
        fields = {name: getattr(record, name) for name in _FIELDS}
        if record_hash(fields) != record.hash:
            return "edited", "its content does not match its hash"
        if not hmac.compare_digest(record_mac(self._key, record.hash), record.mac):
            return "bad MAC", "its HMAC does not match (rebuilt without the key, or wrong key)"
        if record.prev_hash != expected_prev:
            where = await self._store.fetchval(
                "SELECT seq FROM audit_log WHERE hash = ?", record.prev_hash
            )
            if where is not None:
                return (
                    "reordered",
                    f"it follows record {where} in the chain, not record {expected_seq - 1}",
                )
            if record.seq != expected_seq:
                missing = (
                    f"{expected_seq}"
                    if record.seq == expected_seq + 1
                    else f"{expected_seq}-{record.seq - 1}"
                )
                return "deleted", f"record {missing} is missing before it"
            return "deleted", "the record it follows is missing"
        if record.seq != expected_seq:
            return "edited", f"its seq should be {expected_seq}"
        return None

    async def tail(self, n: int) -> list[AuditRecord]:
        """The last `n` records, oldest first."""
        return await tail(self._store, n)

    def export(
        self, since: float | dt.datetime | None = None, until: float | dt.datetime | None = None
    ) -> AsyncIterator[AuditRecord]:
        """Records with since <= time < until (epoch seconds or aware datetimes), in seq order."""
        return export(self._store, since, until)


async def _pages(store: Store, where: str = "", *params: Any) -> AsyncIterator[AuditRecord]:
    after = 0
    while True:
        rows = await store.fetchall(
            f"SELECT {_COLUMNS} FROM audit_log WHERE seq > ? {where}"  # noqa: S608 - constant
            f" ORDER BY seq LIMIT {PAGE}",
            after,
            *params,
        )
        for row in rows:
            yield _record(row)
        if len(rows) < PAGE:
            return
        after = int(rows[-1]["seq"])


async def tail(store: Store, n: int) -> list[AuditRecord]:
    """The last `n` records (at most 10,000), oldest first; reading needs no key."""
    n = max(0, min(int(n), 10_000))
    rows = await store.fetchall(
        f"SELECT {_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT {n}"  # noqa: S608 - int
    )
    return [_record(row) for row in reversed(rows)]


async def export(
    store: Store, since: float | dt.datetime | None = None, until: float | dt.datetime | None = None
) -> AsyncIterator[AuditRecord]:
    """Records with since <= time < until, in seq order; reading needs no key."""
    low, high = _epoch(since, float("-inf")), _epoch(until, float("inf"))
    async for record in _pages(store, "AND time >= ? AND time < ?", low, high):
        yield record


class AuditWriteError(Exception):
    """An append could not be committed; the record was not written."""


def _fail(done: asyncio.Future[AuditRecord], exc: Exception) -> None:
    if not done.done():
        done.set_exception(AuditWriteError(f"audit append failed: {exc}"))
