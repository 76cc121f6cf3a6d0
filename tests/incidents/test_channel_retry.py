"""Incidents never lie or duplicate: Graph or Entra down leaves the incident created and its
channel pending, made later by the channel job; one request opens one incident."""

from __future__ import annotations

import asyncio
import re

from bot.incidents import records
from tests.bot.harness import ANALYST, card_of, card_text
from tests.incidents.conftest import SOC
from tests.incidents.test_bot_incidents import CREATE, _use_team

PENDING = re.compile(r"(INC-\d{8}-\d{3}) opened; its channel is pending \((.+)\)\. I'll post it")


async def _restart_with_fast_retries(bot) -> None:
    bot.extra_env["VIGIL_INCIDENT_CHANNEL_RETRY"] = "0.1"
    await bot.restart_bot()


async def _all_incidents(bot) -> list[records.Incident]:
    return await records.recent(bot.vigil.services.store, limit=50)


async def _until(condition) -> None:
    """Poll `condition` (state in the store, written by a background job) for up to 20 s."""
    async with asyncio.timeout(20):
        while not await condition():  # noqa: ASYNC110 - the job signals nothing to wait on
            await asyncio.sleep(0.05)


async def test_graph_and_entra_down_the_incident_stands_and_its_channel_comes_later(bot, graph):
    await _restart_with_fast_retries(bot)
    await _use_team(bot)
    graph.unreachable = True
    call = await bot.say(ANALYST, CREATE, SOC)
    text = call.activity.get("text") or ""
    found = PENDING.search(text)
    assert found, text
    incident_id = found[1]
    assert "Graph could not be reached" in found[2]
    assert "Something went wrong" not in card_text(card_of(call))
    stored = await records.get(bot.vigil.services.store, incident_id)
    assert stored.channel_id == "" and stored.channel_retry_at > 0

    graph.unreachable = False

    async def has_card() -> bool:
        now = await records.get(bot.vigil.services.store, incident_id)
        return bool(now.channel_id and now.card_activity_id)

    await _until(has_card)
    done = await records.get(bot.vigil.services.store, incident_id)
    assert done.channel_retry_at == 0 and not done.channel_error
    assert len(graph.created()) == 1
    assert [i.id for i in await _all_incidents(bot)] == [incident_id]
    # The card went into the new channel.
    assert [c for c in bot.channel.sent(done.channel_id) if c.kind in ("send", "create")]


async def test_a_created_channel_whose_answer_was_lost_is_adopted_not_duplicated(bot, graph):
    await _restart_with_fast_retries(bot)
    await _use_team(bot)
    graph.lose_next_answer = True
    call = await bot.say(ANALYST, CREATE, SOC)
    incident_id = re.search(r"INC-\d{8}-\d{3}", call.activity.get("text") or "")[0]

    async def has_channel() -> bool:
        return bool((await records.get(bot.vigil.services.store, incident_id)).channel_id)

    await _until(has_channel)
    assert len(graph.created()) == 1  # no "-2" channel
    assert graph.listed  # it looked for its own channel first
    stored = await records.get(bot.vigil.services.store, incident_id)
    assert stored.channel_id == graph.channels[stored.team_id][0]["id"]


async def test_the_same_activity_delivered_twice_opens_one_incident(bot, graph):
    await _use_team(bot)
    for _ in range(2):
        status = await bot.channel.send_message(ANALYST, SOC, CREATE, activity_id="redelivered-1")
        assert status in (200, 201)
    await _until(lambda: _has_incidents(bot, 1))
    await asyncio.sleep(0.5)  # time for a second one, if the redelivery opened one
    assert len(await _all_incidents(bot)) == 1
    assert len(graph.created()) == 1


async def _has_incidents(bot, count: int) -> bool:
    return len(await _all_incidents(bot)) >= count


async def test_the_dialog_with_graph_down_answers_truthfully_and_never_opens_twice(bot, graph):
    await _restart_with_fast_retries(bot)
    await _use_team(bot)
    graph.unreachable = True
    for answer in ("create-incident", "Ransomware on FS01", "high", "none"):
        await bot.say(ANALYST, answer, SOC)
    done = await bot.say(ANALYST, "none", SOC)
    assert PENDING.search(done.activity.get("text") or ""), done.activity
    after = await bot.say(ANALYST, "next", SOC)
    assert "INC-" not in (after.activity.get("text") or "")
    assert len(await _all_incidents(bot)) == 1
