"""The Vigil most alert tests talk to: alert routes configured, installed in SOC/Alerts."""

from __future__ import annotations

import pytest

from tests.alerts.test_delivery import GENERAL, routes_env
from tests.bot.harness import ADMIN, Harness


@pytest.fixture
async def bot(store_url):
    harness = await Harness.start(store_url, routes_env())
    try:
        await harness.say(ADMIN, "ping", GENERAL)  # the channel's reference is saved
        yield harness
    finally:
        await harness.close()
