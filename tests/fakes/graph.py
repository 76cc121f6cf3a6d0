"""A local Microsoft Graph (create and list channels) plus an Entra token endpoint, over HTTPS on
127.0.0.1.

Shapes follow the Graph reference for `POST /teams/{team-id}/channels` (201 with the channel;
errors as `{"error": {"code", "message", "innerError"}}`), `GET /teams/{team-id}/channels` with
`$filter=displayName eq '...'` (`{"value": [...]}`) and the v2.0 client-credentials grant.
Tests queue faults (429/503 with Retry-After, 500), make the whole service unreachable (every
connection dropped, Entra included), lose the answer to a created channel, and read back what
Vigil sent.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from tests.fakes.tls import make_ca

TENANT_ID = "9d1f6a2e-3c4b-4e5f-8a7b-1c2d3e4f5a6b"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
FORBIDDEN = set("~#%&*{}+/\\:<>?|'\",")
MEMBERSHIP = ("standard", "private", "shared")


@dataclass
class Call:
    method: str
    path: str
    group_id: str
    body: Any
    status: int


@dataclass
class GraphFake:
    app_id: str
    app_password: str
    teams: set[str] = field(default_factory=set)
    conflict_status: int = 400
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)  # channel creations
    listed: list[str] = field(default_factory=list)  # channel listings (path and query)
    token_requests: int = 0
    on_created: Callable[[str, dict[str, Any]], None] | None = None
    unreachable: bool = False  # drop every connection, as a network outage looks to a client
    lose_next_answer: bool = False  # create the next channel, then drop the connection
    ca_path: str = ""
    base_url: str = ""
    _faults: list[tuple[int, str, float | None]] = field(default_factory=list)
    _tokens: set[str] = field(default_factory=set)
    _runner: web.AppRunner | None = None

    async def start(self, directory: str | Path) -> None:
        self.ca_path, context = make_ca(Path(directory) / "graph-tls")
        app = web.Application(middlewares=[self._outage])
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._metadata)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_post("/v1.0/teams/{group}/channels", self._create_channel)
        app.router.add_get("/v1.0/teams/{group}/channels", self._list_channels)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"https://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{TENANT_ID}"

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"

    def fail_next(self, status: int, count: int = 1, retry_after: float | None = None) -> None:
        codes = {429: "TooManyRequests", 503: "ServiceUnavailable", 500: "InternalServerError"}
        self._faults.extend([(status, codes.get(status, "Failure"), retry_after)] * count)

    def created(self) -> list[Call]:
        return [call for call in self.calls if call.status == 201]

    # --- Entra -------------------------------------------------------------------------------

    async def _metadata(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        if tenant != TENANT_ID:
            return _oauth_error(400, "invalid_tenant", "AADSTS90002: Tenant not found.")
        base = f"{self.base_url}/{tenant}"
        return web.json_response(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "response_types_supported": ["code", "token"],
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        if request.match_info["tenant"] != TENANT_ID:
            return _oauth_error(400, "invalid_tenant", "AADSTS90002: Tenant not found.")
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "AADSTS70003: unsupported grant.")
        if form.get("client_id") != self.app_id:
            return _oauth_error(400, "unauthorized_client", "AADSTS700016: Application not found.")
        if form.get("client_secret") != self.app_password:
            return _oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret.")
        if form.get("scope") != GRAPH_SCOPE:
            return _oauth_error(400, "invalid_scope", "AADSTS1002012: invalid scope.")
        self.token_requests += 1
        token = secrets.token_urlsafe(24)
        self._tokens.add(token)
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": token,
            }
        )

    @web.middleware
    async def _outage(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.unreachable and request.transport is not None:
            request.transport.abort()
            return web.Response(status=204)  # never reaches the client
        return await handler(request)

    # --- Graph -------------------------------------------------------------------------------

    async def _list_channels(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self._tokens:
            return _graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        if group not in self.teams:
            return _graph_error(404, "NotFound", f"No team found with Group Id {group}")
        channels = self.channels.get(group, [])
        wanted = request.query.get("$filter", "")
        if wanted:
            prefix, suffix = "displayName eq '", "'"
            if not (wanted.startswith(prefix) and wanted.endswith(suffix)):
                return _graph_error(400, "BadRequest", "Unsupported filter.")
            name = wanted[len(prefix) : -len(suffix)].replace("''", "'")
            channels = [c for c in channels if c["displayName"] == name]
        self.listed.append(request.path_qs)
        context = f"{self.graph_url}/$metadata#teams('{group}')/channels"
        return web.json_response({"@odata.context": context, "value": channels})

    async def _create_channel(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        try:
            body = await request.json()
        except ValueError:
            body = None
        response = self._answer(request, group, body)
        self.calls.append(Call("POST", request.path, group, body, response.status))
        if self.lose_next_answer and response.status == 201 and request.transport is not None:
            self.lose_next_answer = False
            request.transport.abort()  # created, but the client never hears of it
        return response

    def _answer(self, request: web.Request, group: str, body: Any) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self._tokens:
            return _graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        if self._faults:
            status, code, retry_after = self._faults.pop(0)
            headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
            return _graph_error(status, code, "Simulated failure.", **headers)
        if group not in self.teams:
            return _graph_error(404, "NotFound", f"No team found with Group Id {group}")
        problem = _body_problem(body)
        if problem:
            return _graph_error(400, "BadRequest", problem)
        existing = self.channels.setdefault(group, [])
        name = body["displayName"]
        if any(channel["displayName"].lower() == name.lower() for channel in existing):
            return _graph_error(
                self.conflict_status,
                "NameAlreadyExists",
                "Channel name already existed, please use other name.",
            )
        digest = hashlib.sha256(f"{group}/{name}".encode()).hexdigest()[:32]
        channel_id = f"19:{digest}@thread.tacv2"
        channel = {
            "@odata.context": f"{self.graph_url}/$metadata#teams('{group}')/channels/$entity",
            "id": channel_id,
            "createdDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "displayName": name,
            "description": body.get("description"),
            "isFavoriteByDefault": None,
            "email": "",
            "webUrl": f"https://teams.microsoft.com/l/channel/{quote(channel_id, safe='')}/"
            f"{quote(name)}?groupId={group}&tenantId={TENANT_ID}",
            "membershipType": body.get("membershipType", "standard"),
        }
        existing.append(channel)
        if self.on_created is not None:
            self.on_created(group, channel)
        return web.json_response(channel, status=201)


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


def _graph_error(status: int, code: str, message: str, **headers: str) -> web.Response:
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


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response(
        {"error": error, "error_description": description, "error_codes": []}, status=status
    )
