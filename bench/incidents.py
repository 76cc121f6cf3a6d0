"""Incident benchmarks: creations per second end to end (local channel, Graph fake, SQLite) against
`ping` in the same run, and timeline export of 10,000 entries against reading them.

    python bench/incidents.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.incidents import records, timeline  # noqa: E402
from bot.incidents.export import to_json, to_markdown  # noqa: E402
from bot.store import open_store  # noqa: E402
from tests.bot.harness import ADMIN, ANALYST, APP_ID, APP_PASSWORD, Harness  # noqa: E402
from tests.fakes.graph import GraphFake  # noqa: E402
from tests.incidents.conftest import SOC, _bundle, channel_registrar  # noqa: E402

ROUNDS = 20  # per user, under the per-user rate limit
ENTRIES = 10_000


async def _rate(harness: Harness, user, text: str) -> float:
    started = time.perf_counter()
    for n in range(ROUNDS):
        await harness.say(user, text.format(n=n), SOC)
    return ROUNDS / (time.perf_counter() - started)


async def end_to_end(directory: Path) -> None:
    graph = GraphFake(app_id=APP_ID, app_password=APP_PASSWORD, teams={SOC.team_aad_group_id})
    await graph.start(directory)
    harness = await Harness.start(f"sqlite:///{directory}/bench.db")
    try:
        harness.extra_env.update(
            {
                "VIGIL_CA_BUNDLE": str(_bundle(directory, harness.channel.ca_file, graph.ca_path)),
                "VIGIL_GRAPH_URL": graph.graph_url,
                "VIGIL_AAD_AUTHORITY": graph.authority,
                "VIGIL_INCIDENT_TEAM_ID": SOC.team_aad_group_id,
            }
        )
        await harness.restart_bot()
        graph.on_created = channel_registrar(harness)
        await harness.say(ANALYST, "ping", SOC)  # the team's conversation reference
        ping = await _rate(harness, ANALYST, "ping")
        created = await _rate(harness, ADMIN, 'create-incident high "Phishing wave {n}"')
    finally:
        await harness.close()
        await graph.stop()
    print(f"ping (baseline)            {ping:8.1f} msg/s")
    print(f"create-incident (+ Graph)  {created:8.1f} incidents/s  ({created / ping:.2f}x ping)")
    print(
        f"  channels created: {len(graph.created())}, name collisions answered: "
        f"{sum(1 for c in graph.calls if c.status in (400, 409))}"
    )


async def export(directory: Path) -> None:
    async with await open_store(f"sqlite:///{directory}/export.db") as store:
        await store.migrate()
        incident = await records.create(
            store,
            title="Export bench",
            severity=records.Severity.LOW,
            opened_by_id="b",
            opened_by_name="Bench",
        )
        await store.executemany(
            "INSERT INTO incident_timeline (incident_id, at, actor, kind, text)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (incident.id, 1.7e9 + n, "Bench", "note", f"entry {n} " + "x" * 80)
                for n in range(ENTRIES)
            ],
        )
        started = time.perf_counter()
        entries = await timeline.entries(store, incident.id)
        read = time.perf_counter() - started
        started = time.perf_counter()
        markdown = to_markdown(incident, entries)
        md = time.perf_counter() - started
        started = time.perf_counter()
        to_json(incident, entries)
        js = time.perf_counter() - started
    print(f"timeline read  {ENTRIES} entries   {read * 1000:8.1f} ms (baseline)")
    print(f"export md ({len(markdown) // 1024} KB)  {md * 1000:8.1f} ms ({md / read:.2f}x read)")
    print(f"export json                  {js * 1000:8.1f} ms ({js / read:.2f}x read)")


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        await end_to_end(Path(directory))
        await export(Path(directory))


if __name__ == "__main__":
    asyncio.run(main())
