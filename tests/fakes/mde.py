"""A local Microsoft Defender for Endpoint API plus the Entra token endpoint, over HTTPS on
127.0.0.1, and an App Service managed-identity endpoint (plain HTTP, as App Service's is).

Shapes follow the Defender for Endpoint API reference: Machine and MachineAction entities,
OData lists `{"@odata.context", "value"}` (List machines answers 404 when no machine has reported),
isolate/unisolate 201 (IsolationType Full, Selective or UnManagedDevice), Indicator submit (200)
and delete (204, 404 when gone), errors as `{"error": {"code", "message", "target"}}` with the
documented codes (MissingRequiredParameter, InvalidHashValue, InvalidDomainName, InvalidIpAddress,
InvalidUrl, ODataError, ResourceNotFound, ...), 429 with Retry-After. Machine actions move
Pending -> InProgress -> Succeeded over polls. Every request is recorded; faults are queued.

Standalone: `python -m tests.fakes.mde --port N --machine ws-fin-042.corp.example` prints one JSON
line with url, authority, ca_path, app_id, app_password and the machines, then serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.devchannel.defender_standin import (
    FINAL,
    MDE_RESOURCE,
    DefenderStandin,
    error,
    now_iso,
    permission,
)
from tests.fakes.tls import client_context, make_ca

__all__ = ["FINAL", "MDE_SCOPE", "Fault", "MdeFake", "Recorded", "now_iso"]

TENANT_ID = "4b1d3c2a-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
MDE_SCOPE = f"{MDE_RESOURCE}/.default"
ALL_PERMISSIONS = frozenset({"Machine.Read.All", "Machine.Isolate", "Ti.ReadWrite"})


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    token_client: str  # the client id the bearer token was issued to ("" when none)


@dataclass
class Fault:
    method: str
    path_suffix: str
    status: int = 500
    body: Any = None  # a dict (JSON), bytes (raw) or None (documented error shape)
    retry_after: str | None = None
    delay: float = 0.0  # seconds to wait before answering (a client timeout)
    apply_first: bool = False  # do the real work, then fail: "sent, answer lost"
    times: int = 1


@dataclass
class MdeFake(DefenderStandin):
    """The product's Defender stand-in behind its own Entra, managed identity, CA and faults."""

    app_id: str = "7a1c0e55-2b3d-4e6f-8a9b-0c1d2e3f4a5b"
    app_password: str = "mde-fake-client-secret-0123456789"  # noqa: S105 (a test value)
    permissions: set[str] = field(default_factory=lambda: set(ALL_PERMISSIONS))
    recorded: list[Recorded] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    ca_path: str = ""
    url: str = ""
    identity_endpoint: str = ""
    identity_header: str = field(default_factory=lambda: secrets.token_hex(16))
    managed_identity_ids: tuple[str, ...] = ()
    _tokens: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    _runners: list[web.AppRunner] = field(default_factory=list)

    # --- test controls -------------------------------------------------------------------------

    @property
    def authority(self) -> str:
        return f"{self.url}/{TENANT_ID}"

    def requestor(self, request: web.Request) -> str:
        return self._client_of(request)

    def fault(self, method: str, path_suffix: str, **options: Any) -> None:
        """Queue a fault for the next matching request(s)."""
        self.faults.append(Fault(method.upper(), path_suffix, **options))

    def requests(self, path_suffix: str = "", method: str = "") -> list[Recorded]:
        """Recorded requests whose path ends with `path_suffix` (and method, when given)."""
        return [
            call
            for call in self.recorded
            if call.path.endswith(path_suffix) and (not method or call.method == method.upper())
        ]

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    def environ(self) -> dict[str, str]:
        """Environment for azure-identity's App Service managed identity."""
        return {
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
        }

    def vigil_env(self) -> dict[str, str]:
        """What a Vigil pointed at this fake sets (plus VIGIL_CA_BUNDLE trusting `ca_path`)."""
        return {
            "VIGIL_MDE_URL": self.url,
            "VIGIL_AAD_AUTHORITY": self.authority,
            "VIGIL_APP_ID": self.app_id,
            "VIGIL_APP_PASSWORD": self.app_password,
        }

    def client_session(self) -> aiohttp.ClientSession:
        """A client that trusts this fake's CA (and no proxy from the environment)."""
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=client_context(self.ca_path)), trust_env=False
        )

    # --- servers -------------------------------------------------------------------------------

    async def start(self, directory: str | Path, port: int = 0) -> MdeFake:
        self.ca_path, context = make_ca(Path(directory) / "mde-tls")
        api = web.Application(middlewares=[self._record_and_fault])
        api.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._metadata)
        api.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        self.add_routes(api)
        api.router.add_get("/_fake/requests", self._recorded_requests)
        identity = web.Application()
        identity.router.add_get("/msi/token", self._identity_token)
        self.url = f"https://127.0.0.1:{await self._serve(api, context, port)}"
        self.identity_endpoint = (
            f"http://127.0.0.1:{await self._serve(identity, None, 0)}/msi/token"
        )
        return self

    async def _serve(self, app: web.Application, context: Any, port: int) -> int:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=context)
        await site.start()
        self._runners.append(runner)
        return runner.addresses[0][1]

    async def close(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    @web.middleware
    async def _record_and_fault(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        client = self._client_of(request)
        call = Recorded(request.method, request.path, dict(request.query), body, 0, client)
        self.recorded.append(call)
        fault = self._take_fault(request)
        if fault is not None and fault.apply_first:
            await self._guarded(request, handler)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            call.status = fault.status
            return self._fault_response(fault)
        response = await self._guarded(request, handler)
        call.status = response.status
        return response

    async def _guarded(self, request: web.Request, handler: Any) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        token = self._tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if token is None or token[2] < time.time():
            return error(401, "Unauthorized", "Authorization token is missing or invalid.")
        if token[1] != MDE_RESOURCE:
            return error(401, "Unauthorized", "The token audience is not this API.")
        needed = permission(request)
        if needed not in self.permissions:
            return error(
                403,
                "Forbidden",
                "The application does not have any of the required application permissions "
                f"({needed}) to access the resource.",
            )
        return await handler(request)

    def _take_fault(self, request: web.Request) -> Fault | None:
        for fault in self.faults:
            if fault.method == request.method and request.path.endswith(fault.path_suffix):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _fault_response(self, fault: Fault) -> web.Response:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if isinstance(fault.body, bytes):
            return web.Response(status=fault.status, body=fault.body, headers=headers)
        if fault.body is not None:
            return web.json_response(fault.body, status=fault.status, headers=headers)
        codes = {429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}
        return error(fault.status, codes.get(fault.status, "BadRequest"), "Fault.", **headers)

    def _client_of(self, request: web.Request) -> str:
        auth = request.headers.get("Authorization", "")
        token = self._tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        return token[0] if token else ""

    async def _recorded_requests(self, request: web.Request) -> web.Response:
        """For a test in another process: the recorded requests, filtered like `requests()`."""
        calls = self.requests(request.query.get("path_suffix", ""), request.query.get("method", ""))
        return web.json_response(
            [
                {"method": c.method, "path": c.path, "body": c.body, "status": c.status}
                for c in calls
            ]
        )

    # --- Entra (client credentials) and the managed identity endpoint --------------------------

    async def _metadata(self, request: web.Request) -> web.Response:
        base = f"{self.url}/{request.match_info['tenant']}"
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
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.token_requests.append({k: v for k, v in form.items() if k != "client_secret"})
        if request.match_info["tenant"] != TENANT_ID:
            return _oauth_error(400, "invalid_tenant", "AADSTS90002: Tenant not found.")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "AADSTS70003: unsupported grant.")
        if form.get("client_id") != self.app_id:
            return _oauth_error(400, "unauthorized_client", "AADSTS700016: Application not found.")
        if form.get("client_secret") != self.app_password:
            return _oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret.")
        if form.get("scope") != MDE_SCOPE:
            return _oauth_error(400, "invalid_scope", "AADSTS1002012: invalid scope.")
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": self._issue(self.app_id, MDE_RESOURCE),
            }
        )

    async def _identity_token(self, request: web.Request) -> web.Response:
        if request.headers.get("X-IDENTITY-HEADER") != self.identity_header:
            return web.json_response({"statusCode": 401, "message": "Unauthorized"}, status=401)
        resource = request.query.get("resource", "")
        client_id = request.query.get("client_id", "")
        self.token_requests.append({"resource": resource, "client_id": client_id})
        if client_id not in self.managed_identity_ids:
            return web.json_response(
                {"statusCode": 400, "message": "Unable to load the proper Managed Identity."},
                status=400,
            )
        expires_on = int(time.time()) + 3600
        return web.json_response(
            {
                "access_token": self._issue(client_id, resource.rstrip("/")),
                "expires_on": str(expires_on),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": client_id,
            }
        )

    def _issue(self, client_id: str, audience: str) -> str:
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (client_id, audience, time.time() + 3600)
        return token


def _oauth_error(status: int, code: str, description: str) -> web.Response:
    return web.json_response(
        {"error": code, "error_description": description, "error_codes": [0]}, status=status
    )


async def _main(args: argparse.Namespace) -> None:
    fake = MdeFake(polls_to_finish=args.polls)
    await fake.start(args.directory, args.port)
    for name in args.machine:
        fake.add_machine(name)
    print(
        json.dumps(
            {
                "url": fake.url,
                "authority": fake.authority,
                "ca_path": fake.ca_path,
                "app_id": fake.app_id,
                "app_password": fake.app_password,
                "machines": {m["computerDnsName"]: i for i, m in fake.machines.items()},
                "env": fake.vigil_env(),
            }
        ),
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="local Defender for Endpoint API fake")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--directory", default=".vigil/mde-fake")
    parser.add_argument("--machine", action="append", default=[])
    parser.add_argument("--polls", type=int, default=2, help="polls before an action is final")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
