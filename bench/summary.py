"""Executive summary draft: build_draft for an incident with 10,000 timeline entries (mixed kinds)
against, in the same run, reading its whole timeline and drafting for a 10-entry incident.

    python bench/summary.py              # SQLite
    python bench/summary.py --postgres   # also the local PostgreSQL (127.0.0.1:5432, db test)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.incidents import records, timeline  # noqa: E402
from bot.store import Store, open_store  # noqa: E402
from bot.summaries.draft import build_draft  # noqa: E402
from bot.summaries.presentation import card_data  # noqa: E402
from bot.summaries.settings import RolePolicy  # noqa: E402

ENTRIES = 10_000
RUNS = 50
TARGET_MS = 200.0
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
# One of each kind the draft reads or skips, repeated: mostly chatter, like a real timeline.
KINDS = (
    ("note", "analyst chatter about WS-FIN-{n:04d} and 10.1.{m}.{k}"),
    ("command", "check-ip 198.51.100.{k}"),
    ("containment", "containment requested: Isolate endpoint WS-FIN-{n:04d} (APR-{n})"),
    ("containment", "Isolate endpoint WS-FIN-{n:04d} (APR-{n}): approved by Apu Approver"),
    ("containment", "executing isolate-endpoint WS-FIN-{n:04d}"),
    ("containment", "isolate-endpoint WS-FIN-{n:04d} succeeded: isolated"),
    ("note", "done: reset the password of user {n}"),
    ("note", "next: image WS-FIN-{n:04d}"),
    ("status", "Status triage → investigating"),
    ("note", "impact: {n} workstations affected"),
    ("note", "more chatter " + "x" * 120),
    ("summary", "Executive summary posted by Cam: ..."),
)
POLICY = RolePolicy(roles=(("ws-fin-*", "a finance workstation"),))


async def _incident(store: Store, entries: int) -> str:
    incident = await records.create(
        store, title="Bench", severity=records.Severity.HIGH, opened_by_id="b", opened_by_name="B"
    )
    rows = []
    for n in range(entries):
        kind, text = KINDS[n % len(KINDS)]
        rows.append((incident.id, 1.7e9 + n, "Bench", kind, text.format(n=n, m=n % 250, k=n % 200)))
    await store.executemany(
        "INSERT INTO incident_timeline (incident_id, at, actor, kind, text) VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    return incident.id


async def _times(call, runs: int = RUNS) -> list[float]:
    await call()  # warm caches and prepared statements
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        found.append((time.perf_counter() - started) * 1000)
    return found


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(url: str, label: str) -> None:
    async with await open_store(url) as store:
        await store.migrate()
        big = await _incident(store, ENTRIES)
        small = await _incident(store, 10)

        async def draft_big():
            card_data(await build_draft(store, big), POLICY)

        async def draft_small():
            card_data(await build_draft(store, small), POLICY)

        async def read_all():
            await timeline.entries(store, big)

        drafts = await _times(draft_big)
        reads = await _times(read_all, max(5, RUNS // 5))
        smalls = await _times(draft_small)
    p50, p99 = statistics.median(drafts), _p(drafts, 0.99)
    read, small_p50 = statistics.median(reads), statistics.median(smalls)
    print(f"[{label}] {ENTRIES} timeline entries, {RUNS} runs")
    print(f"  read whole timeline (baseline)   p50 {read:8.1f} ms")
    print(f"  draft, 10-entry incident         p50 {small_p50:8.1f} ms")
    print(
        f"  draft, {ENTRIES}-entry incident      p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  "
        f"({p50 / read:.2f}x read, {p50 / small_p50:.1f}x small draft)"
    )
    met = "met" if p99 < TARGET_MS else "NOT met"
    print(f"  target p99 < {TARGET_MS:.0f} ms: {met}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        await measure(f"sqlite:///{directory}/summary.db", "SQLite")
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = await open_store(PG_URL)
        try:
            await admin.execute(f'CREATE SCHEMA "{schema}"')
            await measure(f"{PG_URL}?schema={schema}", "PostgreSQL")
        finally:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
