"""A signed body near the 1 MB limit arrives in many TCP chunks and must be read whole."""

from __future__ import annotations

from tests.alerts.test_delivery import alert, routes_env
from tests.alerts.webhook import post
from tests.bot.harness import Harness


async def test_a_signed_900_kb_alert_is_read_whole_and_stored(tmp_path):
    harness = await Harness.start(f"sqlite:///{tmp_path}/vigil.db", routes_env())
    try:
        body = alert("Big body", "WS-1", 1)
        body["description"] = "d" * 900_000
        status, answer = await post(harness.url, "generic", body)
        assert status == 202, answer
        stored = await harness.vigil.services.store.fetchval(
            "SELECT description FROM alerts WHERE id = ?", answer["ids"][0]
        )
        assert len(stored) == 4000  # the normalised description is capped; the read was whole
        too_big = alert("Too big", "WS-1", 2)
        too_big["description"] = "d" * 1_100_000
        status, answer = await post(harness.url, "generic", too_big)
        assert status == 413, answer
    finally:
        await harness.close()
