"""Dialogs through the one way in: clean answers in a channel, and roles checked on every turn."""

from __future__ import annotations

from bot.audit.log import AuditLog
from bot.devchannel.channel import ChannelConversation
from dialogs.enrich import ASK, NEXT, RETRY
from tests.bot.harness import ANALYST, AUDIT_KEY, card_of, card_text

SOC = ChannelConversation.channel("SOC", "Triage")


async def _records(harness):
    log = AuditLog(harness.vigil.services.store, AUDIT_KEY.encode())
    assert (await log.verify()).intact
    return await log.tail(100)


async def test_enrich_in_a_channel_with_the_mention_in_every_answer(harness):
    """Teams puts `<at>Vigil</at>` in front of every channel message, the answers included."""

    async def say(text: str):
        return await harness.say(ANALYST, text, SOC, mention=True)

    assert (await say("enrich")).activity["text"] == ASK
    assert (await say("what is this?")).activity["text"] == RETRY
    verdict = card_text(card_of(await say("look at 198.51.100.23 please")))
    assert "198.51.100.23" in verdict and "Vigil" not in verdict
    assert harness.channel.sent(SOC.id)[-1].activity["text"] == NEXT
    assert (await say("more")).activity["text"] == ASK
    assert "evil[.]example[.]com" in card_text(card_of(await say("evil[.]example[.]com")))
    assert (await say("done")).activity["text"] == "Done."
    lookups = [r for r in await _records(harness) if r.action == "intel.lookup"]
    assert len(lookups) == 2 and all(r.actor_name == ANALYST.name for r in lookups)


async def test_a_role_removed_mid_dialog_is_refused_and_the_dialog_cancelled(harness):
    assert (await harness.say(ANALYST, "enrich", SOC, mention=True)).activity["text"] == ASK
    # An admin takes the analyst role away; the dialog's state outlives the restart.
    harness.extra_env = {**harness.extra_env, "VIGIL_ROLE_ANALYST": ""}
    await harness.restart_bot()
    refused = await harness.say(ANALYST, "198.51.100.23", SOC, mention=True)
    assert "needs the analyst role" in refused.activity["text"]
    assert refused.activity.get("attachments") is None
    records = await _records(harness)
    assert not [r for r in records if r.action == "intel.lookup"]
    [record] = [r for r in records if r.action == "dialog:enrich"]
    assert record.result == "refused" and record.actor_name == ANALYST.name
    assert "needs role analyst" in record.result_detail and "cancelled" in record.result_detail
    # The dialog is over: the next message is read as a command again.
    whoami = card_text(card_of(await harness.say(ANALYST, "whoami", SOC, mention=True)))
    assert ANALYST.aad_object_id in whoami


async def test_cancel_with_the_mention_ends_the_dialog(harness):
    assert (await harness.say(ANALYST, "enrich", SOC, mention=True)).activity["text"] == ASK
    assert (await harness.say(ANALYST, "Cancel", SOC, mention=True)).activity[
        "text"
    ] == "Cancelled."
    answer = await harness.say(ANALYST, "ping", SOC, mention=True)
    assert "pong" in str(answer.activity.get("text")).lower()
