"""SQLite backend (aiosqlite): the embedded default, safe for several processes on one file.

WAL lets readers run beside one writer; busy_timeout makes writers from other processes wait
instead of failing. synchronous=FULL syncs the WAL to disk at every commit, so what a commit
acknowledged (an alert's 202, an audit record, an approval decision) survives a power loss or an
OS crash, not only kill -9. Group commit (alert ingest, audit appends) shares one sync among many
acknowledgements, which keeps the cost small; bench/audit.py and bench/alerts.py measure it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiosqlite

from bot.store.base import DuplicateKeyError, Store, StoreError, Transaction

BUSY_TIMEOUT_MS = 30_000
# NORMAL in WAL mode syncs only at checkpoints: a commit could sit in the OS page cache. Not a
# setting: the benchmarks alone set NORMAL here, to measure what durability costs.
SYNCHRONOUS = "FULL"
_WAL_RETRY_FIRST = 0.005
_WAL_RETRY_MAX = 0.2


def _split_script(sql: str) -> list[str]:
    """Split a script into complete statements (trigger bodies keep their inner `;`)."""
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer)
            buffer = ""
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        if not sqlite3.complete_statement(buffer + ";"):
            raise StoreError("migration script ends with an incomplete statement")
        statements.append(buffer)
    return statements


_DUPLICATE_KEY = (sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE)


@contextmanager
def _duplicate_key_as_store_error() -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if exc.sqlite_errorcode in _DUPLICATE_KEY:
            raise DuplicateKeyError(str(exc)) from exc
        raise


async def _fetchall(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> list[dict]:
    # One trip to aiosqlite's thread (execute + fetch + close) instead of three: each trip costs
    # the event loop a wake-up, and ingest and routing run several queries per batch.
    with _duplicate_key_as_store_error():
        rows = await conn.execute_fetchall(sql, params)
    return [dict(row) for row in rows]


async def _execute(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> int:
    with _duplicate_key_as_store_error():
        async with conn.execute(sql, params) as cursor:
            if cursor.description is not None:
                await cursor.fetchall()  # RETURNING: the statement completes only when read
            return max(cursor.rowcount, 0)


def _check_openable(path: str) -> None:
    sqlite3.connect(path).close()


async def _enable_wal(conn: aiosqlite.Connection) -> None:
    """Switch to WAL, retrying while another process is switching the same new file.

    The switch needs an exclusive lock. Two connections that both hold a shared lock and want it
    would deadlock, so SQLite answers one of them SQLITE_BUSY at once, without the busy handler;
    busy_timeout cannot help and the retry has to be ours.
    """
    deadline = asyncio.get_running_loop().time() + BUSY_TIMEOUT_MS / 1000
    delay = _WAL_RETRY_FIRST
    while True:
        try:
            async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
                await cursor.fetchall()
            return
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or asyncio.get_running_loop().time() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, _WAL_RETRY_MAX)


class SqliteTransaction(Transaction):
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *params: Any) -> int:
        return await _execute(self._conn, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with _duplicate_key_as_store_error():
            await self._conn.executemany(sql, rows)

    async def fetchall(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        return await _fetchall(self._conn, sql, params)

    async def lock(self, name: str) -> None:
        """No-op: BEGIN IMMEDIATE already serialises writers, across processes too."""

    async def run_script(self, sql: str) -> None:
        # executescript would COMMIT the open transaction first, so run statement by statement.
        for statement in _split_script(sql):
            await self._conn.execute(statement)


class SqliteStore(Store):
    """One connection per store; an asyncio lock keeps a transaction's statements together."""

    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        super().__init__()
        self._conn = conn
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str) -> SqliteStore:
        try:
            # When aiosqlite's connect fails it stops its worker thread without waiting, and the
            # thread later resolves a future on this loop ("Event loop is closed" once the loop
            # has ended). Opening the file once in a plain thread first keeps that path unused.
            await asyncio.to_thread(_check_openable, path)
            conn = await aiosqlite.connect(path, isolation_level=None)
            conn.row_factory = sqlite3.Row  # rows carry their column names (see _fetchall)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite database {path!r}: {exc}") from None
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await _enable_wal(conn)
            await conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
            await conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            await conn.close()
            raise StoreError(f"cannot open SQLite database {path!r}: {exc}") from None
        return cls(conn)

    async def close(self) -> None:
        await self._conn.close()
        # aiosqlite answers close() from its worker thread just before that thread ends; wait for
        # the end, so a closed store has no thread left (a stopping `vigil serve` exits at once).
        worker = getattr(self._conn, "_thread", None)
        if worker is not None and worker.is_alive():
            await asyncio.to_thread(worker.join, 5)

    async def ping(self) -> None:
        try:
            async with self._lock:
                await _fetchall(self._conn, "SELECT 1", ())
        except (sqlite3.Error, ValueError) as exc:
            raise StoreError(f"SQLite database unreachable: {exc}") from None

    async def execute(self, sql: str, *params: Any) -> int:
        async with self._lock:
            return await _execute(self._conn, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    async def fetchall(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        async with self._lock:
            return await _fetchall(self._conn, sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTransaction(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")
