"""End to end with a stock botbuilder bot: real auth both ways, Teams-shaped activities."""

from __future__ import annotations

from bot.devchannel.channel import ChannelConversation, ChannelUser, LocalChannel

ALICE = ChannelUser.named("Alice Analyst")
BOB = ChannelUser.named("Bob Approver")
PERSONAL = ChannelConversation.personal(ALICE)
SOC = ChannelConversation.channel("SOC", "Alerts")


def is_text(text: str):
    return lambda c: bool(c.activity) and c.activity.get("text") == text


async def test_echo_in_personal_chat(echo_bot: LocalChannel) -> None:
    status = await echo_bot.send_message(ALICE, PERSONAL, "hello")
    assert status in (200, 201)
    call = await echo_bot.wait_for(is_text("echo: hello"))
    assert call.conversation_id == PERSONAL.id
    assert call.activity["recipient"]["aadObjectId"] == ALICE.aad_object_id
    assert echo_bot.token_requests == 1


async def test_outbound_token_is_cached_across_turns(echo_bot: LocalChannel) -> None:
    for n in range(3):
        await echo_bot.send_message(ALICE, PERSONAL, f"m{n}")
    assert len(echo_bot.sent()) == 3
    assert echo_bot.token_requests == 1


async def test_mention_in_channel(echo_bot: LocalChannel) -> None:
    await echo_bot.send_message(ALICE, SOC, "status", mention=True)
    await echo_bot.wait_for(is_text("echo: status"))
    sent = echo_bot.received[-1]
    assert sent["text"] == "<at>Vigil</at> status"
    mention = [e for e in sent["entities"] if e["type"] == "mention"][0]
    assert mention["mentioned"]["id"] == f"28:{echo_bot.app_id}"
    data = sent["channelData"]
    assert data["team"]["name"] == "SOC" and data["channel"]["name"] == "Alerts"
    assert data["team"]["aadGroupId"] == SOC.team_aad_group_id
    assert sent["conversation"]["conversationType"] == "channel" and sent["conversation"]["isGroup"]


async def test_activity_shape_and_unique_ids(echo_bot: LocalChannel) -> None:
    await echo_bot.send_message(ALICE, PERSONAL, "a")
    await echo_bot.send_message(ALICE, PERSONAL, "b", activity_id="1234")
    first, second = echo_bot.received
    assert first["id"] != second["id"] and second["id"] == "1234"
    assert first["channelId"] == "msteams"
    assert first["from"] == {
        "id": ALICE.teams_id,
        "name": "Alice Analyst",
        "aadObjectId": ALICE.aad_object_id,
    }
    assert first["recipient"]["id"] == f"28:{echo_bot.app_id}"
    assert first["conversation"]["tenantId"] == ALICE.tenant_id
    assert first["serviceUrl"] == echo_bot.service_url
    assert first["timestamp"].endswith("Z") and first["localTimezone"]
    assert first["channelData"]["tenant"]["id"] == ALICE.tenant_id


async def test_card_action_updates_the_card(echo_bot: LocalChannel) -> None:
    await echo_bot.send_message(ALICE, PERSONAL, "card")
    card = await echo_bot.wait_for(lambda c: bool(c.activity and c.activity.get("attachments")))
    status, response = await echo_bot.send_card_action(
        BOB, PERSONAL, verb="approve", data={"n": 1}, reply_to_id=card.activity_id
    )
    assert status == 200
    assert response["statusCode"] == 200
    assert response["type"] == "application/vnd.microsoft.card.adaptive"
    update = await echo_bot.wait_for(lambda c: c.kind == "update")
    assert update.activity_id == card.activity_id
    content = echo_bot.activity(PERSONAL.id, card.activity_id)["attachments"][0]["content"]
    assert content["body"][1]["facts"][0]["value"] == "approved by Bob Approver ()"
    invoke = echo_bot.received[-1]
    assert invoke["name"] == "adaptiveCard/action" and invoke["replyToId"] == card.activity_id
    assert invoke["value"]["action"]["type"] == "Action.Execute"
    assert invoke["value"]["trigger"] == "manual"


async def test_submit_is_a_message_with_value(echo_bot: LocalChannel) -> None:
    status = await echo_bot.send_submit(ALICE, PERSONAL, {"note": True}, reply_to_id="42")
    assert status in (200, 201)
    await echo_bot.wait_for(is_text('submitted {"note": true}'))


async def test_members_and_delete(echo_bot: LocalChannel) -> None:
    echo_bot.register(SOC, BOB)
    await echo_bot.send_message(ALICE, SOC, "members", mention=True)
    await echo_bot.wait_for(is_text("members Bob Approver, Alice Analyst"))
    await echo_bot.send_message(ALICE, SOC, "delete", mention=True)
    deleted = await echo_bot.wait_for(lambda c: c.kind == "delete")
    assert echo_bot.activity(SOC.id, deleted.activity_id) is None


async def test_conversation_and_installation_updates(echo_bot: LocalChannel) -> None:
    status = await echo_bot.send_conversation_update(SOC, [BOB], bot_added=True)
    assert status in (200, 201)
    await echo_bot.wait_for(is_text("welcome"))
    update = echo_bot.received[-1]
    assert update["type"] == "conversationUpdate"
    assert {m["id"] for m in update["membersAdded"]} == {BOB.teams_id, f"28:{echo_bot.app_id}"}
    assert update["channelData"]["eventType"] == "teamMemberAdded"
    status = await echo_bot.send_installation_update(ALICE, PERSONAL, "add")
    assert status in (200, 201)
    assert echo_bot.received[-1]["action"] == "add"


async def test_retry_after_is_served_to_the_bot(echo_bot: LocalChannel) -> None:
    echo_bot.inject_faults(502, 1)
    status = await echo_bot.send_message(ALICE, PERSONAL, "hello")
    # The stock bot does not retry: its turn fails, and the channel saw the faulted call.
    assert status >= 500
    assert [c.status for c in echo_bot.attempts()] == [502]


async def test_malformed_posts_reach_the_bot_as_sent(echo_bot: LocalChannel) -> None:
    status = await echo_bot.post_raw(b"{broken", content_type="application/json")
    assert status >= 400
    assert echo_bot.sent() == []
