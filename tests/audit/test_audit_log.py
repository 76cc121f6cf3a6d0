"""The audit log on SQLite and PostgreSQL: chain, tamper detection, triggers, concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import sys
from pathlib import Path

import pytest

from bot.audit.log import GENESIS, AuditEntry, AuditLog, record_hash, record_mac
from bot.store import Store, open_store
from tests.audit.tamper import bypass_triggers

KEY = b"k" * 32
ROOT = Path(__file__).resolve().parents[2]


def _entry(i: int, **changes) -> AuditEntry:
    fields = dict(
        actor_id="aad-ada",
        actor_name="Ada",
        action="check-ip",
        actor_roles=("analyst", "admin"),
        target=f"203.0.113.{i}",
        parameters={"i": i, "note": "é ✓"},
        correlation_id=f"corr-{i}",
        conversation="19:c@thread.tacv2",
    )
    fields.update(changes)
    return AuditEntry(**fields)


async def _fill(log: AuditLog, n: int) -> None:
    for i in range(1, n + 1):
        await log.append(_entry(i))


async def test_append_links_records(store: Store) -> None:
    log = AuditLog(store, KEY)
    first = await log.append(_entry(1))
    second = await log.append(_entry(2, result="refused", detail="needs responder", origin="cli"))
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS and second.prev_hash == first.hash
    assert json.loads(first.actor_roles) == ["admin", "analyst"]
    assert json.loads(first.parameters) == {"i": 1, "note": "é ✓"}
    assert second.to_export()["result_detail"] == "needs responder"
    assert second.time_iso.endswith("+00:00")
    result = await log.verify()
    assert result.intact and result.records == 2 and result.head == second.hash
    assert result.summary() == f"intact, 2 records, head {second.hash}"


async def test_empty_log_is_intact(store: Store) -> None:
    result = await AuditLog(store, KEY).verify()
    assert result.summary() == f"intact, 0 records, head {GENESIS}"


async def test_concurrent_appends_form_one_chain(store: Store) -> None:
    log = AuditLog(store, KEY)
    records = await asyncio.gather(*(log.append(_entry(i)) for i in range(300)))
    assert sorted(r.seq for r in records) == list(range(1, 301))
    assert (await log.verify()).records == 300


async def test_two_logs_on_one_database_keep_one_chain(store_url: str, store: Store) -> None:
    # Each log appends after its own last record; when the other took that seq first, the
    # database refuses the record and the log chains it onto the stored head instead.
    other = await open_store(store_url)
    try:
        first, second = AuditLog(store, KEY), AuditLog(other, KEY)
        seqs = [(await log.append(_entry(i))).seq for i, log in enumerate([first, second] * 3)]
        assert seqs == [1, 2, 3, 4, 5, 6]
        both = await asyncio.gather(
            *(log.append(_entry(i)) for i in range(40) for log in (first, second))
        )
        assert sorted(record.seq for record in both) == list(range(7, 87))
        result = await first.verify()
        assert result.intact and result.records == 86
    finally:
        await other.close()


async def test_tail_and_export(store: Store) -> None:
    clock = iter([1000.0, 2000.0, 3000.0, 4000.0]).__next__
    log = AuditLog(store, KEY, clock=clock)
    await _fill(log, 4)
    assert [r.seq for r in await log.tail(2)] == [3, 4]
    assert await log.tail(0) == []
    assert [r.seq for r in await log.tail(-5)] == []
    got = [r.seq async for r in log.export(2000.0, 4000.0)]
    assert got == [2, 3]
    since = dt.datetime.fromtimestamp(3000, dt.UTC)
    assert [r.seq async for r in log.export(since=since)] == [3, 4]
    with pytest.raises(ValueError):
        [r async for r in log.export(since=dt.datetime(2024, 1, 1))]  # naive: ambiguous


@pytest.mark.parametrize(
    "changes",
    [
        {"action": ""},
        {"result": "maybe"},
        {"origin": "email"},
        {"parameters": {"x": object()}},
        {"parameters": {"x": float("nan")}},
        {"parameters": ["not", "a", "mapping"]},
        {"actor_id": None},
        {"target": 42},
    ],
)
async def test_malformed_entries_are_refused(store: Store, changes: dict) -> None:
    log = AuditLog(store, KEY)
    with pytest.raises(ValueError):
        await log.append(_entry(1, **changes))
    await log.append(_entry(2))  # the log still works
    assert (await log.verify()).records == 1


def test_key_is_required_and_never_shown(store: Store) -> None:
    with pytest.raises(ValueError):
        AuditLog(store, b"short")
    with pytest.raises(ValueError):
        AuditLog(store, "a string key of enough length")  # type: ignore[arg-type]
    assert "kkkk" not in repr(AuditLog(store, KEY))


async def test_database_refuses_update_and_delete(store: Store) -> None:
    log = AuditLog(store, KEY)
    await _fill(log, 2)
    for sql in ("UPDATE audit_log SET target = 'x' WHERE seq = 1", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            await store.execute(sql)
    if store.dialect == "postgresql":
        with pytest.raises(Exception, match="append-only"):
            await store.execute("TRUNCATE audit_log")
    assert (await log.verify()).records == 2


async def test_edited_field_is_detected(store: Store) -> None:
    log = AuditLog(store, KEY)
    await _fill(log, 5)
    await bypass_triggers(store)
    await store.execute("UPDATE audit_log SET actor_name = 'Mallory' WHERE seq = 3")
    result = await log.verify()
    assert (result.intact, result.broken_seq, result.reason, result.records) == (
        False,
        3,
        "edited",
        2,
    )
    assert result.summary().startswith("broken at record 3: edited")


async def test_edit_with_rebuilt_hash_fails_the_mac(store: Store) -> None:
    log = AuditLog(store, KEY)
    await _fill(log, 5)
    await bypass_triggers(store)
    row = await store.fetchone("SELECT * FROM audit_log WHERE seq = 3")
    row["result"] = "refused"
    await store.execute(
        "UPDATE audit_log SET result = ?, hash = ? WHERE seq = 3", "refused", record_hash(row)
    )
    result = await log.verify()
    assert (result.broken_seq, result.reason) == (3, "bad MAC")


async def test_deleted_row_is_detected(store: Store) -> None:
    log = AuditLog(store, KEY)
    await _fill(log, 5)
    await bypass_triggers(store)
    await store.execute("DELETE FROM audit_log WHERE seq = 3")
    result = await log.verify()
    assert (result.broken_seq, result.reason) == (4, "deleted")
    assert "record 3 is missing" in result.detail


async def test_deleted_and_renumbered_row_is_detected(store: Store) -> None:
    log = AuditLog(store, KEY)
    await _fill(log, 5)
    await bypass_triggers(store)
    await store.execute("DELETE FROM audit_log WHERE seq = 1")
    await store.execute("UPDATE audit_log SET seq = seq - 1")
    result = await log.verify()
    assert (result.broken_seq, result.reason) == (1, "deleted")


async def test_reordered_rows_are_detected(store: Store) -> None:
    log = AuditLog(store, KEY)
    await _fill(log, 5)
    await bypass_triggers(store)
    await store.execute("UPDATE audit_log SET seq = -1 WHERE seq = 3")
    await store.execute("UPDATE audit_log SET seq = 3 WHERE seq = 4")
    await store.execute("UPDATE audit_log SET seq = 4 WHERE seq = -1")
    result = await log.verify()
    assert (result.broken_seq, result.reason) == (3, "reordered")
    assert "follows record 4" in result.detail


async def test_wrong_key_is_detected(store: Store) -> None:
    await _fill(AuditLog(store, KEY), 3)
    result = await AuditLog(store, b"w" * 32).verify()
    assert (result.broken_seq, result.reason) == (1, "bad MAC")


async def test_chain_rebuilt_without_the_key_is_detected(store: Store) -> None:
    await _fill(AuditLog(store, KEY), 3)
    await bypass_triggers(store)
    prev = GENESIS
    for row in await store.fetchall("SELECT * FROM audit_log ORDER BY seq"):
        row["actor_name"], row["prev_hash"] = "Mallory", prev
        digest = record_hash(row)
        await store.execute(
            "UPDATE audit_log SET actor_name = ?, prev_hash = ?, hash = ?, mac = ? WHERE seq = ?",
            "Mallory",
            prev,
            digest,
            record_mac(b"m" * 32, digest),
            row["seq"],
        )
        prev = digest
    result = await AuditLog(store, KEY).verify()
    assert (result.broken_seq, result.reason) == (1, "bad MAC")


async def _workers(url: str, *tags: str, count: int) -> list[asyncio.subprocess.Process]:
    return [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.audit.worker",
            url,
            KEY.hex(),
            str(count),
            tag,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for tag in tags
    ]


async def test_two_processes_append_one_chain(store_url: str, store: Store) -> None:
    procs = await _workers(store_url, "a", "b", count=150)
    seqs: list[int] = []
    for proc in procs:
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        seqs += [int(line) for line in out.split()]
    assert sorted(seqs) == list(range(1, 301))  # no duplicate seq
    result = await AuditLog(store, KEY).verify()
    assert result.intact and result.records == 300  # no fork
    tags = await store.fetchall("SELECT parameters FROM audit_log")
    assert {json.loads(row["parameters"])["tag"] for row in tags} == {"a", "b"}


async def test_reported_appends_survive_kill_9(store_url: str, store: Store) -> None:
    (proc,) = await _workers(store_url, "k", count=100_000)
    reported: list[int] = []
    while len(reported) < 200:
        line = await proc.stdout.readline()
        assert line, (await proc.stderr.read()).decode()
        reported.append(int(line))
    proc.send_signal(signal.SIGKILL)
    rest, _ = await proc.communicate()
    reported += [int(line) for line in rest.split()]
    fresh = await open_store(store_url)
    try:
        stored = {row["seq"] for row in await fresh.fetchall("SELECT seq FROM audit_log")}
        assert set(reported) <= stored
        assert (await AuditLog(fresh, KEY).verify()).intact
    finally:
        await fresh.close()
