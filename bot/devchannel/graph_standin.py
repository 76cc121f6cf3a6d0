"""A local Microsoft Graph: teams, their channels and members, for `vigil serve --local` and the
tests' Graph fake.

Shapes follow the Graph v1.0 reference: `GET /teams/{group-id}` (the team), `GET
/teams/{group-id}/channels` with `$filter=displayName eq '...'` (`{"@odata.context", "value"}`),
`POST /teams/{group-id}/channels` (201 with the channel; 400 for a bad body or a name taken),
`GET /teams/{group-id}/channels/{channel-id}`, `GET /teams/{group-id}/members`
(aadUserConversationMember); errors as `{"error": {"code", "message", "innerError"}}`.

Channel ids are the ones the local channel derives from the team and channel names, so a
channel made here is the channel `vigil chat --channel TEAM/NAME` talks in. Who may call is not
decided here: the local setup checks the channel's signed tokens in front of these routes
(`standins.py`), the tests' fake its own tokens.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.devchannel.identity import LOCAL_TENANT, ChannelConversation, ChannelUser

GRAPH_RESOURCE = "https://graph.microsoft.com"
FORBIDDEN = set("~#%&*{}+/\\:<>?|'\",")
MEMBERSHIP = ("standard", "private", "shared")


@dataclass
class GraphStandin:
    """Teams (by Entra group id), their channels and members; `on_created` hears of each channel
    made, so the local channel can let the bot post in it as Teams would."""

    teams: set[str] = field(default_factory=set)
    team_names: dict[str, str] = field(default_factory=dict)
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    conflict_status: int = 400
    on_created: Callable[[str, dict[str, Any]], None] | None = None
    tenant_id: str = LOCAL_TENANT
    base_url: str = ""  # where the service answers, without /v1.0

    @property
    def graph_url(self) -> str:
        """The Graph base URL Vigil is given (VIGIL_GRAPH_URL)."""
        return f"{self.base_url}/v1.0"

    def add_team(
        self, name: str, channel_names: tuple[str, ...] = (), users: tuple[ChannelUser, ...] = ()
    ) -> str:
        """A team as the local channel knows it (General plus `channel_names`); its group id."""
        general = ChannelConversation.channel(name, "General", tenant_id=self.tenant_id)
        group = str(general.team_aad_group_id)
        self.teams.add(group)
        self.team_names[group] = name
        for channel_name in ("General", *channel_names):
            self.channels.setdefault(group, []).append(self._channel(group, channel_name, ""))
        self.members[group] = [self._member(user) for user in users]
        return group

    def add_routes(self, app: web.Application) -> None:
        """The service's routes under `/v1.0` of `app`."""
        app.router.add_get("/v1.0/teams/{group}", self._team)
        app.router.add_post("/v1.0/teams/{group}/channels", self._create_channel)
        app.router.add_get("/v1.0/teams/{group}/channels", self._list_channels)
        app.router.add_get("/v1.0/teams/{group}/channels/{channel}", self._get_channel)
        app.router.add_get("/v1.0/teams/{group}/members", self._list_members)

    def find(self, group: str, name: str) -> dict[str, Any] | None:
        return next((c for c in self.channels.get(group, []) if c["displayName"] == name), None)

    def conversation(self, group: str, channel: dict[str, Any]) -> ChannelConversation:
        """The local channel's conversation for a channel of this service."""
        return ChannelConversation.channel(
            self.team_names.get(group, group), channel["displayName"], tenant_id=self.tenant_id
        )

    # --- handlers ------------------------------------------------------------------------------

    async def _team(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        if group not in self.teams:
            return _no_team(group)
        general = ChannelConversation.channel(
            self.team_names.get(group, group), tenant_id=self.tenant_id
        )
        return web.json_response(
            {
                "@odata.context": f"{self.graph_url}/$metadata#teams/$entity",
                "id": group,
                "createdDateTime": None,
                "displayName": self.team_names.get(group, group),
                "description": None,
                "internalId": general.team_id,
                "classification": None,
                "visibility": "private",
                "webUrl": f"https://teams.microsoft.com/l/team/{quote(str(general.team_id))}"
                f"/conversations?groupId={group}&tenantId={self.tenant_id}",
                "isArchived": False,
            }
        )

    async def _list_channels(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        if group not in self.teams:
            return _no_team(group)
        channels = self.channels.get(group, [])
        wanted = request.query.get("$filter", "")
        if wanted:
            prefix, suffix = "displayName eq '", "'"
            if not (wanted.startswith(prefix) and wanted.endswith(suffix)):
                return graph_error(400, "BadRequest", "Unsupported filter.")
            name = wanted[len(prefix) : -len(suffix)].replace("''", "'")
            channels = [c for c in channels if c["displayName"] == name]
        context = f"{self.graph_url}/$metadata#teams('{group}')/channels"
        return web.json_response({"@odata.context": context, "value": channels})

    async def _get_channel(self, request: web.Request) -> web.Response:
        group, wanted = request.match_info["group"], request.match_info["channel"]
        if group not in self.teams:
            return _no_team(group)
        found = next((c for c in self.channels.get(group, []) if c["id"] == wanted), None)
        if found is None:
            return graph_error(404, "NotFound", f"Channel {wanted} not found")
        return web.json_response(found)

    async def _list_members(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        if group not in self.teams:
            return _no_team(group)
        context = f"{self.graph_url}/$metadata#teams('{group}')/members"
        return web.json_response({"@odata.context": context, "value": self.members.get(group, [])})

    async def _create_channel(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        try:
            body = await request.json()
        except ValueError:
            body = None
        if group not in self.teams:
            return _no_team(group)
        problem = _body_problem(body)
        if problem:
            return graph_error(400, "BadRequest", problem)
        existing = self.channels.setdefault(group, [])
        name = body["displayName"]
        if any(channel["displayName"].lower() == name.lower() for channel in existing):
            return graph_error(
                self.conflict_status,
                "NameAlreadyExists",
                "Channel name already existed, please use other name.",
            )
        channel = self._channel(
            group, name, body.get("description"), body.get("membershipType", "standard")
        )
        existing.append(channel)
        if self.on_created is not None:
            self.on_created(group, channel)
        return web.json_response(channel, status=201)

    def _channel(
        self, group: str, name: str, description: str | None, membership: str = "standard"
    ) -> dict[str, Any]:
        channel_id = ChannelConversation.channel(
            self.team_names.get(group, group), name, tenant_id=self.tenant_id
        ).id
        return {
            "@odata.context": f"{self.graph_url}/$metadata#teams('{group}')/channels/$entity",
            "id": channel_id,
            "createdDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "displayName": name,
            "description": description,
            "isFavoriteByDefault": None,
            "email": "",
            "webUrl": f"https://teams.microsoft.com/l/channel/{quote(channel_id, safe='')}/"
            f"{quote(name)}?groupId={group}&tenantId={self.tenant_id}",
            "membershipType": membership,
        }

    def _member(self, user: ChannelUser) -> dict[str, Any]:
        described = user.member()
        return {
            "@odata.type": "#microsoft.graph.aadUserConversationMember",
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, user.aad_object_id)),
            "roles": [],
            "displayName": user.name,
            "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
            "userId": user.aad_object_id,
            "email": described["email"],
            "tenantId": user.tenant_id,
        }


def _body_problem(body: Any) -> str:
    if not isinstance(body, dict):
        return "Request body must be a JSON object."
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        return "displayName is required."
    if len(name) > 50:
        return "displayName must be 50 characters or fewer."
    if FORBIDDEN & set(name) or name.startswith(("_", ".")):
        return "displayName contains characters that are not allowed."
    if body.get("membershipType", "standard") not in MEMBERSHIP:
        return "membershipType is invalid."
    description = body.get("description", "")
    if description is not None and (not isinstance(description, str) or len(description) > 1024):
        return "description must be a string of 1024 characters or fewer."
    if body.get("membershipType") == "private" and not body.get("members"):
        return "An owner is required to create a private channel with application permissions."
    return ""


def _no_team(group: str) -> web.Response:
    return graph_error(404, "NotFound", f"No team found with Group Id {group}")


def graph_error(status: int, code: str, message: str, **headers: str) -> web.Response:
    """Graph's error body, with the innerError Graph adds."""
    inner = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
        "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4()),
    }
    return web.json_response(
        {"error": {"code": code, "message": message, "innerError": inner}},
        status=status,
        headers=headers,
    )
