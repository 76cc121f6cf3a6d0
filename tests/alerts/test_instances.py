"""Two instances on one PostgreSQL: no outbox item is posted twice, and pacing is shared."""

from __future__ import annotations

import asyncio
import time

from bot.alerts import outbox
from bot.store import Store, open_store
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
from tests.bot.rates import TEAMS_BOT_LIMIT, TEAMS_CONVERSATION_LIMITS, worst_window

GROUPS = 64
PER_GROUP = 2


async def due_cards(store: Store, count: int) -> set[str]:
    now = time.time()
    ids = {f"ag-test-{n:04d}" for n in range(count)}
    for group_id in sorted(ids):
        await store.execute(
            "INSERT INTO alert_groups (id, conversation_id, group_key, kind, route, opened_at,"
            " last_seen, count, latest_alert_id, status, summary, mentions, version,"
            " delivered_version, state, next_attempt_at)"
            " VALUES (?, '19:x@thread.tacv2', ?, 'card', 'default', ?, ?, 1, 'al-x', 'firing',"
            " '{}', '[]', 1, 0, 'pending', ?)",
            group_id,
            group_id,
            now,
            now,
            now - 1,
        )
    return ids


async def test_concurrent_claims_on_postgresql_never_share_a_card(pg_url):
    stores = [await open_store(pg_url) for _ in range(4)]
    await stores[0].migrate()
    try:
        ids = await due_cards(stores[0], 120)
        claims = await asyncio.gather(
            *(outbox.claim(store, f"owner-{n}", 40) for n, store in enumerate(stores))
        )
        claimed = [{row["id"] for row in rows} for rows in claims]
        assert sum(len(c) for c in claimed) == len(set().union(*claimed)) == 120
        assert set().union(*claimed) == ids
        # A held lease keeps the card from everyone else until it runs out.
        assert await outbox.claim(stores[1], "late", 200) == []
    finally:
        for store in stores:
            await store.close()


async def test_a_lease_taken_over_cannot_be_used_by_its_old_owner(pg_url):
    first, second = await open_store(pg_url), await open_store(pg_url)
    await first.migrate()
    try:
        (card,) = await due_cards(first, 1)
        assert [row["id"] for row in await outbox.claim(first, "old", 10)] == [card]
        assert await outbox.hold(first, card, "old")
        # The old owner stalls past its lease (no heartbeat): another instance takes the card.
        await first.execute("UPDATE alert_groups SET lease_until = ? WHERE id = ?", 1.0, card)
        assert [row["id"] for row in await outbox.claim(second, "new", 10)] == [card]
        assert not await outbox.hold(first, card, "old")
        await outbox.renew(first, "old", [card])
        assert await outbox.hold(second, card, "new")
        # The old owner's late post is still recorded, so the new owner updates it instead.
        await outbox.posted(first, card, "msg-1")
        await outbox.posted(second, card, "msg-2")
        assert (await outbox.current(second, card))["activity_id"] == "msg-1"
    finally:
        await first.close()
        await second.close()


async def test_two_serve_processes_on_postgresql_post_each_card_once(pg_url, tmp_path):
    channel = await open_channel()
    env = serve_env(channel, pg_url)
    serves = [Serve("a", env, tmp_path), Serve("b", env, tmp_path)]
    try:
        await asyncio.gather(*(serve.start() for serve in serves))
        await install_in_channel(channel, serves[0])
        alerts = [storm_alert(g, n) for g in range(GROUPS) for n in range(PER_GROUP)]
        storm = Storm()
        urls = [serve.url for serve in serves]
        await asyncio.gather(*(storm.send(urls, alerts[s::8], 0.0) for s in range(8)))
        assert len(storm.acked) == len(alerts)

        expected = {g: PER_GROUP for g in range(GROUPS)}
        shown = await until_shown(channel, expected)
        assert shown.counts == expected, f"cards show {shown.counts}"
        assert shown.posts == {g: 1 for g in range(GROUPS)}, "a card was posted twice"
        for serve in serves:
            serve.stop()  # a graceful stop: every log line is written
        by_a, by_b = (set(serve.posted_cards()) for serve in serves)
        tails = "\n".join(f"--- {s.name}\n{s.logs()[-4000:]}" for s in serves)
        assert by_a and by_b, f"both instances deliver (a {len(by_a)}, b {len(by_b)})\n{tails}"
        assert not by_a & by_b
        assert len(by_a | by_b) == GROUPS

        times = sorted(call.time for call in card_calls(channel))
        for span, limit in TEAMS_CONVERSATION_LIMITS:
            assert worst_window(times, span) <= limit
        assert worst_window(times, 1.0) < TEAMS_BOT_LIMIT
        print(
            f"\n2 instances (postgresql): {len(alerts)} alerts, {len(storm.acked)} acknowledged,"
            f" {GROUPS} cards, posts {sum(shown.posts.values())} (a {len(by_a)}, b {len(by_b)}),"
            f" {len(times)} card calls, peak {worst_window(times, 1.0)}/s and"
            f" {worst_window(times, 30.0)}/30 s"
        )
    finally:
        for serve in serves:
            serve.stop()
        await channel.stop()
