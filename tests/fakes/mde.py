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
import datetime
import hashlib
import ipaddress
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from tests.fakes.tls import client_context, make_ca

TENANT_ID = "4b1d3c2a-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
MDE_RESOURCE = "https://api.securitycenter.microsoft.com"
MDE_SCOPE = f"{MDE_RESOURCE}/.default"
ALL_PERMISSIONS = frozenset({"Machine.Read.All", "Machine.Isolate", "Ti.ReadWrite"})
FINAL = ("Succeeded", "Failed", "TimeOut", "Cancelled")
INDICATOR_TYPES = ("FileSha1", "FileSha256", "FileMd5", "CertificateThumbprint", "IpAddress",
                   "DomainName", "Url")  # fmt: skip
INDICATOR_ACTIONS = ("Warn", "Block", "Audit", "Alert", "AlertAndBlock", "BlockAndRemediate",
                     "Allowed")  # fmt: skip
SEVERITIES = ("Informational", "Low", "Medium", "High")
ISOLATION_TYPES = ("Full", "Selective", "UnManagedDevice")
HASH_LENGTHS = {"FileSha1": 40, "FileSha256": 64, "FileMd5": 32, "CertificateThumbprint": 40}
_DOMAIN = re.compile(
    r"(?=.{1,253}$)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}"
)
_EQ = re.compile(r"(\w+) eq '((?:[^']|'')*)'")
_STARTSWITH = re.compile(r"startswith\((\w+),\s*'((?:[^']|'')*)'\)")


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def error(status: int, code: str, message: str, **headers: str) -> web.Response:
    body = {"error": {"code": code, "message": message, "target": uuid.uuid4().hex}}
    return web.json_response(body, status=status, headers=headers)


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
class MdeFake:
    app_id: str = "7a1c0e55-2b3d-4e6f-8a9b-0c1d2e3f4a5b"
    app_password: str = "mde-fake-client-secret-0123456789"  # noqa: S105 (a test value)
    permissions: set[str] = field(default_factory=lambda: set(ALL_PERMISSIONS))
    # Polls of a machine action before it is final, and the final status it then reports.
    polls_to_finish: int = 2
    final_status: str = "Succeeded"
    machines: dict[str, dict[str, Any]] = field(default_factory=dict)
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)
    recorded: list[Recorded] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    ca_path: str = ""
    url: str = ""
    identity_endpoint: str = ""
    identity_header: str = field(default_factory=lambda: secrets.token_hex(16))
    managed_identity_ids: tuple[str, ...] = ()
    _tokens: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    _polls: dict[str, int] = field(default_factory=dict)
    _next_indicator: int = 1000
    _runners: list[web.AppRunner] = field(default_factory=list)

    # --- test controls -------------------------------------------------------------------------

    @property
    def authority(self) -> str:
        return f"{self.url}/{TENANT_ID}"

    def add_machine(self, dns_name: str, **fields: Any) -> dict[str, Any]:
        machine_id = hashlib.sha1(dns_name.encode(), usedforsecurity=False).hexdigest()
        machine = {
            "id": machine_id,
            "computerDnsName": dns_name,
            "firstSeen": "2024-03-01T08:00:00Z",
            "lastSeen": now_iso(),
            "osPlatform": "Windows11",
            "osVersion": "10.0.22631",
            "osProcessor": "x64",
            "version": "23H2",
            "lastIpAddress": "10.20.30.42",
            "lastExternalIpAddress": "198.51.100.20",
            "healthStatus": "Active",
            "onboardingStatus": "Onboarded",
            "rbacGroupName": "Finance",
            "riskScore": "Medium",
            "exposureLevel": "Low",
            "isAadJoined": True,
            "aadDeviceId": str(uuid.uuid4()),
            "machineTags": [],
            "deviceValue": "Normal",
            **fields,
        }
        self.machines[machine_id] = machine
        return machine

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
        api.router.add_get("/api/machines", self._list_machines)
        api.router.add_get("/api/machines/{id}", self._get_machine)
        api.router.add_post("/api/machines/{id}/isolate", self._isolate)
        api.router.add_post("/api/machines/{id}/unisolate", self._unisolate)
        api.router.add_get("/api/machineactions", self._list_actions)
        api.router.add_get("/api/machineactions/{id}", self._get_action)
        api.router.add_get("/api/indicators", self._list_indicators)
        api.router.add_post("/api/indicators", self._submit_indicator)
        api.router.add_delete("/api/indicators/{id}", self._delete_indicator)
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
        needed = _permission(request)
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

    # --- machines ------------------------------------------------------------------------------

    async def _list_machines(self, request: web.Request) -> web.Response:
        if not self.machines:
            # Documented: "If there are no recent machines, you see 404 Not Found."
            return error(404, "ResourceNotFound", "No machines found")
        found = _filtered(list(self.machines.values()), request.query.get("$filter", ""))
        if found is None:
            return error(400, "ODataError", "Invalid $filter.")
        top = request.query.get("$top")
        if top is not None:
            found = found[: int(top)] if top.isdigit() else found
        return _odata_list("Machines", found)

    async def _get_machine(self, request: web.Request) -> web.Response:
        machine = self.machines.get(request.match_info["id"])
        if machine is None:
            return error(
                404, "ResourceNotFound", f"Machine {request.match_info['id']} was not found"
            )
        return web.json_response({"@odata.context": _context("Machines/$entity"), **machine})

    async def _isolate(self, request: web.Request) -> web.Response:
        return await self._machine_action(request, "Isolate")

    async def _unisolate(self, request: web.Request) -> web.Response:
        return await self._machine_action(request, "Unisolate")

    async def _machine_action(self, request: web.Request, kind: str) -> web.Response:
        machine = self.machines.get(request.match_info["id"])
        if machine is None:
            return error(
                404, "ResourceNotFound", f"Machine {request.match_info['id']} was not found"
            )
        try:
            body = await request.json()
        except ValueError:
            return error(400, "InvalidRequestBody", "Request body is not valid JSON.")
        if not isinstance(body, dict) or not isinstance(body.get("Comment"), str):
            return error(400, "MissingRequiredParameter", "Parameter Comment is missing.")
        if kind == "Isolate" and body.get("IsolationType", "Full") not in ISOLATION_TYPES:
            return error(400, "InvalidInput", "Invalid input IsolationType.")
        for action in self.actions.values():
            pending = action["status"] in ("Pending", "InProgress")
            if action["machineId"] == machine["id"] and action["type"] == kind and pending:
                return error(
                    400,
                    "ActiveRequestAlreadyExists",
                    f"Action is already in progress for machine {machine['id']}",
                )
        action = {
            "id": str(uuid.uuid4()),
            "type": kind,
            "scope": body.get("IsolationType", "Full") if kind == "Isolate" else None,
            "requestor": self._client_of(request),
            "requestorComment": body["Comment"],
            "status": "Pending",
            "machineId": machine["id"],
            "computerDnsName": machine["computerDnsName"],
            "creationDateTimeUtc": now_iso(),
            "lastUpdateDateTimeUtc": now_iso(),
            "cancellationRequestor": None,
            "cancellationComment": None,
            "cancellationDateTimeUtc": None,
            "errorHResult": 0,
            "commands": [],
            "relatedFileInfo": None,
        }
        self.actions[action["id"]] = action
        self._polls[action["id"]] = 0
        return web.json_response(
            {"@odata.context": _context("MachineActions/$entity"), **action}, status=201
        )

    async def _list_actions(self, request: web.Request) -> web.Response:
        found = _filtered(list(self.actions.values()), request.query.get("$filter", ""))
        if found is None:
            return error(400, "ODataError", "Invalid $filter.")
        return _odata_list("MachineActions", found)

    async def _get_action(self, request: web.Request) -> web.Response:
        action = self.actions.get(request.match_info["id"])
        if action is None:
            return error(404, "ResourceNotFound", "Machine action was not found")
        self._progress(action)
        return web.json_response({"@odata.context": _context("MachineActions/$entity"), **action})

    def _progress(self, action: dict[str, Any]) -> None:
        if action["status"] in FINAL:
            return
        self._polls[action["id"]] = polls = self._polls.get(action["id"], 0) + 1
        action["status"] = "InProgress" if polls < self.polls_to_finish else self.final_status
        action["lastUpdateDateTimeUtc"] = now_iso()

    # --- indicators ----------------------------------------------------------------------------

    async def _list_indicators(self, request: web.Request) -> web.Response:
        found = _filtered(list(self.indicators.values()), request.query.get("$filter", ""))
        if found is None:
            return error(400, "ODataError", "Invalid $filter.")
        return _odata_list("Indicators", found)

    async def _submit_indicator(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return error(400, "InvalidRequestBody", "Request body is not valid JSON.")
        problem = _indicator_problem(body)
        if problem:
            return error(400, *problem)
        existing = next(
            (i for i in self.indicators.values() if i["indicatorValue"] == body["indicatorValue"]),
            None,
        )
        if existing is None:
            self._next_indicator += 1
            existing = {"id": str(self._next_indicator), "creationTimeDateTimeUtc": now_iso()}
        existing.update(
            {
                "indicatorValue": body["indicatorValue"],
                "indicatorType": body["indicatorType"],
                "action": body["action"],
                "application": body.get("application"),
                "source": "Vigil",
                "sourceType": "AadApp",
                "title": body["title"],
                "description": body["description"],
                "recommendedActions": body.get("recommendedActions"),
                "expirationTime": body.get("expirationTime"),
                "severity": body.get("severity", "Informational"),
                "generateAlert": body.get("generateAlert", False),
                "createdBy": self._client_of(request),
                "lastUpdateTime": now_iso(),
                "lastUpdatedBy": self._client_of(request),
                "rbacGroupNames": [],
            }
        )
        self.indicators[existing["id"]] = existing
        return web.json_response({"@odata.context": _context("Indicators/$entity"), **existing})

    async def _delete_indicator(self, request: web.Request) -> web.Response:
        if self.indicators.pop(request.match_info["id"], None) is None:
            return error(404, "ResourceNotFound", "Indicator was not found")
        return web.Response(status=204)


def _permission(request: web.Request) -> str:
    if request.path.endswith("/isolate") or request.path.endswith("/unisolate"):
        return "Machine.Isolate"
    if request.path.startswith("/api/indicators"):
        return "Ti.ReadWrite"
    return "Machine.Read.All"


def _indicator_problem(body: Any) -> tuple[str, str] | None:
    """(error code, message) from the documented codes, or None when the submit is valid."""
    if not isinstance(body, dict):
        return "InvalidRequestBody", "Request body is incorrect"
    for name in ("indicatorValue", "indicatorType", "action", "title", "description"):
        if not isinstance(body.get(name), str) or not body[name]:
            return "MissingRequiredParameter", f"Parameter {name} is missing."
    if body["indicatorType"] not in INDICATOR_TYPES:
        return "InvalidInput", "Invalid input indicatorType."
    if body["action"] not in INDICATOR_ACTIONS:
        return "InvalidInput", "Invalid input action."
    if body.get("severity", "Informational") not in SEVERITIES:
        return "InvalidInput", "Invalid input severity."
    if body["action"] == "Audit" and body.get("generateAlert") is not True:
        return "InvalidInput", "generateAlert must be true for the Audit action."
    problem = _value_problem(body["indicatorType"], body["indicatorValue"])
    if problem:
        return problem
    expiration = body.get("expirationTime")
    if expiration is not None:
        try:
            datetime.datetime.fromisoformat(str(expiration).replace("Z", "+00:00"))
        except ValueError:
            return "InvalidInput", "Invalid input expirationTime."
    return None


def _value_problem(kind: str, value: str) -> tuple[str, str] | None:
    """The documented Invalid{Hash,DomainName,IpAddress,Url} refusals for a mistyped value."""
    if kind in HASH_LENGTHS:
        if len(value) != HASH_LENGTHS[kind] or not re.fullmatch(r"[0-9A-Fa-f]+", value):
            return "InvalidHashValue", f"Hash value {value[:100]} is invalid."
    elif kind == "IpAddress":
        try:
            ipaddress.ip_address(value)  # CIDR notation for IPs is not supported
        except ValueError:
            return "InvalidIpAddress", f"IP address {value[:100]} is invalid."
    elif kind == "DomainName":
        if not _DOMAIN.fullmatch(value) or len(value) > 253:
            return "InvalidDomainName", f"Domain name {value[:100]} is invalid."
    elif kind == "Url":
        parts = urlsplit(value) if not any(ch.isspace() for ch in value) else None
        if parts is None or parts.scheme not in ("http", "https", "") or not value.strip("/"):
            return "InvalidUrl", f"URL {value[:100]} is invalid."
    return None


def _filtered(items: list[dict[str, Any]], expression: str) -> list[dict[str, Any]] | None:
    """The OData subset Vigil uses: `a eq 'x' [and b eq 'y']` and `startswith(a,'x')`."""
    if not expression:
        return items
    found = items
    for clause in re.split(r"\s+and\s+", expression.strip()):
        if match := _EQ.fullmatch(clause.strip()):
            field_name, value = match.group(1), match.group(2).replace("''", "'")
            found = [i for i in found if str(i.get(field_name, "")).lower() == value.lower()]
        elif match := _STARTSWITH.fullmatch(clause.strip()):
            field_name, value = match.group(1), match.group(2).replace("''", "'")
            found = [
                i for i in found if str(i.get(field_name, "")).lower().startswith(value.lower())
            ]
        else:
            return None
    return found


def _context(entity: str) -> str:
    return f"https://api.securitycenter.microsoft.com/api/$metadata#{entity}"


def _odata_list(entity: str, items: list[dict[str, Any]]) -> web.Response:
    return web.json_response({"@odata.context": _context(entity), "value": items})


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
