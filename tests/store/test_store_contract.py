"""The store contract, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from bot.store import ConcurrencyError, DuplicateKeyError, Store, open_store
from bot.store.schema import available
from tests.store.processes import run_workers


async def _table(store: Store) -> None:
    await store.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT, score REAL)")


async def test_sql_helpers(store: Store) -> None:
    await _table(store)
    assert await store.execute("INSERT INTO things VALUES (?, ?, ?)", 1, "one", 1.5) == 1
    await store.executemany("INSERT INTO things VALUES (?, ?, ?)", [(2, "two", 2.0), (3, "x", 0.0)])
    assert await store.execute("UPDATE things SET score = ? WHERE id > ?", 9.0, 1) == 2
    assert await store.fetchone("SELECT name, score FROM things WHERE id = ?", 2) == {
        "name": "two",
        "score": 9.0,
    }
    assert await store.fetchone("SELECT name FROM things WHERE id = ?", 99) is None
    rows = await store.fetchall("SELECT id FROM things ORDER BY id")
    assert rows == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert await store.fetchval("SELECT COUNT(*) FROM things") == 3
    assert await store.fetchval("SELECT name FROM things WHERE id = ?", 42) is None
    assert await store.execute("DELETE FROM things WHERE id = ?", 3) == 1


async def test_question_marks_inside_quotes_are_data(store: Store) -> None:
    await _table(store)
    await store.execute("INSERT INTO things VALUES (?, 'what?', ?)", 1, 1.0)
    row = await store.fetchone(
        "SELECT name, '?' AS q, 'it''s ?' AS r FROM things /* ? */ WHERE id = ? -- ?\n", 1
    )
    assert row == {"name": "what?", "q": "?", "r": "it's ?"}


async def test_hostile_values_are_bound_not_interpolated(store: Store) -> None:
    await _table(store)
    evil = "x'); DROP TABLE things; --"
    await store.execute("INSERT INTO things VALUES (?, ?, ?)", 1, evil, 0.0)
    assert await store.fetchval("SELECT name FROM things WHERE id = ?", 1) == evil
    assert await store.fetchval("SELECT COUNT(*) FROM things WHERE name = ?", "?") == 0


async def test_transaction_commits(store: Store) -> None:
    await _table(store)
    async with store.transaction() as tx:
        await tx.execute("INSERT INTO things VALUES (?, ?, ?)", 1, "a", 0.0)
        await tx.executemany("INSERT INTO things VALUES (?, ?, ?)", [(2, "b", 0.0)])
        assert await tx.fetchval("SELECT COUNT(*) FROM things") == 2
        await tx.lock("things")
    assert await store.fetchval("SELECT COUNT(*) FROM things") == 2


async def test_transaction_rolls_back_on_error(store: Store) -> None:
    await _table(store)
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.execute("INSERT INTO things VALUES (?, ?, ?)", 1, "a", 0.0)
            raise RuntimeError("boom")
    with pytest.raises(Exception):  # noqa: B017 - driver-specific integrity error
        async with store.transaction() as tx:
            await tx.execute("INSERT INTO things VALUES (?, ?, ?)", 2, "b", 0.0)
            await tx.execute("INSERT INTO things VALUES (?, ?, ?)", 2, "dup", 0.0)
    assert await store.fetchval("SELECT COUNT(*) FROM things") == 0
    # The store is still usable afterwards.
    await store.execute("INSERT INTO things VALUES (?, ?, ?)", 3, "c", 0.0)
    assert await store.fetchval("SELECT COUNT(*) FROM things") == 1


async def test_executemany_is_atomic(store: Store) -> None:
    await _table(store)
    with pytest.raises(Exception):  # noqa: B017 - driver-specific integrity error
        await store.executemany("INSERT INTO things VALUES (?, ?, ?)", [(1, "a", 0.0), (1, "b", 0)])
    assert await store.fetchval("SELECT COUNT(*) FROM things") == 0


async def test_concurrent_transactions_serialise(store: Store) -> None:
    await _table(store)
    await store.execute("INSERT INTO things VALUES (1, 'n', 0)")

    async def bump() -> None:
        async with store.transaction() as tx:
            await tx.lock("bump")
            value = await tx.fetchval("SELECT score FROM things WHERE id = 1")
            await asyncio.sleep(0)
            await tx.execute("UPDATE things SET score = ? WHERE id = 1", value + 1)

    await asyncio.gather(*(bump() for _ in range(20)))
    assert await store.fetchval("SELECT score FROM things WHERE id = 1") == 20


async def test_kv_etags(store: Store) -> None:
    assert await store.kv_read("ns", ["a"]) == {}
    etag1 = await store.kv_write("ns", "a", {"n": 1}, None)
    assert await store.kv_read("ns", ["a", "missing"]) == {"a": ({"n": 1}, etag1)}
    etag2 = await store.kv_write("ns", "a", {"n": 2}, etag1)
    assert etag2 != etag1
    with pytest.raises(ConcurrencyError):
        await store.kv_write("ns", "a", {"n": 3}, etag1)
    with pytest.raises(ConcurrencyError):
        await store.kv_write("ns", "never-written", {"n": 3}, "some-etag")
    etag3 = await store.kv_write("ns", "a", {"n": 4}, "*")
    assert (await store.kv_read("ns", ["a"]))["a"] == ({"n": 4}, etag3)
    assert await store.kv_read("other", ["a"]) == {}
    await store.kv_delete("ns", ["a", "missing"])
    assert await store.kv_read("ns", ["a"]) == {}


async def test_kv_conflict_between_two_store_objects(store_url: str, store: Store) -> None:
    other = await open_store(store_url)
    try:
        etag = await store.kv_write("ns", "k", {"v": 0}, None)
        (_, seen) = (await other.kv_read("ns", ["k"]))["k"]
        await store.kv_write("ns", "k", {"v": 1}, etag)
        with pytest.raises(ConcurrencyError):
            await other.kv_write("ns", "k", {"v": 2}, seen)
    finally:
        await other.close()


async def test_kv_hostile_keys_and_many_keys(store: Store) -> None:
    keys = ["", "'", "a'b\"c", "ключ", "x" * 2000, "?", "$1", "%s"] + [f"k{i}" for i in range(700)]
    for key in keys[:8]:
        await store.kv_write("ns", key, {"key": key, "nested": {"list": [1, None, "é"]}}, None)
    await store.executemany(
        "INSERT INTO kv (namespace, key, value, etag, updated_at) VALUES (?, ?, ?, ?, ?)",
        [("ns", key, "{}", "e", 0.0) for key in keys[8:]],
    )
    found = await store.kv_read("ns", keys)
    assert set(found) == set(keys)
    assert found["a'b\"c"][0]["key"] == "a'b\"c"
    await store.kv_delete("ns", keys)
    assert await store.kv_read("ns", keys) == {}


async def test_claim_once(store_url: str, store: Store) -> None:
    assert await store.claim_once("activity", "a1", 60) is True
    assert await store.claim_once("activity", "a1", 60) is False
    assert await store.claim_once("other-scope", "a1", 60) is True
    other = await open_store(store_url)
    try:
        assert await other.claim_once("activity", "a1", 60) is False
        assert await other.claim_once("activity", "a2", 60) is True
    finally:
        await other.close()


async def test_duplicate_key_is_one_error_on_both_backends(store: Store) -> None:
    await _table(store)
    await store.execute("INSERT INTO things (id, name) VALUES (?, ?)", 1, "one")
    with pytest.raises(DuplicateKeyError):
        # A multi-row INSERT is all or nothing: row 2 is not kept when row 1 collides.
        await store.execute("INSERT INTO things (id, name) VALUES (?, ?), (?, ?)", 2, "b", 1, "a")
    with pytest.raises(DuplicateKeyError):
        async with store.transaction() as tx:
            await tx.execute("INSERT INTO things (id, name) VALUES (?, ?)", 1, "again")
    with pytest.raises(DuplicateKeyError):
        await store.fetchall("INSERT INTO things (id) VALUES (?) RETURNING id", 1)
    rows = await store.fetchall("SELECT id, name FROM things")
    assert rows == [{"id": 1, "name": "one"}]


async def test_expired_claim_can_be_claimed_again(store: Store) -> None:
    assert await store.claim_once("s", "k", 0) is True
    assert await store.claim_once("s", "k", 60) is True  # the first claim had expired
    assert await store.claim_once("s", "k", 60) is False


async def test_claim_once_across_processes(store_url: str, store: Store) -> None:
    keys = [f"activity-{i}" for i in range(20)]
    first, second = await run_workers(
        "tests.store.worker",
        [store_url, "claim", "dedupe", *keys],
        [store_url, "claim", "dedupe", *keys],
    )
    wins = [a + b for a, b in zip(first, second, strict=True)]
    assert wins == [1] * 20  # each key claimed exactly once


async def test_next_counter(store: Store) -> None:
    assert [await store.next_counter("inc") for _ in range(3)] == [1, 2, 3]
    assert await store.next_counter("other") == 1


async def test_next_counter_across_processes(store_url: str, store: Store) -> None:
    first, second = await run_workers(
        "tests.store.worker", [store_url, "counter", "n", "25"], [store_url, "counter", "n", "25"]
    )
    assert sorted(first + second) == list(range(1, 51))


async def test_migrate_is_idempotent(store: Store) -> None:
    assert await store.migrate() == []
    assert await store.pending_migrations() == []
    names = await store.fetchall("SELECT name FROM schema_migrations ORDER BY version")
    assert [row["name"] for row in names] == [m.name for m in available(store.dialect)]


async def test_migrations_race_between_processes(store_url: str) -> None:
    first, second = await run_workers(
        "tests.store.worker", [store_url, "migrate"], [store_url, "migrate"]
    )
    expected = [m.name for m in available("sqlite" if "sqlite" in store_url else "postgresql")]
    assert sorted(first + second) == sorted(expected)  # each applied exactly once
    store = await open_store(store_url)
    try:
        assert await store.pending_migrations() == []
    finally:
        await store.close()


async def test_migrations_race_in_one_process(store_url: str) -> None:
    stores = [await open_store(store_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(s.migrate() for s in stores))
        assert sum(len(applied) for applied in results) == len(available(stores[0].dialect))
    finally:
        for s in stores:
            await s.close()


async def test_pending_before_migrate(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        await store.ping()
        assert await store.pending_migrations() == [m.name for m in available(store.dialect)]
    finally:
        await store.close()
