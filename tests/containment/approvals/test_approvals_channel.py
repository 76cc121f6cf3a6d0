"""Approvers are asked where they are: the approvals channel (VIGIL_APPROVALS_CHANNEL) gets every
card with the approvers mentioned; without it, a request from a 1:1 chat is refused up front."""

from __future__ import annotations

from bot.containment.approvals import records
from bot.containment.approvals.card import message_link
from bot.devchannel.channel import ChannelConversation
from tests.bot.harness import ADMIN, APPROVER, RESPONDER, card_of, card_text
from tests.containment.approvals.workflow import SOC, _is_approval, start

APPROVALS = ChannelConversation.channel("SOC", "Approvals")
ASK = "block-domain evil.example.com --reason kit"


async def _pending(harness) -> list:
    return await records.listing(
        harness.vigil.services.store, states=(records.State.PENDING,), limit=50
    )


async def test_a_request_from_a_1to1_chat_without_an_approvals_channel_is_refused(tmp_path):
    harness = await start(tmp_path)
    personal = ChannelConversation.personal(RESPONDER)
    try:
        answer = await harness.say(RESPONDER, ASK, personal)
        text = (answer.activity or {}).get("text") or ""
        assert "VIGIL_APPROVALS_CHANNEL" in text and "Nothing was requested" in text
        assert await _pending(harness) == []
        # The step-by-step dialog says so before asking anything.
        started = await harness.say(RESPONDER, "contain evil.example.com", personal)
        assert "VIGIL_APPROVALS_CHANNEL" in ((started.activity or {}).get("text") or "")
        assert await _pending(harness) == []
    finally:
        await harness.close()


async def test_every_card_goes_to_the_approvals_channel_with_approvers_mentioned(tmp_path):
    harness = await start(tmp_path, VIGIL_APPROVALS_CHANNEL=APPROVALS.id)
    personal = ChannelConversation.personal(RESPONDER)
    try:
        await harness.say(ADMIN, "whoami", APPROVALS)  # Vigil is in the approvals channel
        since = harness.channel.last_seq
        answer = await harness.say(RESPONDER, ASK, personal)
        assert "approvals channel" in ((answer.activity or {}).get("text") or "")
        posted = await harness.channel.wait_for(
            lambda c: c.kind in ("send", "reply") and _is_approval(c.activity), since=since
        )
        assert (posted.conversation_id or "").startswith(APPROVALS.id)
        card = card_of(posted)
        mentioned = {e["mentioned"]["id"] for e in card["msteams"]["entities"]}
        # Approver and admin may approve; the requester is not asked to approve their own request.
        assert {APPROVER.aad_object_id, ADMIN.aad_object_id} <= mentioned
        assert RESPONDER.aad_object_id not in mentioned
        assert "Approvers: " in card_text(card) and "Apu Approver" in card_text(card)
        # Nothing was posted in the 1:1 chat but the answer.
        assert not [c for c in harness.channel.sent(personal.id) if _is_approval(c.activity)]

        # Asked in another channel: the card still goes to the approvals channel only.
        since = harness.channel.last_seq
        await harness.say(RESPONDER, "block-domain evil2.example.com --reason kit", SOC)
        second = await harness.channel.wait_for(
            lambda c: c.kind in ("send", "reply") and _is_approval(c.activity), since=since
        )
        assert (second.conversation_id or "").startswith(APPROVALS.id)

        approval_id = card["refresh"]["action"]["data"]["approvalId"]
        status, body = await harness.channel.send_card_action(
            APPROVER,
            APPROVALS,
            verb="approval.approve",
            data={"approvalId": approval_id},
            reply_to_id=posted.activity_id or "1",
        )
        assert status == 200, body
        stored = await records.get(harness.vigil.services.store, approval_id)
        assert stored.state is not records.State.PENDING
    finally:
        await harness.close()


async def test_an_approvals_channel_vigil_is_not_in_refuses_before_recording(tmp_path):
    harness = await start(tmp_path, VIGIL_APPROVALS_CHANNEL="19:nowhere@thread.tacv2")
    try:
        answer = await harness.say(RESPONDER, ASK, SOC)
        assert "not in the approvals channel" in ((answer.activity or {}).get("text") or "")
        assert await _pending(harness) == []
    finally:
        await harness.close()


def test_message_link_only_for_teams_ids():
    link = message_link("19:abc@thread.tacv2;messageid=1700000000000", "1700000000123")
    assert link == "https://teams.microsoft.com/l/message/19%3Aabc%40thread.tacv2/1700000000123"
    assert message_link("a:local-conversation", "1700000000123") == ""
    assert message_link("19:abc@thread.tacv2", "x') onerror") == ""
    assert message_link("19:abc@thread.tacv2", None) == ""
