"""kill -9 in an alert storm: after a restart every acknowledged alert is on a delivered card."""

from __future__ import annotations

import asyncio

from bot.store import open_store
from tests.alerts.serve import (
    Serve,
    Storm,
    card_calls,
    install_in_channel,
    open_channel,
    serve_env,
    storm_alert,
    until_shown,
)
from tests.bot.rates import TEAMS_CONVERSATION_LIMITS, worst_window

GROUPS = 8
PER_GROUP = 40
SENDERS = 8


async def until(predicate, within: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


async def stored_per_group(db_url: str) -> tuple[set[str], dict[int, int]]:
    store = await open_store(db_url)
    try:
        rows = await store.fetchall("SELECT id, title FROM alerts WHERE source = 'generic'")
    finally:
        await store.close()
    counts: dict[int, int] = {}
    for row in rows:
        group = int(row["title"].removeprefix("Storm-"))
        counts[group] = counts.get(group, 0) + 1
    return {row["id"] for row in rows}, counts


async def test_kill_9_mid_storm_then_restart_loses_no_acknowledged_alert(store_url, tmp_path):
    channel = await open_channel()
    serve = Serve("vigil", serve_env(channel, store_url), tmp_path)
    try:
        await serve.start()
        await install_in_channel(channel, serve)
        alerts = [storm_alert(g, n) for n in range(PER_GROUP) for g in range(GROUPS)]
        storm = Storm()
        senders = asyncio.gather(
            *(storm.send([serve.url], alerts[s::SENDERS], 0.05) for s in range(SENDERS))
        )
        # Mid-storm: a third acknowledged, and cards already going out.
        await until(lambda: len(storm.acked) >= len(alerts) // 3 and len(card_calls(channel)) >= 3)
        serve.kill()
        acked_before_kill = len(storm.acked)
        await serve.start()
        await senders

        stored, per_group = await stored_per_group(store_url)
        assert set(storm.acked.values()) <= stored, "an acknowledged alert is not in the store"
        assert len(stored) == len(alerts)  # re-sends across the crash created nothing new
        expected = {g: PER_GROUP for g in range(GROUPS)}
        assert per_group == expected
        shown = await until_shown(channel, expected)
        assert shown.counts == expected, f"cards show {shown.counts}"
        duplicates = sum(shown.posts.values()) - GROUPS
        assert sorted(shown.posts) == list(range(GROUPS))
        # Only a kill between a post and its one-row record can post a card twice.
        assert duplicates <= 1
        # The paced calls: card posts and updates, across the restart (the pace is in the store).
        times = sorted(call.time for call in card_calls(channel))
        for span, limit in TEAMS_CONVERSATION_LIMITS:
            assert worst_window(times, span) <= limit
        print(
            f"\nkill -9 ({store_url.split(':')[0]}): {len(alerts)} alerts, {len(storm.acked)}"
            f" acknowledged ({acked_before_kill} before the kill), {len(stored)} stored, lost 0,"
            f" {len(card_calls(channel))} card calls, duplicate posts {duplicates},"
            f" peak {worst_window(times, 1.0)}/s"
        )
    finally:
        serve.kill()
        await channel.stop()
