"""The store port: portable SQL helpers, transactions, migrations and a few generic primitives."""

from __future__ import annotations

import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from bot.store import schema

# SQLite's historic limit on bound parameters is 999; stay well below it.
_IN_CHUNK = 500
_CLAIM_PURGE_EVERY = 300.0


class StoreError(Exception):
    """The store could not do what was asked (unreachable, misconfigured, bad schema)."""


class ConcurrencyError(StoreError):
    """An optimistic-concurrency check failed: the stored eTag differs from the one given."""


class _Queries(ABC):
    """The SQL helpers shared by a store and its transactions. Statements use `?` placeholders."""

    @abstractmethod
    async def execute(self, sql: str, *params: Any) -> int:
        """Run one statement; the number of rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters, atomically."""

    @abstractmethod
    async def fetchall(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        """All result rows as dicts keyed by column name."""

    async def fetchone(self, sql: str, *params: Any) -> dict[str, Any] | None:
        rows = await self.fetchall(sql, *params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *params: Any) -> Any:
        row = await self.fetchone(sql, *params)
        return None if row is None else next(iter(row.values()), None)

    async def next_counter(self, name: str) -> int:
        """The next value (1, 2, ...) of the counter `name`; distinct across processes."""
        value = await self.fetchval(
            "INSERT INTO counters (name, value) VALUES (?, 1)"
            " ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
            name,
        )
        return int(value)


class Transaction(_Queries):
    """A write transaction; committed when its context exits normally, rolled back otherwise."""

    @abstractmethod
    async def lock(self, name: str) -> None:
        """Take a transaction-scoped exclusive lock named `name` (across processes)."""

    @abstractmethod
    async def run_script(self, sql: str) -> None:
        """Run several `;`-separated statements without parameters (migrations)."""


class Store(_Queries):
    """A database: SQLite (embedded default) or PostgreSQL (several instances)."""

    dialect: str

    def __init__(self) -> None:
        self._last_claim_purge = 0.0

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreError when the database cannot be reached."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A serialised write transaction (BEGIN IMMEDIATE on SQLite, a normal one on PG)."""

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # Migrations

    async def migrate(self) -> list[str]:
        """Apply pending migrations under a lock; the names applied (empty when current)."""
        return await schema.migrate(self)

    async def pending_migrations(self) -> list[str]:
        return await schema.pending(self)

    # Key-value documents with eTags

    async def kv_read(self, namespace: str, keys: Sequence[str]) -> dict[str, tuple[dict, str]]:
        """The stored documents among `keys`: key -> (value, etag)."""
        found: dict[str, tuple[dict, str]] = {}
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = keys[start : start + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = await self.fetchall(
                f"SELECT key, value, etag FROM kv WHERE namespace = ? AND key IN ({marks})",  # noqa: S608 - only ? marks are interpolated
                namespace,
                *chunk,
            )
            for row in rows:
                found[row["key"]] = (json.loads(row["value"]), row["etag"])
        return found

    async def kv_write(self, namespace: str, key: str, value: dict, etag: str | None) -> str:
        """Write a document; with an etag other than None or "*" it must match the stored one."""
        text = json.dumps(value, separators=(",", ":"), sort_keys=True)
        new_etag = uuid.uuid4().hex
        now = time.time()
        if etag is None or etag == "*":
            await self.execute(
                "INSERT INTO kv (namespace, key, value, etag, updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,"
                " etag = excluded.etag, updated_at = excluded.updated_at",
                namespace,
                key,
                text,
                new_etag,
                now,
            )
            return new_etag
        changed = await self.execute(
            "UPDATE kv SET value = ?, etag = ?, updated_at = ?"
            " WHERE namespace = ? AND key = ? AND etag = ?",
            text,
            new_etag,
            now,
            namespace,
            key,
            etag,
        )
        if changed != 1:
            raise ConcurrencyError(f"etag mismatch writing {namespace}/{key}")
        return new_etag

    async def kv_delete(self, namespace: str, keys: Sequence[str]) -> None:
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = keys[start : start + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            await self.execute(
                f"DELETE FROM kv WHERE namespace = ? AND key IN ({marks})",  # noqa: S608 - only ? marks are interpolated
                namespace,
                *chunk,
            )

    # Dedupe

    async def claim_once(self, scope: str, key: str, ttl_seconds: float) -> bool:
        """True for the first claim of (scope, key) until it expires, across processes."""
        now = time.time()
        if now - self._last_claim_purge > _CLAIM_PURGE_EVERY:
            self._last_claim_purge = now
            await self.execute("DELETE FROM claims WHERE expires_at <= ?", now)
        changed = await self.execute(
            "INSERT INTO claims (scope, key, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (scope, key) DO UPDATE SET expires_at = excluded.expires_at"
            " WHERE claims.expires_at <= ?",
            scope,
            key,
            now + float(ttl_seconds),
            now,
        )
        return changed == 1
