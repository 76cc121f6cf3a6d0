"""Microsoft Sentinel: the automation-rule incident trigger body (Logic Apps "incident" trigger).

The incident sits in `object.properties`; entities are `relatedEntities[]` with `kind` plus
`properties`. Severity is "High", "Medium", "Low" or "Informational".
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
}


def normalise(body: Any) -> list[Alert | InvalidAlert]:
    body = require_object(body, "body")
    incident = require_object(body.get("object"), "object")
    props = require_object(incident.get("properties"), "object.properties")
    warnings: list[str] = []
    title = required_text(props, "title", "object.properties.title")
    if "severity" not in props:
        raise InvalidAlert("object.properties.severity", "required")
    severity = severity_from_words(props["severity"], SEVERITY, "severity", warnings)
    source_id = text(incident.get("name") or incident.get("id") or body.get("incidentArmId"), 300)
    if not source_id:
        raise InvalidAlert("object.name", "required, the incident id")
    entities: list[Entity] = []
    related = props.get("relatedEntities") or []
    if not isinstance(related, list):
        raise InvalidAlert("object.properties.relatedEntities", "expected a list")
    for item in related:
        if isinstance(item, dict):
            _entity(entities, text(item.get("kind")).lower(), item.get("properties"))
    additional = (
        props.get("additionalData") if isinstance(props.get("additionalData"), dict) else {}
    )
    tactics = additional.get("tactics") if isinstance(additional.get("tactics"), list) else []
    rule_ids = props.get("relatedAnalyticRuleIds")
    status = Status.RESOLVED if text(props.get("status")).lower() == "closed" else Status.FIRING
    first = timestamp(
        props.get("firstActivityTimeUtc") or props.get("createdTimeUtc"), "first", warnings
    )
    return [
        Alert(
            source="sentinel",
            source_id=source_id,
            title=title,
            severity=severity,
            status=status,
            rule=title
            if not isinstance(rule_ids, list) or not rule_ids
            else text(rule_ids[0], 300),
            category=", ".join(text(t, 60) for t in tactics[:5]),
            first_seen=first,
            last_seen=timestamp(props.get("lastActivityTimeUtc"), "last", warnings) or first,
            entities=entities,
            description=text(props.get("description")),
            link=text(props.get("incidentUrl") or props.get("providerIncidentUrl"), 2000),
            warnings=warnings,
            raw=body,
            severity_word=text(props["severity"], 100),
        )
    ]


def _entity(entities: list[Entity], kind: str, props: Any) -> None:
    if not isinstance(props, dict):
        return
    if kind == "host":
        name = text(props.get("hostName"))
        domain = text(props.get("dnsDomain"))
        add_entity(
            entities,
            "host",
            f"{name}.{domain}" if name and domain else name or props.get("friendlyName"),
        )
    elif kind == "account":
        name, suffix = text(props.get("accountName")), text(props.get("upnSuffix"))
        add_entity(
            entities,
            "user",
            f"{name}@{suffix}" if name and suffix else name or props.get("friendlyName"),
        )
    elif kind == "ip":
        add_entity(entities, "ip", props.get("address"))
    elif kind == "url":
        add_entity(entities, "url", props.get("url"))
    elif kind == "dnsresolution":
        add_entity(entities, "domain", props.get("domainName"))
    elif kind == "filehash":
        add_entity(entities, "hash", props.get("hashValue"))
    elif kind == "mailbox":
        add_entity(entities, "user", props.get("mailboxPrimaryAddress") or props.get("upn"))
    elif kind == "process":
        add_entity(entities, "process", props.get("commandLine") or props.get("friendlyName"))
