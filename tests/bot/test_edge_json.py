"""JSON's numbers are finite: `NaN`, `Infinity` and overflowing exponents, which Python's reader
accepts, get 400 on every route (a NaN alert time was stored as NULL and failed its batch)."""

from __future__ import annotations

import json

import pytest

from bot.devchannel.channel import ChannelConversation
from tests.alerts.samples import sample
from tests.alerts.test_delivery import routes_env
from tests.alerts.webhook import post
from tests.bot.harness import ANALYST, Harness

NOT_NUMBERS = ("NaN", "Infinity", "-Infinity", "1e999999")


@pytest.fixture
async def bot(tmp_path):
    harness = await Harness.start(f"sqlite:///{tmp_path}/vigil.db", routes_env())
    try:
        yield harness
    finally:
        await harness.close()


@pytest.mark.parametrize("literal", NOT_NUMBERS)
async def test_signed_alert_with_a_non_finite_time_gets_400(bot, literal):
    body = json.dumps(sample("wazuh")).replace('"2024-05-02T09:12:33.123+0000"', literal, 1)
    assert literal in body
    status, answer = await post(bot.url, "wazuh", raw=body.encode())
    assert status == 400, answer
    assert "number" in answer["error"]


@pytest.mark.parametrize("literal", NOT_NUMBERS)
async def test_activity_with_a_non_finite_number_gets_400(bot, literal):
    conversation = ChannelConversation.personal(ANALYST)
    activity = bot.channel.new_activity("message", ANALYST, conversation) | {"text": "ping"}
    body = json.dumps(activity | {"value": {"n": 0}}).replace('{"n": 0}', literal)
    assert await bot.channel.post_raw(body.encode()) == 400


@pytest.mark.parametrize("moment", [10**400, 1e300, -5])
async def test_signed_alert_with_an_impossible_epoch_time_is_stored_with_a_warning(bot, moment):
    body = sample("defender") | {"firstActivityDateTime": moment}
    status, answer = await post(bot.url, "defender", body)
    assert status in (200, 202), answer


async def test_elastic_risk_score_of_400_digits_is_no_500(bot):
    body = sample("elastic") | {"kibana.alert.risk_score": 10**400}
    status, answer = await post(bot.url, "elastic", body)
    assert status < 500, answer


async def test_wazuh_level_of_5000_digits_is_refused_naming_the_field(bot):
    body = sample("wazuh")
    body["rule"]["level"] = "1" * 5000
    status, answer = await post(bot.url, "wazuh", body)
    assert status == 422, answer
    assert "rule.level" in json.dumps(answer)
