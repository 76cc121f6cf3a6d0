"""The shared pace: send times reserved in the store keep Teams' limits for all instances and
every sender (the alert outbox, the Messenger's paced posts and updates)."""

from __future__ import annotations

import asyncio

import pytest

from bot.devchannel.channel import ChannelConversation
from bot.devchannel.record import in_conversation
from bot.kernel.messenger import Message
from bot.kernel.pacing import CONVERSATION_LIMITS, CONVERSATION_SPACING, SharedPace, earliest
from bot.store import open_store
from tests.bot.harness import ADMIN
from tests.bot.rates import TEAMS_BOT_LIMIT, TEAMS_CONVERSATION_LIMITS, worst_window

T0 = 1_700_000_000.0


async def reserve_times(pace: SharedPace, conversation: str, count: int) -> list[float]:
    return [T0 + await pace.reserve(conversation) for _ in range(count)]


def test_earliest_waits_for_the_oldest_send_in_a_full_window():
    limits = ((1.0, 3), (10.0, 5))
    assert earliest(5.0, None, {1.0: None, 10.0: None}, limits, 0.1) == 5.0
    assert earliest(5.0, 4.95, {1.0: None, 10.0: None}, limits, 0.1) == pytest.approx(5.05)
    assert earliest(5.0, 4.9, {1.0: 4.5, 10.0: None}, limits, 0.1) == pytest.approx(5.5)
    assert earliest(5.0, 4.9, {1.0: 4.5, 10.0: 1.0}, limits, 0.1) == pytest.approx(11.0)
    assert earliest(5.0, 4.9, {1.0: 3.9, 10.0: -6.0}, limits, 0.1) == pytest.approx(5.0)


async def test_one_conversation_never_goes_over_its_windows(store):
    pace = SharedPace(store, clock=lambda: T0)
    times = await reserve_times(pace, "19:a@thread.tacv2", 70)
    assert times == sorted(times)
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= CONVERSATION_SPACING - 1e-6
    for span, limit in TEAMS_CONVERSATION_LIMITS:
        assert worst_window(times, span) < limit
    # 50 fit in the first 30 s; the rest wait until the oldest leave the window.
    assert times[49] < T0 + 30 <= times[50]


async def test_the_bot_wide_budget_holds_across_conversations(store):
    pace = SharedPace(store, clock=lambda: T0)
    times: list[float] = []
    for n in range(40):
        times += await reserve_times(pace, f"19:c{n}@thread.tacv2", 2)
    assert worst_window(sorted(times), 1.0) <= 26 < TEAMS_BOT_LIMIT
    # Each conversation starts as soon as the bot budget allows, not after the others' windows.
    assert max(times) < T0 + 4


async def test_two_instances_on_postgresql_share_one_budget(pg_url):
    first = await open_store(pg_url)
    await first.migrate()
    second = await open_store(pg_url)
    try:
        paces = [SharedPace(first, clock=lambda: T0), SharedPace(second, clock=lambda: T0)]
        both = await asyncio.gather(
            *(reserve_times(pace, "19:shared@thread.tacv2", 35) for pace in paces),
            *(reserve_times(pace, f"19:own{n}@thread.tacv2", 10) for n, pace in enumerate(paces)),
        )
        shared = sorted(both[0] + both[1])
        assert len(set(shared)) == 70
        for span, limit in TEAMS_CONVERSATION_LIMITS:
            assert worst_window(shared, span) < limit
        assert worst_window(sorted(t for run in both for t in run), 1.0) < TEAMS_BOT_LIMIT
    finally:
        await first.close()
        await second.close()


async def test_old_sends_are_forgotten(store):
    now = [T0]
    pace = SharedPace(store, clock=lambda: now[0])
    await reserve_times(pace, "19:old@thread.tacv2", 3)
    now[0] = T0 + 4000
    await pace.purge()
    assert await store.fetchval("SELECT COUNT(*) FROM alert_pace_sends") == 0
    assert await store.fetchval("SELECT COUNT(*) FROM alert_pace_tokens") == 0
    assert await pace.reserve("19:old@thread.tacv2") == 0


async def test_paced_posts_through_the_running_bot_arrive_within_the_budget(harness):
    channel = ChannelConversation.channel("SOC", "approvals")
    await harness.say(ADMIN, "ping", channel)
    reserved = "SELECT COUNT(*) FROM alert_pace_sends WHERE scope = ?"
    store = harness.vigil.services.store
    # A turn's reply answers the user now: it takes no turn in the pace.
    assert await store.fetchval(reserved, "c:" + channel.id) == 0

    since = harness.channel.last_seq
    messenger = harness.vigil.services.messenger
    count = 16
    ids = await asyncio.gather(
        *(messenger.post(channel.id, Message(text=f"post {n}"), paced=True) for n in range(count))
    )
    assert len(set(ids)) == count
    assert await store.fetchval(reserved, "c:" + channel.id) == count
    times = sorted(
        call.time
        for call in harness.channel.sent()
        if call.seq > since and call.kind == "send" and in_conversation(call, channel.id)
    )
    assert len(times) == count
    # The budget is 5 a second; arrival jitter may bunch one more into a window, never more.
    per_second = dict(CONVERSATION_LIMITS)[1.0]
    assert worst_window(times, 1.0) <= per_second + 1 < TEAMS_CONVERSATION_LIMITS[0][1]
