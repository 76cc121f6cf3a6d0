"""A poisoned chat message or display name fails nothing else: 30 other users' pings sent beside
it are answered (not the error card), and the poisoned turn itself is answered too."""

from __future__ import annotations

import asyncio

import pytest

from bot.audit.log import AuditLog
from bot.devchannel.channel import ChannelConversation, ChannelUser, RecordedCall
from bot.devchannel.identity import stable_guid
from tests.bot.harness import ANALYST, AUDIT_KEY, Harness

ROUNDS = 20
OTHERS = [ChannelUser.named(f"Other Analyst {n}") for n in range(30)]
# A lone surrogate (sent as a JSON escape) no store can hold; NUL, which PostgreSQL refuses.
POISONS = {"surrogate": "\ud800", "nul": "\x00"}
REPLACEMENT = "\ufffd"


def _poisoned_user(bad: str) -> ChannelUser:
    return ChannelUser(stable_guid("user", "poisoned"), f"Eve{bad} Evil")


@pytest.fixture(params=POISONS)
async def poisoned(request, store_url):
    bad = POISONS[request.param]
    analysts = [ANALYST, _poisoned_user(bad), *OTHERS]
    env = {"VIGIL_ROLE_ANALYST": ",".join(user.aad_object_id for user in analysts)}
    harness = await Harness.start(store_url, env)
    try:
        yield harness, bad
    finally:
        await harness.close()


def _text(call: RecordedCall) -> str:
    return (call.activity or {}).get("text") or ""


def _is_error_card(call: RecordedCall) -> bool:
    return "That did not work" in str((call.activity or {}).get("attachments"))


async def test_pings_beside_a_poisoned_message_and_display_name_are_all_answered(poisoned):
    harness, bad = poisoned
    eve = _poisoned_user(bad)
    for round_ in range(ROUNDS):
        calls = await asyncio.gather(
            harness.say(ANALYST, f"ping {bad}"),  # a poisoned message: answered with usage help
            harness.say(eve, "ping"),  # a poisoned display name: pong like anyone else
            *(harness.say(user, "ping") for user in OTHERS),
        )
        poisoned_text, poisoned_name, *others = calls
        failed = [c for c in others if _text(c) != "pong"]
        assert not failed, (round_, [c.activity for c in failed])
        assert _text(poisoned_name) == "pong", poisoned_name.activity
        assert not _is_error_card(poisoned_text), poisoned_text.activity
        assert "Usage" in _text(poisoned_text) and bad not in _text(poisoned_text)
    log = AuditLog(harness.vigil.services.store, AUDIT_KEY.encode())
    assert (await log.verify()).intact
    names = {record.actor_name for record in await log.tail(2 * len(OTHERS) + 10)}
    assert f"Eve{REPLACEMENT} Evil" in names


@pytest.mark.parametrize("bad", POISONS.values())
async def test_an_activity_whose_id_cannot_be_stored_is_refused_naming_the_field(harness, bad):
    user = ChannelUser.named("Ivy Ids")
    conversation = ChannelConversation.personal(user)
    activity = harness.channel.new_activity("message", user, conversation)
    activity["text"] = "ping"
    activity["from"]["id"] = f"29:1{bad}"
    status, body = await harness.channel.post_activity(user, conversation, activity)
    assert status == 400, body
    assert "from.id" in body["error"]
