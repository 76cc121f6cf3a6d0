"""What a Teams user sees: help by role, did-you-mean, welcome, dedupe, references, retries."""

from __future__ import annotations

import pytest

from bot.devchannel.channel import ChannelConversation
from bot.kernel import conversation_refs
from tests.bot.harness import ADMIN, ANALYST, NOBODY, Harness, card_of, card_text


async def test_help_lists_only_what_the_role_may_run(harness):
    nobody_help = card_text(card_of(await harness.say(NOBODY, "help")))
    assert "whoami" in nobody_help
    assert "ping" not in nobody_help
    admin_help = card_text(card_of(await harness.say(ADMIN, "help")))
    assert "ping" in admin_help and "whoami" in admin_help


async def test_help_for_one_command_shows_usage(harness):
    text = card_text(card_of(await harness.say(ADMIN, "help help")))
    assert "help [command]" in text


async def test_no_role_user_is_told_which_role_is_needed(harness):
    call = await harness.say(NOBODY, "ping")
    assert "needs the analyst role" in call.activity["text"]


async def test_unknown_command_gets_did_you_mean_with_usage(harness):
    call = await harness.say(ANALYST, "pnig")
    assert "Did you mean `ping`?" in call.activity["text"]
    assert "Usage: `ping`" in call.activity["text"]


async def test_whoami_shows_name_object_id_and_roles(harness):
    text = card_text(card_of(await harness.say(ANALYST, "whoami")))
    assert ANALYST.aad_object_id in text
    assert "Ann Analyst" in text
    assert "analyst" in text


async def test_mention_in_a_channel_is_stripped(harness):
    team = ChannelConversation.channel("SOC", "Triage")
    call = await harness.say(ANALYST, "ping", team, mention=True)
    assert call.activity["text"] == "pong"


async def test_welcome_card_once_per_install(harness):
    team = ChannelConversation.channel("SOC", "General")
    since = harness.channel.last_seq
    assert await harness.channel.send_conversation_update(team, [], bot_added=True) in (200, 201)
    assert await harness.channel.send_installation_update(ADMIN, team) in (200, 201)
    await harness.say(ADMIN, "ping", team)
    sent = [c for c in harness.channel.sent() if c.seq > since and c.activity]
    welcomes = [c for c in sent if c.activity.get("attachments")]
    assert len(welcomes) == 1
    assert "Vigil" in card_text(card_of(welcomes[0]))


async def test_new_member_gets_a_welcome(harness):
    team = ChannelConversation.channel("SOC", "General")
    since = harness.channel.last_seq
    await harness.channel.send_conversation_update(team, [NOBODY])
    call = await harness.channel.wait_for(lambda c: c.kind in ("send", "reply"), since=since)
    assert "Nora Norole" in card_text(card_of(call))


async def test_redelivered_activity_is_answered_once_even_across_restart(harness):
    conversation = ChannelConversation.personal(ANALYST)
    await harness.say(ANALYST, "ping", conversation, activity_id="teams-redelivery-1")
    await harness.restart_bot()
    status = await harness.channel.send_message(
        ANALYST, conversation, "ping", activity_id="teams-redelivery-1"
    )
    assert status in (200, 201)
    await harness.say(ANALYST, "ping", conversation)
    replies = [c for c in harness.channel.sent(conversation.id) if c.kind in ("send", "reply")]
    assert len(replies) == 2


async def test_conversation_reference_persisted_and_survives_restart(harness):
    team = ChannelConversation.channel("SOC", "Alerts")
    await harness.say(ANALYST, "ping", team)
    await harness.restart_bot()
    stored = await conversation_refs.get(harness.vigil.services.store, team.id)
    assert stored is not None
    assert stored["serviceUrl"].rstrip("/") == harness.channel.service_url.rstrip("/")


async def test_connector_429_is_retried_after_retry_after(harness):
    harness.channel.inject_faults(429, 1, retry_after=0.3)
    call = await harness.say(ANALYST, "ping")
    assert call.activity["text"] == "pong"
    statuses = [attempt.status for attempt in harness.channel.attempts() if attempt.kind == "reply"]
    assert statuses[-2:] == [429, 200] or statuses[-2:] == [429, 201]
    gap = harness.channel.attempts()[-1].time - harness.channel.attempts()[-2].time
    assert gap >= 0.25  # waited as told (an ordering fact, not a performance assertion)


@pytest.fixture
async def limited(tmp_path):
    harness = await Harness.start(
        f"sqlite:///{tmp_path}/vigil.db", {"VIGIL_USER_RATE_PER_MINUTE": "3"}
    )
    try:
        yield harness
    finally:
        await harness.close()


async def test_user_rate_limit_answers_clearly(limited):
    answers = [(await limited.say(ANALYST, "ping")).activity["text"] for _ in range(4)]
    assert answers[:3] == ["pong"] * 3
    assert "too fast" in answers[3]
    # Another user is not limited by the first one's burst.
    assert (await limited.say(ADMIN, "ping")).activity["text"] == "pong"
