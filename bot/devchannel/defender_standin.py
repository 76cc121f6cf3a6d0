"""A local Microsoft Defender for Endpoint API: machines, isolate/unisolate, machine actions and
indicators, with a few demo machines, for `vigil serve --local` and the tests' Defender fake.

Shapes follow the Defender for Endpoint API reference: Machine and MachineAction entities, OData
lists `{"@odata.context", "value"}` (List machines answers 404 when no machine has reported),
isolate/unisolate 201 (IsolationType Full, Selective or UnManagedDevice), Indicator submit (200)
and delete (204, 404 when gone), errors as `{"error": {"code", "message", "target"}}` with the
documented codes (MissingRequiredParameter, InvalidHashValue, InvalidDomainName, InvalidIpAddress,
InvalidUrl, ODataError, ResourceNotFound, ...). Machine actions move Pending -> InProgress ->
Succeeded over polls; `isolated()` tells whether a machine's last finished isolation action left
it isolated.

Who may call is not decided here: the local setup checks the channel's signed tokens in front of
these routes (`standins.py`), the tests' fake its own tokens and permissions.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

MDE_RESOURCE = "https://api.securitycenter.microsoft.com"
# Where whoever checked the caller's token leaves the app id Defender records as the requestor.
CLIENT_KEY = "defender.client"
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

# The demo fleet of `vigil serve --local`: (DNS name, RBAC group, last internal IP).
DEMO_MACHINES = (
    ("ws-fin-042.corp.example.com", "Finance", "10.20.30.42"),
    ("ws-hr-007.corp.example.com", "HR", "10.20.31.7"),
    ("srv-db-01.corp.example.com", "Servers", "10.20.40.11"),
)


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def error(status: int, code: str, message: str, **headers: str) -> web.Response:
    body = {"error": {"code": code, "message": message, "target": uuid.uuid4().hex}}
    return web.json_response(body, status=status, headers=headers)


@dataclass
class DefenderStandin:
    """The API's state and routes; `requestor` names the caller in actions and indicators."""

    # Polls of a machine action before it is final, and the final status it then reports.
    polls_to_finish: int = 2
    final_status: str = "Succeeded"
    machines: dict[str, dict[str, Any]] = field(default_factory=dict)
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)
    _polls: dict[str, int] = field(default_factory=dict)
    _next_indicator: int = 1000

    @classmethod
    def demo(cls) -> DefenderStandin:
        """The stand-in of the local setup, with the demo machines onboarded."""
        standin = cls()
        for name, group, address in DEMO_MACHINES:
            standin.add_machine(name, rbacGroupName=group, lastIpAddress=address)
        return standin

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

    def machine_named(self, dns_name: str) -> dict[str, Any] | None:
        wanted = dns_name.lower()
        return next(
            (m for m in self.machines.values() if m["computerDnsName"].lower() == wanted), None
        )

    def isolated(self, machine_id: str) -> bool:
        """Whether the machine's last succeeded Isolate or Unisolate action was an Isolate."""
        done = [
            action
            for action in self.actions.values()
            if action["machineId"] == machine_id
            and action["type"] in ("Isolate", "Unisolate")
            and action["status"] == "Succeeded"
        ]
        done.sort(key=lambda action: action["lastUpdateDateTimeUtc"])
        return bool(done) and done[-1]["type"] == "Isolate"

    def add_routes(self, app: web.Application) -> None:
        """The API's routes under `/api` of `app`."""
        app.router.add_get("/api/machines", self._list_machines)
        app.router.add_get("/api/machines/{id}", self._get_machine)
        app.router.add_post("/api/machines/{id}/isolate", self._isolate)
        app.router.add_post("/api/machines/{id}/unisolate", self._unisolate)
        app.router.add_get("/api/machineactions", self._list_actions)
        app.router.add_get("/api/machineactions/{id}", self._get_action)
        app.router.add_get("/api/indicators", self._list_indicators)
        app.router.add_post("/api/indicators", self._submit_indicator)
        app.router.add_delete("/api/indicators/{id}", self._delete_indicator)

    def requestor(self, request: web.Request) -> str:
        """Who made the request, as Defender records it (the app id of the caller's token)."""
        return str(request.get(CLIENT_KEY, ""))

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
            "requestor": self.requestor(request),
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
                "createdBy": self.requestor(request),
                "lastUpdateTime": now_iso(),
                "lastUpdatedBy": self.requestor(request),
                "rbacGroupNames": [],
            }
        )
        self.indicators[existing["id"]] = existing
        return web.json_response({"@odata.context": _context("Indicators/$entity"), **existing})

    async def _delete_indicator(self, request: web.Request) -> web.Response:
        if self.indicators.pop(request.match_info["id"], None) is None:
            return error(404, "ResourceNotFound", "Indicator was not found")
        return web.Response(status=204)


def permission(request: web.Request) -> str:
    """The application permission a request needs."""
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
