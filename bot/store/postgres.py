"""PostgreSQL backend (asyncpg pool) for several Vigil instances sharing one database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

import asyncpg

from bot.store.base import DuplicateKeyError, Store, StoreError, Transaction
from bot.store.placeholders import to_numbered

if TYPE_CHECKING:
    from bot.store.entra import EntraPassword

POOL_MAX_SIZE = 10
CONNECT_TIMEOUT = 10.0
_CONNECT_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


def _rowcount(status: str) -> int:
    """Rows changed from a command tag such as "INSERT 0 3" or "UPDATE 2"."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


@contextmanager
def _duplicate_key_as_store_error() -> Iterator[None]:
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateKeyError(str(exc)) from exc


class _AsyncpgQueries:
    """The store's SQL over whatever runs it: a transaction's connection or the store's pool
    (asyncpg answers the same calls on both)."""

    _runner: asyncpg.Connection | asyncpg.Pool

    async def execute(self, sql: str, *params: Any) -> int:
        with _duplicate_key_as_store_error():
            return _rowcount(await self._runner.execute(to_numbered(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        # On the pool, asyncpg's executemany runs in an implicit transaction: all rows or none.
        with _duplicate_key_as_store_error():
            await self._runner.executemany(to_numbered(sql), list(rows))

    async def fetchall(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        with _duplicate_key_as_store_error():
            return [dict(row) for row in await self._runner.fetch(to_numbered(sql), *params)]


class PostgresTransaction(_AsyncpgQueries, Transaction):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._runner = conn

    async def lock(self, name: str) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", name)

    async def run_script(self, sql: str) -> None:
        await self._conn.execute(sql)  # no parameters: the simple protocol runs many statements


class PostgresStore(_AsyncpgQueries, Store):
    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, password: EntraPassword | None = None) -> None:
        super().__init__()
        self._pool = pool
        self._runner = pool
        self._password = password

    @classmethod
    async def open(
        cls, dsn: str, schema: str | None, shown: str, password: EntraPassword | None = None
    ) -> PostgresStore:
        """Connect a pool; with `password` (Entra sign-in) each new connection asks it for one."""
        settings = {"search_path": schema} if schema else {}
        options: dict[str, Any] = {"timeout": CONNECT_TIMEOUT}
        if password is not None:
            options = {"password": password, "timeout": CONNECT_TIMEOUT + password.timeout}
        try:
            if schema:
                await _ensure_schema(dsn, schema, options)
            pool = await asyncpg.create_pool(
                dsn, min_size=1, max_size=POOL_MAX_SIZE, server_settings=settings, **options
            )
        except BaseException as exc:
            if password is not None:
                await password.close()
            if isinstance(exc, StoreError):
                raise  # the reason is already plain (no Entra token)
            if isinstance(exc, _CONNECT_ERRORS):
                raise StoreError(f"cannot connect to PostgreSQL at {shown}: {exc}") from None
            raise
        return cls(pool, password)

    async def close(self) -> None:
        await self._pool.close()
        if self._password is not None:
            await self._password.close()

    async def ping(self) -> None:
        try:
            await self._pool.fetchval("SELECT 1")
        except _CONNECT_ERRORS as exc:
            raise StoreError(f"PostgreSQL unreachable: {exc}") from None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield PostgresTransaction(conn)


async def _ensure_schema(dsn: str, schema: str, options: dict[str, Any]) -> None:
    conn = await asyncpg.connect(dsn, **options)
    try:
        # The name is validated as a plain identifier by the URL parser.
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except (asyncpg.UniqueViolationError, asyncpg.DuplicateSchemaError):
        pass  # another process created it at the same moment
    finally:
        await conn.close()
