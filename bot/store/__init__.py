"""The store port: one interface over SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from bot.store.base import ConcurrencyError, DuplicateKeyError, Store, StoreError, Transaction
from bot.store.configured import NoDatabase, configured_url, open_configured_store
from bot.store.url import DB_URL, StoreUrlError, mask_url, parse_store_url

__all__ = [
    "DB_URL",
    "ConcurrencyError",
    "DuplicateKeyError",
    "NoDatabase",
    "Store",
    "StoreError",
    "StoreUrlError",
    "Transaction",
    "configured_url",
    "mask_url",
    "open_configured_store",
    "open_store",
]


async def open_store(url: str) -> Store:
    """Open the database named by `url` (sqlite:///PATH, sqlite:///:memory:, postgresql://...).

    A PostgreSQL URL with `auth=entra` signs in with the managed identity's Entra token.
    """
    parsed = parse_store_url(url)
    if parsed.dialect == "sqlite":
        from bot.store.sqlite import SqliteStore

        return await SqliteStore.open(parsed.path)
    from bot.store.postgres import PostgresStore

    password = None
    if parsed.auth == "entra":
        from bot.store.entra import EntraPassword

        password = EntraPassword.for_identity(parsed.client_id, parsed.credential)
    return await PostgresStore.open(parsed.dsn, parsed.schema, mask_url(url), password)
