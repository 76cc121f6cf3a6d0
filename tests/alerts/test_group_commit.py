"""Group commit under concurrency: batches in flight at once (PostgreSQL) store each alert once,
never deadlock, and a post that loses an insert race with another status still lands."""

from __future__ import annotations

import asyncio
import random

from bot.alerts.group_commit import IN_FLIGHT, GroupCommit, save_batch
from bot.alerts.model import Alert, Status
from bot.alerts.normalise import normalise
from bot.store import open_store


def alerts(*ids: str, status: str = "firing") -> list[Alert]:
    body = [
        {"id": alert_id, "title": f"Beacon {alert_id}", "severity": "high", "status": status}
        for alert_id in ids
    ]
    found = normalise("generic", body)
    assert all(isinstance(item, Alert) for item in found), found
    return found  # type: ignore[return-value]


async def test_concurrent_posts_store_each_alert_once_and_agree_on_its_id(store):
    commit = GroupCommit(store)
    assert commit._in_flight == IN_FLIGHT[store.dialect]
    rng = random.Random(5)
    keys = [f"k-{n}" for n in range(12)]
    # 64 posts of 3 alerts each, overlapping in every order: the worst case for lock order.
    posts = [rng.sample(keys, 3) for _ in range(64)]
    answers = await asyncio.gather(*(commit.save(alerts(*post)) for post in posts))

    ids: dict[str, set[str]] = {}
    for post, stored in zip(posts, answers, strict=True):
        for key, item in zip(post, stored, strict=True):
            ids.setdefault(key, set()).add(item.id)
    assert all(len(found) == 1 for found in ids.values()), ids
    rows = await store.fetchall("SELECT source_id, id FROM alerts")
    assert {row["source_id"]: {row["id"]} for row in rows} == ids
    outcomes = [item.outcome for stored in answers for item in stored]
    assert outcomes.count("created") == len(keys)


async def test_claims_taken_by_concurrent_batches_are_each_granted_once(store):
    commit = GroupCommit(store)
    claim = ("alerts.replay", "generic:sha256=abc", 600.0)
    results = await asyncio.gather(
        *(commit.save(alerts(f"r-{n}"), claim) for n in range(8)), return_exceptions=True
    )
    granted = [r for r in results if isinstance(r, list)]
    assert len(granted) == 1, results
    assert await store.fetchval("SELECT COUNT(*) FROM alerts") == 1


async def test_a_post_that_loses_the_insert_race_with_another_status_restates_it(pg_url):
    first, second = await open_store(pg_url), await open_store(pg_url)
    await first.migrate()
    try:
        # Instance A inserts the alert (firing) and holds its transaction open.
        held = asyncio.Event()
        release = asyncio.Event()

        async def instance_a() -> None:
            async with first.transaction() as tx:
                await tx.execute(
                    "INSERT INTO alerts (id, source, source_id, title, rule, category, severity,"
                    " status, first_seen, last_seen, entities, description, link, warnings, raw,"
                    " received_at, routed) VALUES ('al-a', 'generic', 'race-1', 't', 't', '',"
                    " 'high', 'firing', 1, 1, '[]', '', '', '[]', '{}', 1, 1)"
                )
                held.set()
                await release.wait()

        a = asyncio.create_task(instance_a())
        await held.wait()
        # Instance B sees nothing yet, inserts the resolved alert and waits on A's row lock.
        b = asyncio.create_task(save_batch(second, [(alerts("race-1", status="resolved"), None)]))
        for _ in range(200):
            waiting = await first.fetchval("SELECT COUNT(*) FROM pg_locks WHERE NOT granted")
            if waiting:
                break
            await asyncio.sleep(0.05)
        assert waiting, "B never waited on A's row"
        release.set()
        await a
        [[stored]] = await b

        assert stored.id == "al-a" and stored.outcome == "updated"
        row = await first.fetchone("SELECT status, routed FROM alerts WHERE id = 'al-a'")
        assert row["status"] == Status.RESOLVED.value and row["routed"] == 0
    finally:
        await first.close()
        await second.close()
