"""Audit log throughput: appends/s on SQLite and PostgreSQL, and verify records/s.

Baseline: one caller appending one record at a time (a commit per record). Measured: 64 callers
appending concurrently, which group commit writes in shared transactions; every append still
returns only after its transaction committed. Prints figures and ratios; never asserts.

Durability: SQLite runs first as it did before (synchronous=NORMAL in WAL mode: a commit may sit
in the OS page cache) and then as Vigil runs it (synchronous=FULL: every commit synced to disk),
in the same run, and the ratios say what being durable on disk costs.

    python bench/audit.py [--records 20000] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402

from bot.audit.log import AuditEntry, AuditLog  # noqa: E402
from bot.store import open_store  # noqa: E402
from bot.store import sqlite as sqlite_store  # noqa: E402

KEY = os.urandom(32)
# Databases go beside this script, on disk: /tmp may be tmpfs, where a sync costs nothing.
HERE = Path(__file__).resolve().parent
CALLERS = 64


def _entry(i: int) -> AuditEntry:
    return AuditEntry(
        "00000000-0000-0000-0000-000000000001",
        "Bench Analyst",
        "check-ip",
        ("analyst",),
        target=f"203.0.113.{i % 250}",
        parameters={"indicator": f"203.0.113.{i % 250}", "sources": ["vt", "abuseipdb"]},
        correlation_id=uuid.uuid4().hex,
        conversation="19:bench@thread.tacv2",
    )


async def sequential(log: AuditLog, count: int) -> float:
    start = time.perf_counter()
    for i in range(count):
        await log.append(_entry(i))
    return count / (time.perf_counter() - start)


async def concurrent(log: AuditLog, count: int) -> tuple[float, float]:
    """Appends per second with CALLERS concurrent callers, and the p99 append latency in ms."""
    numbers = iter(range(count))
    latencies: list[float] = []

    async def caller() -> None:
        for i in numbers:
            began = time.perf_counter()
            await log.append(_entry(i))
            latencies.append(time.perf_counter() - began)

    start = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(CALLERS)))
    rate = count / (time.perf_counter() - start)
    latencies.sort()
    return rate, latencies[int(len(latencies) * 0.99)] * 1000


async def verify_rate(log: AuditLog) -> tuple[float, int]:
    start = time.perf_counter()
    result = await log.verify()
    assert result.intact, result.summary()  # a broken chain would make the figure meaningless
    return result.records / (time.perf_counter() - start), result.records


async def run(name: str, url: str, records: int) -> tuple[float, float, float]:
    """Prints the figures; returns (appends/s 1 caller, appends/s grouped, p99 ms grouped)."""
    store = await open_store(url)
    try:
        await store.migrate()
        log = AuditLog(store, KEY)
        baseline_count = max(records // 10, 500)
        base = await sequential(log, baseline_count)
        grouped, p99 = await concurrent(log, records)
        checked, total = await verify_rate(log)
    finally:
        await store.close()
    print(f"{name}:")
    print(f"  appends/s, 1 caller (baseline)     {base:10,.0f}   ({baseline_count} records)")
    print(f"  appends/s, {CALLERS} callers (group commit) {grouped:9,.0f}   ({records} records)")
    print(f"  append p99, {CALLERS} callers            {p99:8.1f} ms")
    print(f"  ratio group commit / baseline      {grouped / base:10.1f}x")
    print(f"  verify records/s                   {checked:10,.0f}   ({total} records)")
    return base, grouped, p99


async def sqlite_durability(records: int) -> None:
    """The same appends with synchronous=NORMAL (before) and FULL (Vigil now), one run."""
    figures = {}
    for mode in ("NORMAL", "FULL"):
        sqlite_store.SYNCHRONOUS = mode
        with tempfile.TemporaryDirectory(dir=HERE) as tmp:
            name = f"SQLite (WAL, synchronous={mode})"
            figures[mode] = await run(name, f"sqlite:///{tmp}/bench.db", records)
    sqlite_store.SYNCHRONOUS = "FULL"
    (one_n, many_n, p99_n), (one_f, many_f, p99_f) = figures["NORMAL"], figures["FULL"]
    print("durable on disk (FULL) vs before (NORMAL), SQLite:")
    print(f"  appends/s, 1 caller         {one_f:9,.0f} vs {one_n:9,.0f}   {one_f / one_n:5.2f}x")
    print(
        f"  appends/s, {CALLERS} callers       {many_f:9,.0f} vs {many_n:9,.0f}"
        f"   {many_f / many_n:5.2f}x"
    )
    print(
        f"  p99 ms, {CALLERS} callers          {p99_f:9.1f} vs {p99_n:9.1f}   {p99_f / p99_n:5.2f}x"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument(
        "--pg",
        default=os.environ.get("VIGIL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    await sqlite_durability(args.records)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(args.pg)
    try:
        await run("PostgreSQL", f"{args.pg}?schema={schema}", args.records)
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()
    print("target: >= 5,000 appends/s on SQLite")


if __name__ == "__main__":
    asyncio.run(main())
