"""Microsoft Defender for Endpoint: isolate / release machines and submit / delete block
indicators, following the documented API (machines, machineactions, indicators).

The approval id goes into the isolation Comment and the indicator title and description, so after
a crash `find_sent` recognises what this approval already sent instead of sending it again.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.containment.connector import (
    Action,
    ConnectorError,
    Outcome,
    Request,
    Result,
    TargetInfo,
)
from bot.containment.mde_client import MAX_429_RETRIES, AnswerUnknown, MdeClient, Pacer, Reply
from bot.containment.mde_shapes import (
    SAFE_ID,
    as_entity,
    as_list,
    as_text,
    comment,
    description,
    id_of,
    indicator_of,
    iso_utc,
    machine_facts,
    odata_quote,
    odata_values,
    permission_hint,
)
from bot.containment.mde_token import MdeCredential

if TYPE_CHECKING:
    from bot.containment.registry import Connectors

# MachineAction.status values (documented): Pending, InProgress, Succeeded, Failed, TimeOut,
# Cancelled.
ACTION_STATUS = {
    "Pending": Outcome.PENDING,
    "InProgress": Outcome.PENDING,
    "Succeeded": Outcome.SUCCEEDED,
    "Failed": Outcome.FAILED,
    "TimeOut": Outcome.FAILED,
    "Cancelled": Outcome.FAILED,
}
MACHINE_ID = re.compile(r"[0-9a-f]{40}")
HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")
REDACTED_FIELDS = ("Comment", "description")


class MdeConnector:
    name = "mde"

    def __init__(self, client: MdeClient, severity: str = "High") -> None:
        self.client = client
        self.severity = severity

    @classmethod
    def from_config(cls, connectors: Connectors) -> MdeConnector:
        settings = connectors.settings
        credential = MdeCredential.from_config(
            connectors.raw, connectors.service_settings, connectors.secrets, settings.mde_timeout
        )
        client = MdeClient(
            connectors.http,
            settings.mde_url,
            credential,
            timeout=settings.mde_timeout,
            max_retry_after=settings.mde_max_retry_after,
            pacer=Pacer(settings.mde_per_minute, settings.mde_per_hour),
            redact=connectors.redactor.redact,
        )
        return cls(client, settings.mde_severity)

    def supports(self, action: Action) -> bool:
        return True

    # --- before approval ---------------------------------------------------------------------

    async def describe(self, action: Action, target: str) -> TargetInfo:
        if action is not Action.ISOLATE_ENDPOINT:
            kind, value = indicator_of(action, target)
            facts = (("Defender indicator", f"{kind} {value}"), ("Action", "Block"))
            return TargetInfo(found=True, target=value, facts=facts)
        machine = await self._machine(target)
        if machine is None:
            return TargetInfo(found=False, target=target)
        return TargetInfo(
            found=True,
            target=as_text(machine.get("computerDnsName")) or target,
            machine_id=as_text(machine.get("id")),
            facts=machine_facts(machine),
            tags=tuple(as_text(tag) for tag in as_list(machine.get("machineTags")) if as_text(tag)),
        )

    async def _machine(self, target: str) -> dict[str, Any] | None:
        name = target.strip()
        if MACHINE_ID.fullmatch(name.lower()):
            reply = await self._read("GET", f"/api/machines/{name.lower()}")
            if reply.status == 404:
                return None
            return as_entity(reply, "machine")
        if not HOST.fullmatch(name):
            return None
        lowered = name.lower()
        found = await self._machines(f"computerDnsName eq '{odata_quote(lowered)}'")
        if not found and "." not in lowered:
            # A short name: the machine's DNS name is usually fully qualified.
            found = await self._machines(f"startswith(computerDnsName,'{odata_quote(lowered)}.')")
        matches = [
            machine
            for machine in found
            if as_text(machine.get("computerDnsName")).lower() == lowered
            or as_text(machine.get("computerDnsName")).lower().startswith(lowered + ".")
        ]
        if len(matches) != 1:
            # None, or ambiguous: a wrong machine isolated is worse than a refusal.
            return None
        return matches[0]

    async def _machines(self, odata_filter: str) -> list[dict[str, Any]]:
        reply = await self._read("GET", "/api/machines", params={"$filter": odata_filter})
        if reply.status == 404:
            return []  # documented: "If there are no recent machines, you see 404 Not Found"
        return [item for item in odata_values(reply) if isinstance(item, dict)]

    # --- sending -------------------------------------------------------------------------------

    async def execute(self, request: Request) -> Result:
        try:
            if request.action is Action.ISOLATE_ENDPOINT:
                return await self._isolate(request)
            return await self._block(request)
        except AnswerUnknown as exc:
            return self._unknown(exc)
        except ConnectorError as exc:
            return self._failed(str(exc))

    async def _isolate(self, request: Request) -> Result:
        machine_id = await self._machine_id(request)
        body = {
            "Comment": comment(request),
            "IsolationType": "Selective" if request.selective else "Full",
        }
        reply = await self.client.call(
            "POST", f"/api/machines/{machine_id}/isolate", body, redacted=REDACTED_FIELDS
        )
        return self._machine_action(reply, "isolation")

    async def _block(self, request: Request) -> Result:
        kind, value = indicator_of(request.action, request.target)
        body: dict[str, Any] = {
            "indicatorValue": value,
            "indicatorType": kind,
            "action": "Block",
            "title": f"Vigil {request.approval_id}: block {value}"[:200],
            "description": description(request),
            "severity": self.severity,
            "generateAlert": True,
        }
        if request.expires_at is not None:
            body["expirationTime"] = iso_utc(request.expires_at)
        reply = await self.client.call("POST", "/api/indicators", body, redacted=REDACTED_FIELDS)
        if reply.status == 429:
            return self._rate_limited(reply, "indicator")
        if reply.status >= 500:
            # A server error after a submit may or may not have stored it: find_sent decides.
            return self._unknown_reply(reply, f"MDE answered {reply.error}")
        if reply.status not in (200, 201):
            return self._result(Outcome.FAILED, f"MDE refused the indicator: {reply.error}", reply)
        indicator_id = id_of(reply.body)
        if not indicator_id:
            return self._unknown_reply(reply, "MDE accepted the indicator without an id")
        detail = f"{kind} indicator {value} set to Block (id {indicator_id})"
        return self._result(Outcome.SUCCEEDED, detail, reply, indicator_id)

    # --- after sending -------------------------------------------------------------------------

    async def poll(self, request: Request, external_id: str) -> Result:
        if request.action is Action.ISOLATE_ENDPOINT:
            if not SAFE_ID.fullmatch(external_id):
                raise ConnectorError("mde: not a machine action id")
            reply = await self._read("GET", f"/api/machineactions/{external_id}")
            if reply.status == 404:
                return self._result(Outcome.FAILED, "MDE has no such machine action", reply)
            return self._machine_action(reply, "isolation")
        indicator = await self._indicator(request)
        if indicator is None:
            return Result(Outcome.FAILED, "the indicator is no longer in MDE", external_id)
        return Result(
            Outcome.SUCCEEDED,
            "indicator present in MDE",
            external_id=id_of(indicator),
            provenance=self.client.credential.provenance,
        )

    async def find_sent(self, request: Request) -> Result | None:
        if request.action is not Action.ISOLATE_ENDPOINT:
            indicator = await self._indicator(request)
            if indicator is None:
                return None
            return Result(
                Outcome.SUCCEEDED,
                f"indicator {id_of(indicator)} was submitted by this approval",
                external_id=id_of(indicator),
                provenance=self.client.credential.provenance,
            )
        machine_id = request.machine_id
        if not machine_id:
            machine = await self._machine(request.target)
            if machine is None:
                return None
            machine_id = as_text(machine.get("id"))
        if not MACHINE_ID.fullmatch(machine_id):
            return None
        reply = await self._read(
            "GET",
            "/api/machineactions",
            params={"$filter": f"machineId eq '{machine_id}' and type eq 'Isolate'"},
        )
        for action in odata_values(reply):
            if isinstance(action, dict) and request.approval_id in as_text(
                action.get("requestorComment")
            ):
                return self._action_result(action, reply, "isolation")
        return None

    async def _indicator(self, request: Request) -> dict[str, Any] | None:
        _, value = indicator_of(request.action, request.target)
        query = {"$filter": f"indicatorValue eq '{odata_quote(value)}'"}
        reply = await self._read("GET", "/api/indicators", params=query)
        for indicator in odata_values(reply):
            if not isinstance(indicator, dict):
                continue
            marks = as_text(indicator.get("title")) + " " + as_text(indicator.get("description"))
            if request.approval_id in marks and id_of(indicator):
                return indicator
        return None

    async def rollback(self, request: Request, external_id: str) -> Result:
        try:
            if request.action is Action.ISOLATE_ENDPOINT:
                return await self._release(request)
            return await self._delete_indicator(request, external_id)
        except AnswerUnknown as exc:
            return self._unknown(exc)
        except ConnectorError as exc:
            return self._failed(str(exc))

    async def _machine_id(self, request: Request) -> str:
        """The Defender id of the request's machine; ConnectorError (a failure) when none."""
        machine_id = request.machine_id
        if not machine_id:
            machine = await self._machine(request.target)
            if machine is None:
                raise ConnectorError(f"mde: no single machine named {request.target!r}")
            machine_id = as_text(machine.get("id"))
        if not MACHINE_ID.fullmatch(machine_id):
            raise ConnectorError("mde: the machine id is not a Defender machine id")
        return machine_id

    async def _release(self, request: Request) -> Result:
        machine_id = await self._machine_id(request)
        body = {"Comment": f"Vigil {request.approval_id} rollback: release from isolation"}
        reply = await self.client.call(
            "POST", f"/api/machines/{machine_id}/unisolate", body, redacted=REDACTED_FIELDS
        )
        return self._machine_action(reply, "release")

    async def _delete_indicator(self, request: Request, external_id: str) -> Result:
        if not SAFE_ID.fullmatch(external_id or ""):
            found = await self._indicator(request)
            if found is None:
                return Result(Outcome.SUCCEEDED, "no indicator of this approval is left in MDE")
            external_id = id_of(found)
        reply = await self.client.call("DELETE", f"/api/indicators/{quote(external_id)}")
        if reply.status in (200, 204):
            return self._result(Outcome.SUCCEEDED, f"indicator {external_id} deleted", reply)
        if reply.status == 404:
            return self._result(Outcome.SUCCEEDED, "indicator already gone from MDE", reply)
        if reply.status == 429 or reply.status >= 500:
            return self._unknown_reply(reply, f"MDE answered {reply.error}")
        return self._result(Outcome.FAILED, f"MDE refused the delete: {reply.error}", reply)

    async def find_rolled_back(self, request: Request) -> Result | None:
        """The machine's latest isolation action: a release there means none is to be sent."""
        if request.action is not Action.ISOLATE_ENDPOINT:
            return None  # deleting an indicator is repeated instead (404: already gone)
        machine_id = request.machine_id
        if not MACHINE_ID.fullmatch(machine_id):
            machine = await self._machine(request.target)
            if machine is None:
                return None
            machine_id = as_text(machine.get("id"))
        reply = await self._read(
            "GET", "/api/machineactions", params={"$filter": f"machineId eq '{machine_id}'"}
        )
        actions = [
            action
            for action in odata_values(reply)
            if isinstance(action, dict) and as_text(action.get("type")) in ("Isolate", "Unisolate")
        ]
        if not actions:
            return None
        # Newest by creation time; on a tie (second resolution) the later one in the answer.
        latest = max(
            enumerate(actions),
            key=lambda pair: (as_text(pair[1].get("creationDateTimeUtc")), pair[0]),
        )[1]
        if as_text(latest.get("type")) != "Unisolate":
            return None  # still isolated by the latest action: the release was never sent
        result = self._action_result(latest, reply, "release")
        if request.approval_id not in as_text(latest.get("requestorComment")):
            # Released by someone else (the console): the machine is out of isolation already.
            detail = f"released outside Vigil (machine action {id_of(latest)})"
            return replace(result, detail=detail)
        return result

    async def check(self) -> str:
        credential = self.client.credential
        reply = await self._read("GET", "/api/machines", params={"$top": "1"})
        # 404 is MDE's documented answer when no machine has reported recently: the credential
        # and permission work, there is just nothing to isolate yet.
        if reply.status == 404:
            answered = "404 (no machines reported recently)"
        elif reply.status == 200 and isinstance(reply.body, dict):
            answered = "200"
        else:
            raise ConnectorError(f"mde: GET /api/machines answered {reply.error}")
        return (
            f"mde: token for {credential.provenance.scope} as {credential.app_id} "
            f"({credential.source}); GET {self.client.base_url}/api/machines answered {answered}"
        )

    # --- answers -------------------------------------------------------------------------------

    async def _read(self, method: str, path: str, params: dict[str, str] | None = None) -> Reply:
        """A read: any failure to get an answer is a ConnectorError (nothing changes in MDE)."""
        try:
            reply = await self.client.call(method, path, params=params)
        except AnswerUnknown as exc:
            raise ConnectorError(f"mde: {exc.reason}") from None
        if reply.status in (401, 403):
            raise ConnectorError(f"mde: {path} refused: {reply.error} ({permission_hint(path)})")
        if reply.status >= 400 and reply.status != 404:
            raise ConnectorError(f"mde: {path} answered {reply.error}")
        return reply

    def _machine_action(self, reply: Reply, what: str) -> Result:
        if reply.status == 429:
            return self._rate_limited(reply, what)
        if reply.status >= 500:
            return self._unknown_reply(reply, f"MDE answered {reply.error}")
        if reply.status not in (200, 201):
            hint = f" ({permission_hint(reply.request_summary['path'])})"
            extra = hint if reply.status in (401, 403) else ""
            return self._result(
                Outcome.FAILED, f"MDE refused the {what}: {reply.error}{extra}", reply
            )
        if not isinstance(reply.body, dict) or not id_of(reply.body):
            return self._unknown_reply(reply, f"MDE accepted the {what} without an action id")
        return self._action_result(reply.body, reply, what)

    def _action_result(self, action: dict[str, Any], reply: Reply, what: str) -> Result:
        status = as_text(action.get("status"))
        outcome = ACTION_STATUS.get(status, Outcome.UNKNOWN)
        kind = as_text(action.get("type")) or what
        detail = f"{kind} {status or 'status missing'} (machine action {id_of(action)})"
        if outcome is Outcome.SUCCEEDED and kind == "Isolate":
            detail = f"isolated (machine action {id_of(action)})"
        return self._result(outcome, detail, reply, id_of(action))

    def _result(self, outcome: Outcome, detail: str, reply: Reply, external_id: str = "") -> Result:
        return Result(
            outcome,
            detail,
            external_id=external_id,
            http_status=reply.status,
            request_summary=reply.request_summary,
            response_digest=reply.digest,
            provenance=self.client.credential.provenance,
        )

    def _rate_limited(self, reply: Reply, what: str) -> Result:
        # A throttled request is refused before MDE acts on it: nothing was done, so the action
        # fails now (and can be asked for again) instead of being followed as "unknown".
        return self._result(
            Outcome.FAILED,
            f"MDE rate limit: the {what} was refused with {reply.error} after "
            f"{MAX_429_RETRIES + 1} tries; nothing was done",
            reply,
        )

    def _unknown_reply(self, reply: Reply, detail: str) -> Result:
        return self._result(Outcome.UNKNOWN, f"{detail}; status unknown", reply)

    def _unknown(self, exc: AnswerUnknown) -> Result:
        return Result(
            Outcome.UNKNOWN,
            f"{exc.reason}; status unknown",
            request_summary=exc.request_summary,
            provenance=self.client.credential.provenance,
        )

    def _failed(self, detail: str) -> Result:
        return Result(Outcome.FAILED, detail, provenance=self.client.credential.provenance)
