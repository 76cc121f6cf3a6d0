"""The command pipeline as a Teams user meets it: audit of everything, card actions, dialogs."""

from __future__ import annotations

import json

import aiohttp
import pytest

from bot.audit.log import AuditLog
from bot.devchannel.channel import ChannelConversation
from tests.bot.harness import ADMIN, ANALYST, AUDIT_KEY, NOBODY, Harness, card_of, card_text


async def _records(harness):
    log = AuditLog(harness.vigil.services.store, AUDIT_KEY.encode())
    assert (await log.verify()).intact
    return await log.tail(100)


async def test_every_command_is_audited_with_its_result(harness):
    await harness.say(ANALYST, "ping")
    await harness.say(NOBODY, "ping")
    await harness.say(ANALYST, "pnig")
    await harness.say(ANALYST, "help nonsense extra")
    records = await _records(harness)
    seen = [(r.actor_name, r.action, r.result) for r in records]
    assert ("Ann Analyst", "command:ping", "ok") in seen
    assert ("Nora Norole", "command:ping", "refused") in seen
    assert ("Ann Analyst", "command:unknown", "refused") in seen
    assert ("Ann Analyst", "command:help", "refused") in seen  # usage error
    refused = next(r for r in records if r.actor_name == "Nora Norole")
    assert "needs role analyst" in refused.result_detail
    assert refused.origin == "teams"


async def test_audit_command_is_admin_only_and_shows_the_chain(harness):
    call = await harness.say(ANALYST, "audit")
    assert "needs the admin role" in call.activity["text"]
    await harness.say(ANALYST, "ping")
    text = card_text(card_of(await harness.say(ADMIN, "audit 5")))
    assert "intact" in text
    assert "command:ping" in text
    usage = await harness.say(ADMIN, "audit 5000")
    assert "count must be a number from 1 to 50" in usage.activity["text"]


async def test_action_execute_and_legacy_submit_reach_the_action(harness):
    conversation = ChannelConversation.personal(ANALYST)
    await harness.say(ANALYST, "ping", conversation)
    status, body = await harness.channel.send_card_action(
        ANALYST, conversation, verb="help.show", data={}, reply_to_id="1"
    )
    assert status == 200
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "ping" in card_text(body["value"])
    since = harness.channel.last_seq
    status = await harness.channel.send_submit(
        ANALYST, conversation, {"verb": "help.show"}, reply_to_id=""
    )
    assert status in (200, 201)
    call = await harness.channel.wait_for(lambda c: c.kind in ("send", "reply"), since=since)
    assert "ping" in card_text(card_of(call))
    actions = [r.action for r in await _records(harness)]
    assert actions.count("action:help.show") == 2


@pytest.mark.parametrize(
    "value",
    [
        {"action": {"type": "Action.Execute"}},
        {"action": "not a dict"},
        {"action": {"verb": 42, "data": []}},
        "a string value",
    ],
)
async def test_malformed_card_actions_get_a_clear_answer(harness, value):
    conversation = ChannelConversation.personal(ANALYST)
    activity = harness.channel.new_activity("invoke", ANALYST, conversation)
    activity |= {"name": "adaptiveCard/action", "value": value}
    status, body = await harness.channel.post_activity(ANALYST, conversation, activity)
    assert status in (200, 400)
    assert "no action" in json.dumps(body)


async def test_unknown_verb_is_refused_and_audited(harness):
    conversation = ChannelConversation.personal(ANALYST)
    status, body = await harness.channel.send_card_action(
        ANALYST, conversation, verb="nuke.everything", data={"x": 1}, reply_to_id="1"
    )
    assert status == 200
    assert "no longer supported" in body["value"]
    assert "action:unknown" in [r.action for r in await _records(harness)]


async def test_without_an_audit_key_vigil_refuses_to_act(tmp_path):
    harness = await Harness.start(
        f"sqlite:///{tmp_path}/vigil.db", {"VIGIL_SECRET_AUDIT_HMAC_KEY": ""}
    )
    try:
        call = await harness.say(ANALYST, "ping")
        assert "won't act" in call.activity["text"]
        assert "audit-hmac-key" in call.activity["text"]
        # Help still works: finding out what is wrong must not need the audit log.
        assert "whoami" in card_text(card_of(await harness.say(ANALYST, "help")))
        async with aiohttp.ClientSession() as session:
            async with session.get(harness.url + "/readyz") as response:
                body = await response.json()
        assert response.status == 503
        assert body["checks"]["secret audit-hmac-key"] == "not configured: audit-hmac-key"
    finally:
        await harness.close()


async def test_dialog_state_survives_a_restart(harness):
    conversation = ChannelConversation.personal(ANALYST)
    first = await harness.say(ANALYST, "enrich", conversation)
    assert "indicator" in json.dumps(first.activity).lower()
    await harness.restart_bot()
    answer = await harness.say(ANALYST, "198.51.100.23", conversation)
    assert "198.51.100.23" in card_text(card_of(answer))


async def test_check_ip_gives_a_verdict_card_from_the_local_feed(harness):
    text = card_text(card_of(await harness.say(ANALYST, "check-ip 198.51.100.23")))
    assert "198.51.100.23" in text
    assert "local" in text.lower()


async def test_internal_indicator_is_marked(harness):
    text = card_text(card_of(await harness.say(ANALYST, "check-ip 10.1.2.3")))
    assert "internal" in text.lower()


async def test_lookups_are_audited_with_sources_and_internal_marked(harness):
    await harness.say(ANALYST, "check 10.1.2.3 198.51.100.23")
    lookups = [r for r in await _records(harness) if r.action == "intel.lookup"]
    assert len(lookups) == 1
    params = json.loads(lookups[0].parameters)
    by_value = {item["indicator"]: item for item in params["indicators"]}
    assert by_value["10.1.2.3"]["internal"] is True
    assert by_value["198.51.100.23"]["internal"] is False
    assert by_value["198.51.100.23"]["verdict"] == "malicious"
    assert lookups[0].actor_name == "Ann Analyst"
    assert "1 internal" in lookups[0].result_detail
