"""Every commit an acknowledgement depends on (alert ingest, audit appends, approval decisions)
reaches the disk before it returns: a power loss or an OS crash keeps what was acknowledged."""

from __future__ import annotations

from bot.store import Store

SQLITE_FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


async def test_commits_wait_for_the_disk(store: Store) -> None:
    if store.dialect == "sqlite":
        # In WAL mode NORMAL syncs only at checkpoints: a commit lives in the OS page cache.
        assert await store.fetchval("PRAGMA journal_mode") == "wal"
        assert await store.fetchval("PRAGMA synchronous") == SQLITE_FULL
    else:
        # PostgreSQL's default: COMMIT returns once the WAL record is flushed.
        assert await store.fetchval("SHOW synchronous_commit") == "on"
        assert await store.fetchval("SHOW fsync") == "on"
