"""`vigil db migrate` and `vigil db status`."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

from bot.kernel.config import ConfigError, RawConfig
from bot.store import Store, StoreError, configured_url, mask_url, open_configured_store


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="database schema: migrate, status")
    commands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    migrate = commands.add_parser(
        "migrate", help="apply pending schema migrations (making the database if none is yet)"
    )
    migrate.set_defaults(func=run_migrate)
    status = commands.add_parser("status", help="show the database and pending migrations")
    status.set_defaults(func=run_status)


async def run_migrate(args: argparse.Namespace) -> int:
    # Migrating is asking for the database: like `vigil serve`, it makes a new one.
    done = await _with_store(args, lambda store: store.migrate(), create=True)
    if done is None:
        return 1
    url, _, applied = done
    print(f"database {mask_url(url)}")
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print("schema is current")
    return 0


async def run_status(args: argparse.Namespace) -> int:
    """Exit 0 when the schema is current, 1 when migrations are pending or the db is unreachable."""

    async def pending(store: Store) -> list[str]:
        await store.ping()
        return await store.pending_migrations()

    done = await _with_store(args, pending)
    if done is None:
        return 1
    url, dialect, names = done
    print(f"database {mask_url(url)} ({dialect})")
    if not names:
        print("schema is current")
        return 0
    for name in names:
        print(f"pending {name}")
    return 1


async def _with_store(
    args: argparse.Namespace,
    work: Callable[[Store], Awaitable[list[str]]],
    *,
    create: bool = False,
) -> tuple[str, str, list[str]] | None:
    """(url, dialect, what `work` gave) with the configured store, closed after; None when the
    configuration, the connection or the work failed (the error is printed)."""
    try:
        raw = RawConfig.load(getattr(args, "config", None))
        url = configured_url(raw)
        store = await open_configured_store(raw, create=create or getattr(args, "create", False))
    except (ConfigError, StoreError) as exc:
        print(f"error: {exc}")
        return None
    try:
        return url, store.dialect, await work(store)
    except StoreError as exc:
        print(f"error: {exc}")
        return None
    finally:
        await store.close()
