"""Test-only ways around the append-only triggers, to simulate an attacker with database access."""

from __future__ import annotations

from bot.store import Store


async def bypass_triggers(store: Store) -> None:
    if store.dialect == "sqlite":
        await store.execute("DROP TRIGGER audit_log_no_update")
        await store.execute("DROP TRIGGER audit_log_no_delete")
    else:
        await store.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
