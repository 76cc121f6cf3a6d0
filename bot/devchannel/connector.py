"""The Bot Connector REST subset of the local channel (v3 conversations), as Teams serves it.

Every call must carry the bot's bearer token (from the channel's token endpoint, audience the
OAuth scope); then injected faults and the body size limit apply; then the call is recorded.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web

from bot.devchannel.activities import ActivityIds
from bot.devchannel.identity import ChannelConversation, ChannelUser
from bot.devchannel.keys import SigningKey
from bot.devchannel.record import CallLog

_FAULT_CODES = {
    412: "PreconditionFailed",
    429: "Throttled",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
}


@dataclass
class ConversationState:
    """What the channel knows of one conversation: who is in it and which activities exist."""

    conversation: ChannelConversation | None
    members: dict[str, ChannelUser] = field(default_factory=dict)
    activities: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)  # activity id -> seq of its last change


def error_response(status: int, code: str, message: str, **headers: str) -> web.Response:
    """The connector's ErrorResponse shape: {"error": {"code", "message"}}."""
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


class Connector:
    """Connector state and handlers; `add_routes` mounts them on the channel's app."""

    def __init__(
        self,
        *,
        key: SigningKey,
        app_id: str,
        oauth_scope: str,
        login_issuer: str,
        ids: ActivityIds,
        log: CallLog,
    ) -> None:
        self._key = key
        self._app_id = app_id
        self._oauth_scope = oauth_scope
        self._login_issuer = login_issuer
        self._ids = ids
        self.log = log
        self.conversations: dict[str, ConversationState] = {}
        self.users: dict[str, ChannelUser] = {}
        self._faults: deque[tuple[int, float | None]] = deque()
        self.body_limit: int | None = None
        self.service_url = ""

    def add_routes(self, app: web.Application) -> None:
        base = "/v3/conversations"
        app.router.add_post(base, self._create_conversation)
        app.router.add_post(base + "/{cid}/activities", self._send)
        app.router.add_post(base + "/{cid}/activities/{aid}", self._reply)
        app.router.add_put(base + "/{cid}/activities/{aid}", self._update)
        app.router.add_delete(base + "/{cid}/activities/{aid}", self._delete)
        app.router.add_get(base + "/{cid}/members", self._members)
        app.router.add_get(base + "/{cid}/pagedmembers", self._paged_members)
        app.router.add_get(base + "/{cid}/members/{mid}", self._member)
        app.router.add_get("/v3/teams/{tid}", self._team_info)
        app.router.add_get("/v3/teams/{tid}/conversations", self._team_channels)

    # Knowledge of users and conversations

    def register(self, conversation: ChannelConversation, *users: ChannelUser) -> None:
        state = self.conversations.setdefault(conversation.id, ConversationState(conversation))
        if state.conversation is None:
            state.conversation = conversation
        for user in users:
            state.members[user.teams_id] = user
            self.users[user.teams_id] = user

    def remember_activity(self, conversation_id: str, activity: dict[str, Any]) -> None:
        state = self.conversations.setdefault(conversation_id, ConversationState(None))
        state.activities[str(activity.get("id"))] = activity

    def activity(self, conversation_id: str, activity_id: str) -> dict[str, Any] | None:
        state = self.conversations.get(conversation_id)
        return None if state is None else state.activities.get(activity_id)

    def version(self, conversation_id: str, activity_id: str) -> int | None:
        """The seq of the call that sent or last updated the activity, while it exists."""
        state = self.conversations.get(conversation_id)
        return None if state is None else state.versions.get(activity_id)

    def _remember_version(self, conversation_id: str, activity_id: str, seq: int) -> None:
        state = self.conversations.get(conversation_id)
        if state is not None and activity_id in state.activities:
            state.versions[activity_id] = seq

    # Faults

    def inject_faults(self, status: int, count: int, retry_after: float | None) -> None:
        if not 400 <= status <= 599 or count < 0:
            raise ValueError("status must be 4xx/5xx and count non-negative")
        self._faults.extend([(status, retry_after)] * count)

    # Checks common to every call, in the service's order: auth, faults, size, JSON.

    async def _check(self, request: web.Request, kind: str) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        try:
            if scheme != "Bearer" or not token:
                raise jwt.InvalidTokenError("no bearer token")
            claims = self._key.verify(token, audience=self._oauth_scope, issuer=self._login_issuer)
            if claims.get("appid") != self._app_id:
                raise jwt.InvalidTokenError("wrong appid")
        except jwt.InvalidTokenError:
            self._record(request, kind, status=401)
            return web.json_response(
                {"message": "Authorization has been denied for this request."}, status=401
            )
        if self._faults:
            status, retry_after = self._faults.popleft()
            self._record(request, kind, status=status)
            headers = {} if retry_after is None else {"Retry-After": _seconds(retry_after)}
            code = _FAULT_CODES.get(status, "ServiceError")
            return error_response(status, code, f"Injected fault {status}", **headers)
        if self.body_limit is not None and (request.content_length or 0) > self.body_limit:
            self._record(request, kind, status=413)
            return error_response(413, "MessageSizeTooBig", "Message size too big")
        return None

    async def _body(self, request: web.Request, kind: str) -> dict[str, Any] | web.Response:
        raw = await request.read()
        if self.body_limit is not None and len(raw) > self.body_limit:
            self._record(request, kind, status=413)
            return error_response(413, "MessageSizeTooBig", "Message size too big")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            self._record(request, kind, status=400)
            return error_response(400, "BadSyntax", "Request body is not JSON")
        if not isinstance(body, dict):
            self._record(request, kind, status=400)
            return error_response(400, "BadArgument", "Request body must be a JSON object")
        return body

    def _record(self, request: web.Request, kind: str, *, status: int, **fields: Any):
        info = request.match_info
        fields.setdefault("conversation_id", info.get("cid"))
        fields.setdefault("activity_id", info.get("aid"))
        fields.setdefault("activity", None)
        return self.log.add(
            method=request.method, path=request.path, kind=kind, status=status, **fields
        )

    async def _activity_call(self, request: web.Request, kind: str) -> web.Response:
        if (failed := await self._check(request, kind)) is not None:
            return failed
        body = await self._body(request, kind)
        if isinstance(body, web.Response):
            return body
        cid = request.match_info["cid"]
        if cid not in self.conversations:
            self._record(request, kind, status=404)
            return error_response(404, "ConversationNotFound", "Conversation not found.")
        if not isinstance(body.get("type"), str):
            self._record(request, kind, status=400)
            return error_response(400, "BadArgument", "Activity type is required")
        aid = request.match_info.get("aid")
        if kind in ("reply", "update") and self.activity(cid, aid or "") is None:
            if kind == "update":
                self._record(request, kind, status=404)
                return error_response(404, "ActivityNotFound", "Activity not found.")
        new_id = aid if kind == "update" else self._ids.next()
        activity = dict(body, id=new_id)
        if kind == "reply":
            activity["replyToId"] = aid
        self.remember_activity(cid, activity)
        call = self._record(request, kind, status=200, activity_id=new_id, activity=activity)
        self._remember_version(cid, new_id, call.seq)
        return web.json_response({"id": new_id})

    async def _send(self, request: web.Request) -> web.Response:
        return await self._activity_call(request, "send")

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._activity_call(request, "reply")

    async def _update(self, request: web.Request) -> web.Response:
        return await self._activity_call(request, "update")

    async def _delete(self, request: web.Request) -> web.Response:
        if (failed := await self._check(request, "delete")) is not None:
            return failed
        cid, aid = request.match_info["cid"], request.match_info["aid"]
        state = self.conversations.get(cid)
        if state is None or aid not in state.activities:
            self._record(request, "delete", status=404)
            return error_response(404, "ActivityNotFound", "Activity not found.")
        del state.activities[aid]
        state.versions.pop(aid, None)
        self._record(request, "delete", status=200)
        return web.Response(status=200)

    async def _create_conversation(self, request: web.Request) -> web.Response:
        if (failed := await self._check(request, "create")) is not None:
            return failed
        body = await self._body(request, "create")
        if isinstance(body, web.Response):
            return body
        target = self._creation_target(body)
        if isinstance(target, str):
            self._record(request, "create", status=400, conversation_id=None)
            return error_response(400, "BadArgument", target)
        conversation, user = target
        initial = body.get("activity")
        activity_id = None
        recorded = None
        if isinstance(initial, dict):
            activity_id = self._ids.next()
            recorded = dict(initial, id=activity_id)
        cid = conversation.id
        if conversation.kind == "channel" and activity_id:
            cid = f"{conversation.id};messageid={activity_id}"
        self.register(conversation, *([user] if user else []))
        self.conversations[cid] = self.conversations[conversation.id]
        if recorded is not None:
            self.remember_activity(cid, recorded)
        call = self._record(
            request,
            "create",
            status=201,
            conversation_id=cid,
            activity_id=activity_id,
            activity=recorded,
        )
        if activity_id:
            self._remember_version(cid, activity_id, call.seq)
        result = {"id": cid, "serviceUrl": self.service_url}
        if activity_id:
            result["activityId"] = activity_id
        return web.json_response(result, status=201)

    def _creation_target(
        self, body: dict[str, Any]
    ) -> tuple[ChannelConversation, ChannelUser | None] | str:
        """The conversation a create request opens, or the reason it is refused."""
        channel_data = body.get("channelData") or {}
        channel = channel_data.get("channel") if isinstance(channel_data, dict) else None
        if isinstance(channel, dict) and isinstance(channel.get("id"), str):
            state = self.conversations.get(channel["id"])
            if state is None or state.conversation is None:
                return "Unknown channel"
            if not isinstance(body.get("activity"), dict):
                return "A channel thread needs an activity"
            return state.conversation, None
        members = body.get("members")
        if body.get("isGroup") or not isinstance(members, list) or len(members) != 1:
            return "Bots can only create 1:1 conversations or channel threads"
        member = members[0]
        user = self.users.get(member.get("id")) if isinstance(member, dict) else None
        if user is None:
            return "Unknown member"
        return ChannelConversation.personal(user), user

    def _known_members(self, cid: str) -> list[ChannelUser] | None:
        state = self.conversations.get(cid)
        return None if state is None else list(state.members.values())

    async def _members(self, request: web.Request) -> web.Response:
        return await self._member_list(request, lambda members: members)

    async def _paged_members(self, request: web.Request) -> web.Response:
        return await self._member_list(
            request, lambda members: {"continuationToken": None, "members": members}
        )

    async def _member_list(
        self, request: web.Request, shape: Callable[[list[dict[str, Any]]], Any]
    ) -> web.Response:
        """The conversation's members, in the answer's `shape` (a list, or one page of them)."""
        if (failed := await self._check(request, "members")) is not None:
            return failed
        members = self._known_members(request.match_info["cid"])
        if members is None:
            self._record(request, "members", status=404)
            return error_response(404, "ConversationNotFound", "Conversation not found.")
        self._record(request, "members", status=200)
        return web.json_response(shape([m.member() for m in members]))

    async def _member(self, request: web.Request) -> web.Response:
        if (failed := await self._check(request, "member")) is not None:
            return failed
        members = self._known_members(request.match_info["cid"]) or []
        wanted = request.match_info["mid"]
        found = [m for m in members if wanted in (m.teams_id, m.aad_object_id)]
        if not found:
            self._record(request, "member", status=404)
            return error_response(404, "MemberNotFound", "Member not found.")
        self._record(request, "member", status=200)
        return web.json_response(found[0].member())

    def _find_team(
        self, team_id: str
    ) -> tuple[ChannelConversation, list[ChannelConversation]] | None:
        channels = [
            s.conversation
            for s in self.conversations.values()
            if s.conversation is not None and s.conversation.team_id == team_id
        ]
        channels = list({c.id: c for c in channels}.values())
        return (channels[0], channels) if channels else None

    async def _team_info(self, request: web.Request) -> web.Response:
        def info(first: ChannelConversation, channels: list[ChannelConversation]) -> Any:
            members = {m for c in channels for m in self.conversations[c.id].members}
            return {
                "id": first.team_id,
                "name": first.team_name,
                "aadGroupId": first.team_aad_group_id,
                "channelCount": len(channels),
                "memberCount": len(members),
            }

        return await self._team_answer(request, info)

    async def _team_channels(self, request: web.Request) -> web.Response:
        def listing(_: ChannelConversation, channels: list[ChannelConversation]) -> Any:
            return {
                "conversations": [
                    {
                        "id": c.channel_id,
                        "name": None if c.channel_name == "General" else c.channel_name,
                    }
                    for c in channels
                ]
            }

        return await self._team_answer(request, listing)

    async def _team_answer(
        self,
        request: web.Request,
        answer: Callable[[ChannelConversation, list[ChannelConversation]], Any],
    ) -> web.Response:
        """`answer` about the team (its first channel, all its channels), or 404."""
        if (failed := await self._check(request, "team")) is not None:
            return failed
        team = self._find_team(request.match_info["tid"])
        if team is None:
            self._record(request, "team", status=404, conversation_id=None)
            return error_response(404, "NotFound", "Team not found.")
        self._record(request, "team", status=200, conversation_id=team[0].team_id)
        return web.json_response(answer(*team))


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _channel_name(conversation: ChannelConversation) -> str | None:
    return None if conversation.channel_name == "General" else conversation.channel_name
