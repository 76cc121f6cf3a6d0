"""Schema migrations: SQL files in bot/store/migrations/, applied in version order under a lock.

Files are `NNNN_name.sql` (portable) or `NNNN_name.sqlite.sql` plus `NNNN_name.postgresql.sql`.
Version ranges per area: core 0001-0009, audit 0010-0019, intel 0020-0029, incidents 0030-0039,
approvals 0040-0049, alerts 0050-0059, summaries 0060-0069.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.store.base import Store, Transaction

_FILE = re.compile(
    r"(?P<version>\d{4})_(?P<name>[a-z0-9_]+?)(?:\.(?P<dialect>sqlite|postgresql))?\.sql"
)
_CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
)


class MigrationError(Exception):
    """The migration files are inconsistent (duplicate version, missing dialect variant)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # "0001_core"
    sql: str


def available(dialect: str) -> list[Migration]:
    """The migrations for `dialect`, in version order."""
    by_version: dict[int, Migration] = {}
    other_dialect: set[int] = set()
    for entry in resources.files("bot.store").joinpath("migrations").iterdir():
        match = _FILE.fullmatch(entry.name)
        if not match:
            continue
        version = int(match["version"])
        if match["dialect"] and match["dialect"] != dialect:
            other_dialect.add(version)
            continue
        migration = Migration(version, f"{match['version']}_{match['name']}", entry.read_text())
        if version in by_version:
            raise MigrationError(f"two migrations with version {version:04d}")
        by_version[version] = migration
    missing = other_dialect - by_version.keys()
    if missing:
        raise MigrationError(f"migration {min(missing):04d} has no {dialect} variant")
    return [by_version[v] for v in sorted(by_version)]


async def _applied(queries: Store | Transaction) -> set[int]:
    rows = await queries.fetchall("SELECT version FROM schema_migrations")
    return {int(row["version"]) for row in rows}


async def pending(store: Store) -> list[str]:
    """Names of migrations not yet applied."""
    migrations = available(store.dialect)
    try:
        done = await _applied(store)
    except Exception as exc:  # the table does not exist before the first migrate
        if not _is_missing_table(exc):
            raise
        done = set()
    return [m.name for m in migrations if m.version not in done]


def _is_missing_table(exc: Exception) -> bool:
    text = str(exc).lower()
    return "no such table" in text or "does not exist" in text


async def migrate(store: Store) -> list[str]:
    """Apply pending migrations in one transaction, serialised across processes."""
    migrations = available(store.dialect)
    applied: list[str] = []
    async with store.transaction() as tx:
        if store.dialect == "postgresql":
            # Advisory locks are per database; the schema name keeps test schemas independent.
            await tx.lock("vigil.migrate:" + str(await tx.fetchval("SELECT current_schema()")))
        await tx.run_script(_CREATE_TABLE)
        done = await _applied(tx)
        for migration in migrations:
            if migration.version in done:
                continue
            await tx.run_script(migration.sql)
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                migration.version,
                migration.name,
                time.time(),
            )
            applied.append(migration.name)
    return applied
