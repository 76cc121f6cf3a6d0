"""What a chat turn costs the database, counted black-box through the local channel.

A repeated `ping` or `whoami` needs four statements: the dedupe claim, the user's groups, the
dialog state and the audit append. The conversation reference and the user are re-stored only
when they change (tests/store/test_conversations_and_users.py shows the change is written).
"""

from __future__ import annotations

from collections import Counter

from bench.store_trips import CountingStore
from bot.devchannel.channel import ChannelConversation
from tests.bot.harness import ANALYST, Harness

# Background jobs (alert delivery, approval expiry, summary cadence) read their own tables.
TURN_TABLES = ("claims", "conversation_refs", "users", "kv", "audit_log")
REPEATED_TURN = {"INSERT claims": 1, "SELECT users": 1, "SELECT kv": 1, "INSERT audit_log": 1}


def _turn_trips(store: CountingStore, before: Counter[str]) -> Counter[str]:
    spent = store.trips - before
    return Counter({name: n for name, n in spent.items() if name.endswith(TURN_TABLES)})


async def test_a_repeated_turn_costs_four_statements(store_url: str) -> None:
    harness = await Harness.start(store_url, wrap_store=CountingStore)
    try:
        store = harness.vigil.services.store
        assert isinstance(store, CountingStore)
        await harness.say(ANALYST, "ping")  # first contact stores the reference and the user
        for text in ("ping", "whoami", "ping"):
            before = Counter(store.trips)
            await harness.say(ANALYST, text)
            assert _turn_trips(store, before) == REPEATED_TURN, text
    finally:
        await harness.close()


async def test_a_redelivered_turn_stops_at_the_claim(store_url: str) -> None:
    harness = await Harness.start(store_url, wrap_store=CountingStore)
    try:
        store = harness.vigil.services.store
        conversation = ChannelConversation.personal(ANALYST)
        await harness.say(ANALYST, "ping", conversation, activity_id="redelivered-1")
        before = Counter(store.trips)
        status = await harness.channel.send_message(
            ANALYST, conversation, "ping", activity_id="redelivered-1"
        )
        assert status in (200, 201)
        assert _turn_trips(store, before) == {"INSERT claims": 1}
    finally:
        await harness.close()
