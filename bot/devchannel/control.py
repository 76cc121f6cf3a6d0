"""The local channel's control API, so another process (`vigil chat`) can chat through it.

`POST /_local/send` with a JSON object:

    {"user": {"aad_object_id": GUID, "name": str, "tenant_id"?: str, "groups"?: [str]},
     "conversation": {"kind": "personal"} | {"kind": "channel", "team_name": str,
                      "channel_name"?: str} | {"kind": "groupChat", "name": str},
     "type": "message" (default) | "action" | "submit" | "conversationUpdate"
             | "installationUpdate",
     "text": str, "mention"?: bool,                               (message)
     "verb": str, "data"?: object, "reply_to_id": str, "trigger"?: "manual" | "automatic"  (action)
     "data": object, "reply_to_id": str                           (submit)
     "action"?: "add" | "remove"                                  (installationUpdate)}

answers `{"status": <the bot's HTTP status>, "activity_id": str, "conversation_id": str,
"body": <the bot's JSON answer, e.g. an invoke response>, "seq": <last recorded call>}`,
or 400 with `{"error": reason}`, or 502 when the bot cannot be reached.

`GET /_local/events?conversation=ID&after=N&wait=S[&instance=I]` long-polls (S seconds, at most
60) for what the bot sent to the conversation after sequence number N: `{"events": [{"seq", "kind"
(send, reply, update, delete, create), "conversation_id", "activity_id", "activity"}], "last": N,
"instance": I}`. `instance` names this run of the channel: sequence numbers start again when the
channel restarts, so a poll naming another instance is answered at once, without waiting.

`GET /_local/activity?conversation=ID&id=ACTIVITY` answers the current version of an activity the
bot sent: `{"activity": {...}, "version": <seq of the call that sent or last updated it>}`, or 404
once it was deleted (or was never sent to this run of the channel).

`GET /_local/standins` shows the Graph and Defender stand-ins' state (see standins.py snapshot),
404 when the channel runs without them.

Conversation ids are derived from names, so both sides compute the same ones. Only loopback
peers are served, the Host header must name a loopback host (no DNS rebinding) and POST bodies
must be application/json (so a web page cannot send a simple cross-origin form).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from bot.devchannel import activities
from bot.devchannel.identity import ChannelConversation, ChannelUser
from bot.kernel.config import is_loopback_host

if TYPE_CHECKING:
    from bot.devchannel.channel import LocalChannel

MAX_BODY = 256 * 1024
MAX_WAIT = 60.0
EVENT_KINDS = ("send", "reply", "update", "delete", "create")
SEND_TYPES = ("message", "action", "submit", "conversationUpdate", "installationUpdate")


def add_control_routes(app: web.Application, channel: LocalChannel) -> None:
    app.router.add_post("/_local/send", _guard(lambda r: _send(r, channel)))
    app.router.add_get("/_local/events", _guard(lambda r: _events(r, channel)))
    app.router.add_get("/_local/standins", _guard(lambda r: _standins(r, channel)))
    app.router.add_get("/_local/activity", _guard(lambda r: _activity_version(r, channel)))


def _guard(handler: Callable) -> Callable:
    async def guarded(request: web.Request) -> web.StreamResponse:
        host = request.url.host or ""
        if not is_loopback_host(host):
            return web.json_response({"error": "Host must be a loopback address"}, status=403)
        return await handler(request)

    return guarded


def _bad(reason: str, status: int = 400) -> web.Response:
    return web.json_response({"error": reason}, status=status)


async def _send(request: web.Request, channel: LocalChannel) -> web.Response:
    if request.content_type != "application/json":
        return _bad("Content-Type must be application/json", 415)
    if (request.content_length or 0) > MAX_BODY:
        return _bad("body too large", 413)
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return _bad("body too large", 413)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _bad("body is not JSON")
    if not isinstance(body, dict):
        return _bad("body must be a JSON object")
    try:
        user = ChannelUser.from_dict(body.get("user"))
        conversation = ChannelConversation.from_dict(body.get("conversation"), user)
        activity = _activity(body, user, conversation, channel)
    except ValueError as exc:
        return _bad(str(exc))
    try:
        status, answer = await channel.post_activity(user, conversation, activity)
    except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
        return _bad(f"bot unreachable: {type(exc).__name__}", 502)
    return web.json_response(
        {
            "status": status,
            "activity_id": activity["id"],
            "conversation_id": conversation.id,
            "body": answer,
            "seq": channel.last_seq,
        }
    )


def _activity(
    body: dict[str, Any],
    user: ChannelUser,
    conversation: ChannelConversation,
    channel: LocalChannel,
) -> dict[str, Any]:
    kind = body.get("type", "message")
    if kind not in SEND_TYPES:
        raise ValueError(f"type must be one of {', '.join(SEND_TYPES)}")
    if kind == "message":
        text = body.get("text")
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        base = channel.new_activity("message", user, conversation)
        return activities.message(base, text, channel.bot, mention=bool(body.get("mention")))
    if kind == "conversationUpdate":
        base = channel.new_activity("conversationUpdate", user, conversation)
        return activities.conversation_update(
            base, conversation, [user], channel.bot, bot_added=bool(body.get("bot_added"))
        )
    if kind == "installationUpdate":
        base = channel.new_activity("installationUpdate", user, conversation)
        return activities.installation_update(base, str(body.get("action", "add")))
    data = body.get("data", {})
    reply_to_id = body.get("reply_to_id")
    if not isinstance(data, dict):
        raise ValueError("data must be an object")
    if not isinstance(reply_to_id, str) or not reply_to_id:
        raise ValueError("reply_to_id must be a non-empty string")
    if kind == "submit":
        base = channel.new_activity("message", user, conversation)
        return activities.submit(base, data, reply_to_id)
    verb = body.get("verb")
    trigger = body.get("trigger", "manual")
    if not isinstance(verb, str):
        raise ValueError("verb must be a string")
    if trigger not in ("manual", "automatic"):
        raise ValueError("trigger must be manual or automatic")
    base = channel.new_activity("invoke", user, conversation)
    return activities.card_action(
        base, verb=verb, data=data, reply_to_id=reply_to_id, trigger=trigger
    )


async def _events(request: web.Request, channel: LocalChannel) -> web.Response:
    query = request.query
    conversation_id = query.get("conversation", "")
    if not conversation_id or len(conversation_id) > 300:
        return _bad("conversation is required")
    try:
        after = int(query.get("after", "0"))
        wait = float(query.get("wait", "0"))
    except ValueError:
        return _bad("after must be an integer and wait a number")
    if after < 0 or not 0 <= wait <= MAX_WAIT:
        return _bad(f"after must be >= 0 and wait from 0 to {MAX_WAIT:g}")
    if wait and query.get("instance", channel.instance) == channel.instance:
        await channel.wait_after(after, conversation_id, wait)
    calls = [c for c in channel.sent(conversation_id) if c.seq > after and c.kind in EVENT_KINDS]
    events = [
        {
            "seq": c.seq,
            "kind": c.kind,
            "conversation_id": c.conversation_id,
            "activity_id": c.activity_id,
            "activity": c.activity,
        }
        for c in calls
    ]
    return web.json_response(
        {"events": events, "last": channel.last_seq, "instance": channel.instance}
    )


async def _standins(request: web.Request, channel: LocalChannel) -> web.Response:
    if channel.standins is None:
        return _bad("this channel runs without the Graph and Defender stand-ins", 404)
    return web.json_response(channel.standins.snapshot())


async def _activity_version(request: web.Request, channel: LocalChannel) -> web.Response:
    conversation_id = request.query.get("conversation", "")
    activity_id = request.query.get("id", "")
    if not conversation_id or not activity_id:
        return _bad("conversation and id are required")
    activity = channel.activity(conversation_id, activity_id)
    version = channel.activity_version(conversation_id, activity_id)
    if activity is None or version is None:
        return _bad("no such activity", 404)
    return web.json_response({"activity": activity, "version": version})
