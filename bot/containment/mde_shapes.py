"""Defender for Endpoint shapes: indicator types, the texts Vigil sends (comment, title,
description) and defensive reading of Machine, MachineAction, Indicator and OData list answers.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from bot.containment.connector import Action, ConnectorError, Request
from bot.containment.mde_client import Reply
from bot.containment.rpz_names import BadTarget, dns_name

HASH_TYPES = {32: "FileMd5", 40: "FileSha1", 64: "FileSha256"}
SAFE_ID = re.compile(r"[A-Za-z0-9-]{1,128}")


def indicator_of(action: Action, target: str) -> tuple[str, str]:
    """(indicatorType, indicatorValue) for a block; ConnectorError when it is not valid."""
    value = target.strip()
    try:
        if action is Action.BLOCK_DOMAIN:
            return "DomainName", dns_name(value)
        if action is Action.BLOCK_IP:
            if "/" in value:
                raise BadTarget("MDE indicators take one address, not a CIDR range")
            return "IpAddress", str(ipaddress.ip_address(value))
        if action is Action.BLOCK_URL:
            return "Url", _url(value)
        if action is Action.BLOCK_HASH:
            lowered = value.lower()
            if len(lowered) not in HASH_TYPES or not re.fullmatch(r"[0-9a-f]+", lowered):
                raise BadTarget("expected an MD5, SHA-1 or SHA-256 hash in hex")
            return HASH_TYPES[len(lowered)], lowered
    except ValueError as exc:
        raise ConnectorError(f"mde: {exc}") from None
    raise ConnectorError(f"mde: {action.command} is not an indicator")


def _url(value: str) -> str:
    if len(value) > 2048 or any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise BadTarget("expected a URL without spaces, at most 2,048 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadTarget("expected an http or https URL with a host")
    return value


def comment(request: Request) -> str:
    """The isolation Comment: approval id first (find_sent matches on it), then why and who."""
    approvers = ", ".join(request.approvers) or "?"
    text = (
        f"Vigil {request.approval_id}: {' '.join(request.reason.split())} "
        f"(requested by {request.requester}; approved by {approvers})"
    )
    return text[:1000]


def description(request: Request) -> str:
    approvers = ", ".join(request.approvers) or "?"
    parts = [
        f"Blocked through Vigil approval {request.approval_id}.",
        f"Reason: {' '.join(request.reason.split())}",
        f"Requested by {request.requester}; approved by {approvers}.",
    ]
    if request.incident_id:
        parts.append(f"Incident {request.incident_id}.")
    return " ".join(parts)[:1000]


def iso_utc(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def permission_hint(path: str) -> str:
    if path.endswith("/isolate") or path.endswith("/unisolate"):
        return "the app needs the WindowsDefenderATP application permission Machine.Isolate"
    if path.startswith("/api/indicators"):
        return "the app needs the WindowsDefenderATP application permission Ti.ReadWrite"
    return "the app needs the WindowsDefenderATP application permission Machine.Read.All"


def machine_facts(machine: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Card evidence from a Machine entity; absent or mistyped fields are left out."""
    parts = (as_text(machine.get("osPlatform")), as_text(machine.get("osVersion")))
    os_name = " ".join(part for part in parts if part)
    rows = (
        ("Machine", as_text(machine.get("computerDnsName"))),
        ("OS", os_name),
        ("Health", as_text(machine.get("healthStatus"))),
        ("Risk score", as_text(machine.get("riskScore"))),
        ("Exposure", as_text(machine.get("exposureLevel"))),
        ("Last seen", as_text(machine.get("lastSeen"))),
        ("IP", as_text(machine.get("lastIpAddress"))),
        ("Tags", ", ".join(as_text(tag) for tag in as_list(machine.get("machineTags")))),
        ("Defender id", as_text(machine.get("id"))),
    )
    return tuple((title, value) for title, value in rows if value)


def as_text(value: Any, limit: int = 200) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return " ".join(str(value).split())[:limit]


def as_list(value: Any) -> list[Any]:
    return value[:50] if isinstance(value, list) else []


def id_of(entity: Any) -> str:
    value = entity.get("id") if isinstance(entity, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # indicator ids are numbers in some answers
    return value if isinstance(value, str) and SAFE_ID.fullmatch(value) else ""


def as_entity(reply: Reply, what: str) -> dict[str, Any]:
    if not isinstance(reply.body, dict):
        raise ConnectorError(f"mde: the {what} answer is not a JSON object")
    return reply.body


def odata_values(reply: Reply) -> list[Any]:
    """The `value` array of an OData list answer; ConnectorError when it is not one."""
    body = reply.body
    if reply.status != 200 or not isinstance(body, dict) or not isinstance(body.get("value"), list):
        raise ConnectorError(f"mde: expected an OData list, got {reply.error}")
    return body["value"][:1000]


def odata_quote(value: str) -> str:
    """An OData string literal's content: a quote is doubled."""
    return value.replace("'", "''")
