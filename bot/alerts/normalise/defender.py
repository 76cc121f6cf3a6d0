"""Defender XDR via Graph security `alerts_v2`: one alert, a `{"value": [...]}` list page, or
change notifications whose `resourceData` holds the alert.

Severity: informational, low, medium, high (or unknownFutureValue); status resolved = resolved.
Entities come from `evidence[]`, typed by `@odata.type`.
"""

from __future__ import annotations

from typing import Any

from bot.alerts.model import (
    Alert,
    Entity,
    InvalidAlert,
    Severity,
    Status,
    add_entity,
    require_object,
    required_text,
    severity_from_words,
    text,
    timestamp,
)

SEVERITY = {
    "informational": Severity.INFO,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "unknown": Severity.UNKNOWN,  # documented alertSeverity members, so no warning
    "unknownfuturevalue": Severity.UNKNOWN,
}
MAX_BATCH = 500


def normalise(body: Any) -> list[Alert | InvalidAlert]:
    body = require_object(body, "body")
    if "value" in body:
        items = body["value"]
        if not isinstance(items, list) or not items:
            raise InvalidAlert("value", "expected a non-empty list of alerts")
        if len(items) > MAX_BATCH:
            raise InvalidAlert("value", f"at most {MAX_BATCH} alerts per post")
        results: list[Alert | InvalidAlert] = []
        for index, item in enumerate(items):
            try:
                results.append(one(_notified(item)))
            except InvalidAlert as exc:
                results.append(InvalidAlert(f"value[{index}].{exc.field}", exc.problem))
        return results
    return [one(body)]


def _notified(item: Any) -> Any:
    """A Graph change notification carries the alert in `resourceData`; a list page the alert."""
    if not isinstance(item, dict) or "changeType" not in item or "resourceData" not in item:
        return item
    data = item["resourceData"]
    if not isinstance(data, dict) or "title" not in data:
        # A basic notification has @odata.type, @odata.id and id only (rich ones are encrypted).
        raise InvalidAlert(
            "resourceData",
            "a change notification carries only the alert id; post the alert itself"
            " (GET /security/alerts_v2/{id})",
        )
    return data


def one(body: Any) -> Alert:
    body = require_object(body, "alert")
    warnings: list[str] = []
    source_id = required_text(body, "id")
    title = required_text(body, "title")
    if "severity" not in body:
        raise InvalidAlert("severity", "required")
    severity = severity_from_words(body["severity"], SEVERITY, "severity", warnings)
    entities: list[Entity] = []
    evidence = body.get("evidence") or []
    if not isinstance(evidence, list):
        raise InvalidAlert("evidence", "expected a list")
    for item in evidence:
        if isinstance(item, dict):
            _evidence(entities, item)
    first = timestamp(
        body.get("firstActivityDateTime") or body.get("createdDateTime"), "first", warnings
    )
    return Alert(
        source="defender",
        source_id=source_id,
        title=title,
        severity=severity,
        status=Status.RESOLVED if text(body.get("status")).lower() == "resolved" else Status.FIRING,
        rule=text(body.get("detectorId")) or title,
        category=text(body.get("category")),
        first_seen=first,
        last_seen=timestamp(body.get("lastActivityDateTime"), "last", warnings) or first,
        entities=entities,
        description=text(body.get("description")),
        link=text(body.get("alertWebUrl") or body.get("incidentWebUrl"), 2000),
        warnings=warnings,
        raw=body,
        severity_word=text(body["severity"], 100),
    )


def _evidence(entities: list[Entity], item: dict[str, Any]) -> None:
    kind = text(item.get("@odata.type")).rsplit(".", 1)[-1]
    if kind == "deviceEvidence":
        add_entity(entities, "host", item.get("deviceDnsName") or item.get("hostName"))
    elif kind == "userEvidence":
        add_entity(entities, "user", _account(item.get("userAccount")))
    elif kind == "ipEvidence":
        add_entity(entities, "ip", item.get("ipAddress"))
    elif kind == "urlEvidence":
        add_entity(entities, "url", item.get("url"))
    elif kind == "dnsEvidence":
        add_entity(entities, "domain", item.get("domainName"))
    elif kind == "fileHashEvidence":
        add_entity(entities, "hash", item.get("value"))
    elif kind in ("fileEvidence", "processEvidence"):
        details = item.get("fileDetails") or item.get("imageFile")
        if isinstance(details, dict):
            add_entity(entities, "hash", details.get("sha256") or details.get("sha1"))
        if kind == "processEvidence":
            image = details.get("fileName") if isinstance(details, dict) else None
            add_entity(entities, "process", item.get("processCommandLine") or image)
    elif kind == "mailboxEvidence":
        add_entity(
            entities, "user", item.get("primaryAddress") or _account(item.get("userAccount"))
        )
    elif kind == "analyzedMessageEvidence":
        add_entity(entities, "user", item.get("recipientEmailAddress"))
        add_entity(entities, "ip", item.get("senderIp"))


def _account(account: Any) -> Any:
    """userAccount: the UPN, else the account name, else the display name."""
    if not isinstance(account, dict):
        return None
    return (
        account.get("userPrincipalName") or account.get("accountName") or account.get("displayName")
    )
