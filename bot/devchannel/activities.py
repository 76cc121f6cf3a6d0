"""Teams-shaped activities as the Teams channel posts them to a bot's /api/messages."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from dataclasses import dataclass
from typing import Any

from bot.devchannel.identity import ChannelConversation, ChannelUser

LOCALE = "en-US"
TIMEZONE = "Etc/UTC"
INSTALLATION_ACTIONS = ("add", "remove", "add-upgrade", "remove-upgrade")


class ActivityIds:
    """Unique, increasing message ids like Teams' (epoch milliseconds)."""

    def __init__(self) -> None:
        self._counter = itertools.count(int(time.time() * 1000))

    def next(self) -> str:
        return str(next(self._counter))


@dataclass(frozen=True)
class BotIdentity:
    """The bot as Teams addresses it: `28:<app id>` and its display name."""

    app_id: str
    name: str = "Vigil"

    def account(self) -> dict[str, Any]:
        return {"id": f"28:{self.app_id}", "name": self.name}

    @property
    def mention_text(self) -> str:
        return f"<at>{self.name}</at>"


def base_activity(
    kind: str,
    user: ChannelUser,
    conversation: ChannelConversation,
    bot: BotIdentity,
    service_url: str,
    activity_id: str,
) -> dict[str, Any]:
    """The properties every Teams activity carries."""
    now = dt.datetime.now(dt.UTC)
    return {
        "type": kind,
        "id": activity_id,
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "localTimestamp": now.isoformat(timespec="milliseconds"),
        "localTimezone": TIMEZONE,
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": user.account(),
        "conversation": conversation.account(),
        "recipient": bot.account(),
        "entities": [
            {
                "type": "clientInfo",
                "locale": LOCALE,
                "country": "US",
                "platform": "Web",
                "timezone": TIMEZONE,
            }
        ],
        "channelData": conversation.channel_data(),
        "locale": LOCALE,
    }


def message(
    activity: dict[str, Any], text: str, bot: BotIdentity, *, mention: bool
) -> dict[str, Any]:
    """A text message; with `mention` it starts with `<at>Bot</at>` and a mention entity."""
    activity["textFormat"] = "plain"
    activity["attachments"] = []
    if mention:
        activity["text"] = f"{bot.mention_text} {text}"
        activity["entities"].append(
            {"type": "mention", "mentioned": bot.account(), "text": bot.mention_text}
        )
    else:
        activity["text"] = text
    return activity


def card_action(
    activity: dict[str, Any], *, verb: str, data: dict[str, Any], reply_to_id: str, trigger: str
) -> dict[str, Any]:
    """The `adaptiveCard/action` invoke that an Action.Execute click sends."""
    activity["name"] = "adaptiveCard/action"
    activity["replyToId"] = reply_to_id
    activity["value"] = {
        "action": {"type": "Action.Execute", "id": "", "verb": verb, "data": data},
        "trigger": trigger,
    }
    activity["channelData"]["source"] = {"name": "message"}
    activity["channelData"]["legacy"] = {"replyToId": reply_to_id}
    return activity


def submit(activity: dict[str, Any], data: dict[str, Any], reply_to_id: str) -> dict[str, Any]:
    """The message a legacy Action.Submit click sends: no text, the data as `value`."""
    activity["replyToId"] = reply_to_id
    activity["value"] = data
    activity["textFormat"] = "plain"
    activity["channelData"]["source"] = {"name": "message"}
    activity["channelData"]["legacy"] = {"replyToId": reply_to_id}
    return activity


def conversation_update(
    activity: dict[str, Any],
    conversation: ChannelConversation,
    members_added: list[ChannelUser],
    bot: BotIdentity,
    *,
    bot_added: bool,
) -> dict[str, Any]:
    """Members (and maybe the bot) added to a conversation."""
    added = [{"id": m.teams_id, "aadObjectId": m.aad_object_id} for m in members_added]
    if bot_added:
        added.append({"id": bot.account()["id"]})
    activity["membersAdded"] = added
    if conversation.kind == "channel":
        activity["channelData"]["eventType"] = "teamMemberAdded"
    return activity


def installation_update(activity: dict[str, Any], action: str) -> dict[str, Any]:
    if action not in INSTALLATION_ACTIONS:
        raise ValueError(f"action must be one of {', '.join(INSTALLATION_ACTIONS)}")
    activity["action"] = action
    return activity
