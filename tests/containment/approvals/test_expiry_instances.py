"""Expiry on two `vigil serve` processes sharing one PostgreSQL: each request expires once."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

from bot.audit.log import tail
from bot.containment.approvals import records
from bot.store import open_store
from tests.bot.harness import card_text
from tests.containment.approvals.serve_pair import ServePair
from tests.containment.approvals.test_two_instances import SOC, pair_env, request_card

REQUESTS = 6


async def test_each_request_is_expired_once_across_two_instances(tmp_path, pg_url):
    env = pair_env(tmp_path, pg_url, VIGIL_APPROVAL_EXPIRY_INTERVAL="1")
    pair = await ServePair.start(tmp_path, env)
    store = await open_store(pg_url)
    try:
        posted: dict[str, str] = {}
        for n in range(REQUESTS):
            approval_id, activity_id = await request_card(
                pair, f"block-ip 203.0.113.{n + 30} --reason 'scanner {n}'"
            )
            posted[approval_id] = activity_id
        # The shortest configurable expiry is a minute; move the deadline instead of waiting.
        await store.execute(
            "UPDATE approvals SET expires_at = ? WHERE state = 'pending'", time.time() - 1
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = [await records.get(store, approval_id) for approval_id in posted]
            if all(a.state == "expired" for a in found):
                break
            await asyncio.sleep(0.2)
        assert [a.state for a in found] == ["expired"] * REQUESTS, pair.logs()[-2000:]
        await asyncio.sleep(2.5)  # two more rounds of both jobs: nothing may expire again

        expired = Counter()
        for record in await tail(store, 10_000):
            if record.action == "approval.expired":
                expired[json.loads(record.parameters)["approval_id"]] += 1
        assert expired == dict.fromkeys(posted, 1)
        updates = Counter(
            call.activity_id
            for call in pair.channel.sent(SOC.id)
            if call.kind == "update" and "Expired" in card_text(call.activity)
        )
        assert updates == Counter({activity_id: 1 for activity_id in posted.values()})
    finally:
        await store.close()
        await pair.close()
