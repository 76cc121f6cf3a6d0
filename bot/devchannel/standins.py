"""Microsoft Graph and Defender for Endpoint beside the local channel, so incident channels and
isolation can be tried end to end with no Azure.

Both are served on the channel's HTTPS port (its CA, so VIGIL_CA_BUNDLE already trusts them):
Graph under `/graph/v1.0`, Defender under `/defender/api`. Their callers prove themselves with a
token from the channel's login authority, which Vigil gets with its app id and password exactly
as it gets its Bot Connector token; the token's audience must be the service's resource.

The demo tenant has one team, SOC (channels General and Approvals, the local users as members),
and three onboarded machines (ws-fin-042, ws-hr-007, srv-db-01 .corp.example.com). A channel
created through Graph becomes a channel of the local Teams, so Vigil can post its card there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jwt
from aiohttp import web

from bot.devchannel.auth import AuthEndpoints
from bot.devchannel.defender_standin import CLIENT_KEY, MDE_RESOURCE, DefenderStandin
from bot.devchannel.defender_standin import error as defender_error
from bot.devchannel.graph_standin import GRAPH_RESOURCE, GraphStandin, graph_error
from bot.devchannel.identity import ChannelConversation, ChannelUser

DEMO_TEAM = "SOC"
APPROVALS_CHANNEL = "Approvals"
GRAPH_PREFIX = "/graph"
DEFENDER_PREFIX = "/defender"

Register = Callable[..., None]


class LocalStandins:
    """The demo team in Graph and the demo machines in Defender, mounted on the channel's app."""

    def __init__(self, users: Sequence[ChannelUser] = ()) -> None:
        self.users = tuple(users)
        self.graph = GraphStandin()
        self.team_id = self.graph.add_team(DEMO_TEAM, (APPROVALS_CHANNEL,), self.users)
        self.defender = DefenderStandin.demo()
        self.defender_url = ""

    @property
    def approvals(self) -> ChannelConversation:
        return ChannelConversation.channel(DEMO_TEAM, APPROVALS_CHANNEL)

    @property
    def team_channels(self) -> tuple[ChannelConversation, ...]:
        """The team's channels Vigil is installed in from the start (Teams' conversationUpdate)."""
        return (ChannelConversation.channel(DEMO_TEAM), self.approvals)

    def mount(self, app: web.Application, auth: AuthEndpoints, register: Register) -> None:
        """Serve both under the channel's app; `register` makes a conversation known to Teams."""
        self.graph.base_url = auth.tls_base_url + GRAPH_PREFIX
        self.defender_url = auth.tls_base_url + DEFENDER_PREFIX
        for conversation in self.team_channels:
            register(conversation, *self.users)

        def created(group: str, channel: dict) -> None:
            register(self.graph.conversation(group, channel), *self.users)

        self.graph.on_created = created
        graph = web.Application(middlewares=[_bearer(auth, GRAPH_RESOURCE, _graph_refusal)])
        self.graph.add_routes(graph)
        app.add_subapp(GRAPH_PREFIX, graph)
        defender = web.Application(middlewares=[_bearer(auth, MDE_RESOURCE, _defender_refusal)])
        self.defender.add_routes(defender)
        app.add_subapp(DEFENDER_PREFIX, defender)

    def snapshot(self) -> dict[str, Any]:
        """What Vigil did there, for the control API: teams and channels, machines (isolated or
        not), machine actions and indicators."""
        graph, defender = self.graph, self.defender
        return {
            "teams": [
                {
                    "id": group,
                    "displayName": graph.team_names.get(group, group),
                    "channels": [
                        {key: channel[key] for key in ("id", "displayName", "description")}
                        for channel in graph.channels.get(group, [])
                    ],
                }
                for group in sorted(graph.teams)
            ],
            "machines": [
                {
                    "id": machine["id"],
                    "computerDnsName": machine["computerDnsName"],
                    "isolated": defender.isolated(machine["id"]),
                }
                for machine in defender.machines.values()
            ],
            "machineActions": list(defender.actions.values()),
            "indicators": list(defender.indicators.values()),
        }

    def env(self, login_url: str) -> dict[str, str]:
        """The VIGIL_* variables that point Vigil at the stand-ins (once mounted)."""
        return {
            "VIGIL_GRAPH_URL": self.graph.graph_url,
            "VIGIL_AAD_AUTHORITY": login_url,
            "VIGIL_INCIDENT_TEAM_ID": self.team_id,
            "VIGIL_MDE_URL": self.defender_url,
            "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "mde",
            "VIGIL_APPROVALS_CHANNEL": self.approvals.id,
        }


def _graph_refusal() -> web.Response:
    return graph_error(401, "InvalidAuthenticationToken", "Access token validation failure.")


def _defender_refusal() -> web.Response:
    return defender_error(401, "Unauthorized", "Authorization token is missing or invalid.")


def _bearer(
    auth: AuthEndpoints, audience: str, refusal: Callable[[], web.Response]
) -> Callable[..., object]:
    """A middleware admitting only the login authority's tokens for `audience`."""

    @web.middleware
    async def check(request: web.Request, handler: Callable) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return refusal()
        try:
            claims = auth.key.verify(header[7:], audience=audience, issuer=auth.login_issuer)
        except jwt.InvalidTokenError:
            return refusal()
        request[CLIENT_KEY] = str(claims.get("appid", ""))
        return await handler(request)

    return check
