"""`vigil db migrate` and `vigil db status`."""

from __future__ import annotations

import argparse

from bot.config import ConfigError, RawConfig
from bot.store import DB_URL, StoreError, mask_url, open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="database schema: migrate, status")
    commands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    migrate = commands.add_parser("migrate", help="apply pending schema migrations")
    migrate.set_defaults(func=run_migrate)
    status = commands.add_parser("status", help="show the database and pending migrations")
    status.set_defaults(func=run_status)


def _db_url(args: argparse.Namespace) -> str:
    return RawConfig.load(getattr(args, "config", None)).get(DB_URL)


async def run_migrate(args: argparse.Namespace) -> int:
    try:
        url = _db_url(args)
        store = await open_store(url)
    except (ConfigError, StoreError) as exc:
        print(f"error: {exc}")
        return 1
    try:
        applied = await store.migrate()
    except StoreError as exc:
        print(f"error: {exc}")
        return 1
    finally:
        await store.close()
    print(f"database {mask_url(url)}")
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print("schema is current")
    return 0


async def run_status(args: argparse.Namespace) -> int:
    """Exit 0 when the schema is current, 1 when migrations are pending or the db is unreachable."""
    try:
        url = _db_url(args)
        store = await open_store(url)
    except (ConfigError, StoreError) as exc:
        print(f"error: {exc}")
        return 1
    try:
        await store.ping()
        pending = await store.pending_migrations()
    except StoreError as exc:
        print(f"error: {exc}")
        return 1
    finally:
        await store.close()
    print(f"database {mask_url(url)} ({store.dialect})")
    if not pending:
        print("schema is current")
        return 0
    for name in pending:
        print(f"pending {name}")
    return 1
