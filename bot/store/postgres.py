"""PostgreSQL backend (asyncpg pool) for several Vigil instances sharing one database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from bot.store.base import Store, StoreError, Transaction
from bot.store.placeholders import to_numbered

POOL_MAX_SIZE = 10
CONNECT_TIMEOUT = 10.0


def _rowcount(status: str) -> int:
    """Rows changed from a command tag such as "INSERT 0 3" or "UPDATE 2"."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresTransaction(Transaction):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *params: Any) -> int:
        return _rowcount(await self._conn.execute(to_numbered(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(to_numbered(sql), list(rows))

    async def fetchall(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        return [dict(row) for row in await self._conn.fetch(to_numbered(sql), *params)]

    async def lock(self, name: str) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", name)

    async def run_script(self, sql: str) -> None:
        await self._conn.execute(sql)  # no parameters: the simple protocol runs many statements


class PostgresStore(Store):
    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__()
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str, schema: str | None, shown: str) -> PostgresStore:
        settings = {"search_path": schema} if schema else {}
        try:
            if schema:
                await _ensure_schema(dsn, schema)
            pool = await asyncpg.create_pool(
                dsn,
                min_size=1,
                max_size=POOL_MAX_SIZE,
                timeout=CONNECT_TIMEOUT,
                server_settings=settings,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {shown}: {exc}") from None
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def ping(self) -> None:
        try:
            await self._pool.fetchval("SELECT 1")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise StoreError(f"PostgreSQL unreachable: {exc}") from None

    async def execute(self, sql: str, *params: Any) -> int:
        return _rowcount(await self._pool.execute(to_numbered(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        # asyncpg's executemany runs in an implicit transaction: all rows or none.
        await self._pool.executemany(to_numbered(sql), list(rows))

    async def fetchall(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        return [dict(row) for row in await self._pool.fetch(to_numbered(sql), *params)]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield PostgresTransaction(conn)


async def _ensure_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    try:
        # The name is validated as a plain identifier by the URL parser.
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except (asyncpg.UniqueViolationError, asyncpg.DuplicateSchemaError):
        pass  # another process created it at the same moment
    finally:
        await conn.close()
