"""The adapter's way out makes an activity's JSON without msrest: for every shape Vigil sends it
must be the same JSON, byte for byte, as msrest's `serialize()` gives.

Each outgoing activity is made as a turn makes it: an incoming activity as the local Teams
channel posts it, deserialized like /api/messages does, and the reply sent through botbuilder's
own TurnContext, which fills in the conversation reference (from, recipient, conversation,
serviceUrl, replyToId, locale, inputHint).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botbuilder.core import BotAdapter, CardFactory, MessageFactory, TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    CardAction,
    ChannelAccount,
    Entity,
    InputHints,
    Mention,
    ResourceResponse,
    SuggestedActions,
)

from bot.devchannel import activities
from bot.devchannel.activities import BotIdentity
from bot.devchannel.channel import ChannelConversation, ChannelUser
from bot.kernel import core_commands
from bot.teams.activity_json import activity_json, direct_json

BOT = BotIdentity("11111111-2222-4333-8444-555555555555")
USER = ChannelUser.named("Ann Analyst")
SERVICE_URL = "https://smba.trafficmanager.net/emea/"
CARD = {
    "type": "AdaptiveCard",
    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
    "version": "1.5",
    "body": [
        {"type": "TextBlock", "text": "Verdict: **malicious** \\_x\\_ ünïcode ✓", "wrap": True},
        {"type": "FactSet", "facts": [{"title": "score", "value": "97"}]},
        {"type": "Image", "url": "https://example.com/a.png", "width": 12.5, "isVisible": False},
        {"type": "Container", "items": [], "selectAction": None},
    ],
    "actions": [
        {"type": "Action.Execute", "verb": "alert.ack", "data": {"alertId": "a-1", "n": 3}}
    ],
    "refresh": {"action": {"type": "Action.Execute", "verb": "r"}, "userIds": ["8:orgid:x"]},
    "msteams": {
        "entities": [
            {"type": "mention", "text": "<at>Ann</at>", "mentioned": {"id": "29:1", "name": "A"}}
        ]
    },
}


class CapturingAdapter(BotAdapter):
    """Keeps what a TurnContext hands the adapter to send, as botbuilder prepared it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Activity] = []

    async def send_activities(self, context: TurnContext, activities: list[Activity]):
        self.sent.extend(activities)
        return [ResourceResponse(id="1") for _ in activities]

    async def update_activity(self, context: TurnContext, activity: Activity):
        self.sent.append(activity)
        return ResourceResponse(id=activity.id)

    async def delete_activity(self, context: TurnContext, reference: Any) -> None:
        raise AssertionError("Vigil deletes nothing in these shapes")


def incoming(kind: str, conversation: ChannelConversation) -> Activity:
    body = activities.base_activity(kind, USER, conversation, BOT, SERVICE_URL, "1700000000001")
    if kind == "message":
        body = activities.message(body, "whoami", BOT, mention=conversation.kind == "channel")
    elif kind == "conversationUpdate":
        body = activities.conversation_update(body, conversation, [USER], BOT, bot_added=True)
    elif kind == "invoke":
        body = activities.card_action(
            body,
            verb="approval.approve",
            data={"approvalId": "A-1"},
            reply_to_id="1699999999999",
            trigger="manual",
        )
    return Activity().deserialize(body)


async def sent_in_turn(
    received: Activity, outgoing: Activity | str, *, update: bool = False
) -> Activity:
    adapter = CapturingAdapter()
    context = TurnContext(adapter, received)
    if update:
        await context.update_activity(outgoing)
    else:
        await context.send_activity(outgoing)
    [sent] = adapter.sent
    return sent


def with_text(card: dict[str, Any], text: str) -> Activity:
    message = MessageFactory.attachment(CardFactory.adaptive_card(card))
    message.text = text
    return message


def mentioning() -> Activity:
    message = MessageFactory.text("<at>Ann Analyst</at> your approval is waiting")
    mention = Mention(
        mentioned=ChannelAccount(id=USER.teams_id, name=USER.name),
        text="<at>Ann Analyst</at>",
        type="mention",
    )
    parsed = Entity().deserialize({"type": "clientInfo", "locale": "en-US", "platform": "Web"})
    message.entities = [mention, parsed]
    return message


def with_channel_data() -> Activity:
    message = MessageFactory.text("heads up")
    message.channel_data = {"notification": {"alert": True}, "feedbackLoopEnabled": False}
    return message


def suggesting() -> Activity:
    message = MessageFactory.text("Which action?")
    message.suggested_actions = SuggestedActions(
        to=[USER.teams_id],
        actions=[
            CardAction(type="imBack", title="isolate-endpoint", value="isolate-endpoint"),
            CardAction(type="messageBack", title="Cancel", text="cancel", value={"n": 1}),
        ],
    )
    return message


def prompt(text: str) -> Activity:
    message = MessageFactory.text(text)
    message.input_hint = InputHints.expecting_input
    return message


def card_update(card: dict[str, Any], activity_id: str | None = "1699999999999") -> Activity:
    # With an id: a legacy Action.Submit's answer, the clicked card replaced (bot/teams/handler.py).
    message = MessageFactory.attachment(CardFactory.adaptive_card(card))
    message.id = activity_id
    return message


PERSONAL = ChannelConversation.personal(USER)
CHANNEL = ChannelConversation.channel("SOC", "Alerts")

SHAPES: dict[str, tuple[str, ChannelConversation, Any]] = {
    "text": ("message", PERSONAL, lambda: MessageFactory.text("pong")),
    "plain string": ("message", PERSONAL, lambda: "Done."),
    "prompt": ("message", PERSONAL, lambda: prompt("Severity? (low, medium, high)")),
    "card": ("message", PERSONAL, lambda: card_update(CARD, activity_id=None)),
    "text and card": ("message", PERSONAL, lambda: with_text(CARD, "Alert INC-1")),
    "reply in a channel thread": ("message", CHANNEL, lambda: MessageFactory.text("in thread")),
    "card reply in a channel": ("message", CHANNEL, lambda: with_text(CARD, "")),
    "mentions and entities": ("message", CHANNEL, mentioning),
    "channelData": ("message", CHANNEL, with_channel_data),
    "suggestedActions": ("message", PERSONAL, suggesting),
    "typing": ("message", PERSONAL, lambda: Activity(type=ActivityTypes.typing)),
    "welcome card": (
        "conversationUpdate",
        CHANNEL,
        lambda: MessageFactory.attachment(
            CardFactory.adaptive_card(core_commands.welcome_card(None, "channel"))
        ),
    ),
    "answer to a click": ("invoke", CHANNEL, lambda: MessageFactory.text("Approved.")),
}


def same_json(activity: Activity) -> None:
    direct = direct_json(activity)
    assert direct is not None, "the direct way out was not taken for a shape Vigil sends"
    expected = activity.serialize()
    assert json.dumps(direct, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False)
    assert json.dumps(direct) == json.dumps(expected)
    assert json.dumps(activity_json(activity)) == json.dumps(expected)


@pytest.mark.parametrize("shape", SHAPES)
async def test_every_shape_vigil_sends_is_the_json_msrest_gives(shape: str):
    kind, conversation, build = SHAPES[shape]
    sent = await sent_in_turn(incoming(kind, conversation), build())
    same_json(sent)


async def test_a_card_update_is_the_json_msrest_gives():
    sent = await sent_in_turn(incoming("message", CHANNEL), card_update(CARD), update=True)
    assert sent.id == "1699999999999"
    same_json(sent)


async def test_a_proactive_shape_without_a_turn_is_the_json_msrest_gives():
    same_json(Activity(type="message", text="x", attachments=[], entities=[]))
    same_json(Activity(type="message", recipient=ChannelAccount(), channel_data={}))


@pytest.mark.parametrize(
    "unusual",
    [
        Activity(type="message", timestamp=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        Activity(type="message", channel_data=ChannelAccount(id="a model inside an object")),
        Activity(type="message", value={"tuple": (1, 2)}),
        Activity(type="message", value={1: "a key that is not a string"}),
        Activity(type="message", text=42),
        Activity(type="message", entities=[None]),
    ],
    ids=["timestamp", "model in channelData", "tuple", "int key", "int text", "None entity"],
)
def test_anything_else_goes_through_msrest(unusual: Activity):
    assert direct_json(unusual) is None
    assert activity_json(unusual) == unusual.serialize()
