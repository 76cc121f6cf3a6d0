"""The product's Graph stand-in (bot/devchannel/graph_standin.py) behind its own Entra token
endpoint and CA, over HTTPS on 127.0.0.1, with the faults tests need.

Tests queue faults on channel creation (429/503 with Retry-After, 500), make the whole service
unreachable (every connection dropped, Entra included), lose the answer to a created channel, and
read back what Vigil sent: `calls` (channel creations, with their status) and `listed` (channel
listings that were answered).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.devchannel.graph_standin import GraphStandin, graph_error
from tests.fakes.tls import make_ca

TENANT_ID = "9d1f6a2e-3c4b-4e5f-8a7b-1c2d3e4f5a6b"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@dataclass
class Call:
    method: str
    path: str
    group_id: str
    body: Any
    status: int


@dataclass
class GraphFake(GraphStandin):
    app_id: str = ""
    app_password: str = ""
    calls: list[Call] = field(default_factory=list)  # channel creations
    listed: list[str] = field(default_factory=list)  # channel listings (path and query)
    token_requests: int = 0
    unreachable: bool = False  # drop every connection, as a network outage looks to a client
    lose_next_answer: bool = False  # create the next channel, then drop the connection
    ca_path: str = ""
    _faults: list[tuple[int, str, float | None]] = field(default_factory=list)
    _tokens: set[str] = field(default_factory=set)
    _runner: web.AppRunner | None = None

    async def start(self, directory: str | Path) -> None:
        self.ca_path, context = make_ca(Path(directory) / "graph-tls")
        app = web.Application(middlewares=[self._outage, self._guard])
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._metadata)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        self.add_routes(app)
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

    # --- faults, tokens and what was called ----------------------------------------------------

    @web.middleware
    async def _outage(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.unreachable and request.transport is not None:
            request.transport.abort()
            return web.Response(status=204)  # never reaches the client
        return await handler(request)

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/v1.0/"):
            return await handler(request)
        creating = request.method == "POST" and request.path.endswith("/channels")
        response = await self._answer(request, handler, creating)
        if creating:
            try:
                body = await request.json()
            except ValueError:
                body = None
            group = request.match_info.get("group", "")
            self.calls.append(Call("POST", request.path, group, body, response.status))
            if self.lose_next_answer and response.status == 201 and request.transport is not None:
                self.lose_next_answer = False
                request.transport.abort()  # created, but the client never hears of it
        elif request.path.endswith("/channels") and response.status == 200:
            self.listed.append(request.path_qs)
        return response

    async def _answer(
        self, request: web.Request, handler: Any, creating: bool
    ) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self._tokens:
            return graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        if creating and self._faults:
            status, code, retry_after = self._faults.pop(0)
            headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
            return graph_error(status, code, "Simulated failure.", **headers)
        return await handler(request)


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response(
        {"error": error, "error_description": description, "error_codes": []}, status=status
    )
