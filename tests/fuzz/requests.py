"""One fuzzed request each, drawn from Hypothesis' `data` and posted to a live Vigil with valid
credentials (a channel token for /api/messages, the source's HMAC or token for alerts).

Each returns the HTTP status, so tests assert on it and bench/fuzz.py counts it."""

from __future__ import annotations

from typing import Any

import aiohttp
from hypothesis import strategies as st

from bot.devchannel.channel import ChannelConversation
from tests.alerts.samples import sample
from tests.alerts.webhook import TOKEN, signed_headers
from tests.bot.harness import ADMIN, ANALYST, APPROVER, NOBODY, Harness
from tests.fuzz import inputs

USERS = (ADMIN, ANALYST, APPROVER, NOBODY)
ALERTS_CHANNEL = ChannelConversation.channel("SOC", "Alerts")
ACTIVITY_KINDS = (
    "message",
    "message",
    "message",
    "invoke",
    "invoke",
    "conversationUpdate",
    "installationUpdate",
    "messageReaction",
    "event",
    "typing",
)
INVOKE_NAMES = ("adaptiveCard/action", "composeExtension/query", "task/fetch", "signin/verifyState")
# Where mutations land: what Vigil reads, and its parents.
ACTIVITY_PATHS = (
    ("id",),
    ("replyToId",),
    ("text",),
    ("value",),
    ("name",),
    ("type",),
    ("timestamp",),
    ("locale",),
    ("entities",),
    ("attachments",),
    ("from",),
    ("from", "id"),
    ("from", "name"),
    ("from", "aadObjectId"),
    ("recipient",),
    ("recipient", "id"),
    ("conversation",),
    ("conversation", "id"),
    ("conversation", "tenantId"),
    ("conversation", "conversationType"),
    ("channelData",),
    ("channelData", "team"),
    ("channelData", "team", "id"),
    ("channelData", "channel"),
    ("channelData", "tenant"),
    ("channelData", "tenant", "id"),
    ("membersAdded",),
    ("value", "action"),
    ("value", "action", "verb"),
    ("value", "action", "data"),
    ("value", "trigger"),
)
mention_entity = st.fixed_dictionaries(
    {
        "type": st.just("mention"),
        "text": inputs.hostile_text | st.just("<at>Vigil</at>"),
        "mentioned": st.fixed_dictionaries({"id": inputs.scalars, "name": inputs.scalars}),
    }
)
member = st.fixed_dictionaries({"id": inputs.scalars}, optional={"name": inputs.scalars})


def draw_activity(data: st.DataObject, bot: Harness, kind: str | None = None) -> tuple[Any, Any]:
    """A Teams activity with fuzzed content and a few fields replaced or removed: the sender
    and conversation to register with the channel, and the document to post."""
    user = data.draw(st.sampled_from(USERS), label="user")
    conversation = data.draw(
        st.sampled_from([ChannelConversation.personal(user), ALERTS_CHANNEL]), label="conversation"
    )
    kind = kind or data.draw(st.sampled_from(ACTIVITY_KINDS), label="kind")
    activity: dict[str, Any] = bot.channel.new_activity(kind, user, conversation)
    if kind == "message":
        activity["text"] = data.draw(inputs.command_text | inputs.hostile_text, label="text")
        if data.draw(st.booleans(), label="with mention"):
            activity["entities"].append(data.draw(mention_entity, label="mention"))
        if data.draw(st.integers(0, 4), label="submit") == 0:
            activity["text"] = ""
            activity["value"] = data.draw(inputs.card_data | inputs.json_values, label="value")
    elif kind == "invoke":
        activity["name"] = data.draw(
            inputs.mostly(st.sampled_from(INVOKE_NAMES), inputs.scalars), label="invoke name"
        )
        activity["value"] = data.draw(inputs.card_action_value | inputs.json_values, label="value")
        activity["replyToId"] = data.draw(
            inputs.mostly(st.just("1"), inputs.scalars), label="replyToId"
        )
    elif kind == "conversationUpdate":
        activity["membersAdded"] = data.draw(st.lists(member, max_size=3), label="members")
    mutations = data.draw(
        st.lists(st.tuples(st.sampled_from(ACTIVITY_PATHS), inputs.replacement), max_size=2),
        label="mutations",
    )
    for path, value in mutations:
        inputs.mutate(activity, path, value)
    return (user, conversation), activity


def draw_card_action(data: st.DataObject, bot: Harness) -> tuple[Any, Any]:
    """An Action.Execute click with a fuzzed verb, data and trigger (and sometimes fields gone)."""
    return draw_activity(data, bot, kind="invoke")


async def post_activity(bot: Harness, drawn: tuple[Any, Any]) -> int:
    (user, conversation), activity = drawn
    bot.channel.register(conversation, user)  # so the bot's replies find the conversation
    return await bot.channel.post_raw(inputs.to_body(activity))


def draw_alert(data: st.DataObject, source: str) -> Any:
    """The source's vendor sample with a few values replaced or removed, or any JSON at all."""
    if data.draw(st.integers(0, 5), label="whole body") == 0:
        return data.draw(inputs.json_values, label="body")
    body = sample(source)
    paths = inputs.paths_of(body)
    mutations = data.draw(
        st.lists(st.tuples(st.sampled_from(paths), inputs.replacement), min_size=1, max_size=4),
        label="mutations",
    )
    for path, value in mutations:
        inputs.mutate(body, path, value)
    return body


async def post_alert(bot: Harness, source: str, body: Any) -> int:
    """POST with the source's credential: an HMAC signature, or Splunk's bearer token."""
    raw = inputs.to_body(body)
    if source == "splunk":
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    else:
        headers = signed_headers(raw)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{bot.url}/api/alerts/{source}", data=raw, headers=headers) as answer:
            await answer.read()
            return answer.status
