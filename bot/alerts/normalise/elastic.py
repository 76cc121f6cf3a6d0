"""Elastic (Kibana Webhook connector): the body is whatever the rule's action template writes.

So the field mapping is configuration. Each field names a path; a path is looked up first as one
dotted key (`"rule.name": "..."`, the common template form) and then as nested objects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from bot.alerts.model import (
    COMMON_WORDS,
    Alert,
    Entity,
    InvalidAlert,
    Severity,
    Status,
    add_entity,
    require_object,
    severity_from_words,
    text,
    timestamp,
)

# What the documented default action template (docs/alerts.md) writes, then the names the same
# values have in an alert document (kibana.alert.*) and in security rules' context.rule.*:
# "a|b" takes the first path that holds a non-empty value (Mustache renders a missing one as "").
DEFAULT_FIELDS: dict[str, str] = {
    "id": "alert.uuid|alert.id|kibana.alert.uuid",
    "title": "rule.name|kibana.alert.rule.name|context.rule.name",
    "rule": "rule.id|kibana.alert.rule.uuid|context.rule.id",
    "severity": "kibana.alert.severity|context.rule.severity|kibana.alert.rule.severity",
    "risk_score": "kibana.alert.risk_score|context.rule.risk_score|kibana.alert.rule.risk_score",
    "status": "alert.actionGroup|kibana.alert.status",
    "category": "rule.tags|kibana.alert.rule.tags|context.rule.tags",
    "description": "context.reason|kibana.alert.reason|context.message|context.rule.description",
    "link": "rule.url|context.results_link|kibana.alert.url",
    "time": "date|@timestamp|kibana.alert.start",
    "host": "host.name|host.hostname",
    "user": "user.name",
    "ip": "source.ip",
    "url": "url.full",
    "domain": "dns.question.name",
    "hash": "file.hash.sha256|process.hash.sha256",
    "process": "process.command_line",
}
# alert.actionGroup "recovered", kibana.alert.status "recovered", or a workflow status "closed".
RESOLVED_WORDS = frozenset({"recovered", "resolved", "closed"})
FIELD_NAMES = frozenset(DEFAULT_FIELDS)


def risk_severity(score: float) -> Severity:
    """Elastic's own risk score bands: 0-21 low, 22-47 medium, 48-73 high, 74-100 critical."""
    if score < 22:
        return Severity.LOW
    if score < 48:
        return Severity.MEDIUM
    if score < 74:
        return Severity.HIGH
    return Severity.CRITICAL


def lookup(body: Mapping[str, Any], paths: str) -> Any:
    """The value at the first of the `|`-separated paths that holds something non-empty."""
    for path in paths.split("|"):
        value = _lookup(body, path.strip())
        if value not in (None, "", []):
            return value
    return None


def _lookup(body: Mapping[str, Any], path: str) -> Any:
    if not path:
        return None
    if path in body:
        return body[path]
    node: Any = body
    parts = path.split(".")
    index = 0
    while index < len(parts):
        if not isinstance(node, Mapping):
            return None
        # A partly dotted document ({"kibana": {"alert.severity": ...}}) is matched greedily.
        for end in range(len(parts), index, -1):
            key = ".".join(parts[index:end])
            if key in node:
                node = node[key]
                index = end
                break
        else:
            return None
    return node


def normalise(body: Any, fields: Mapping[str, str]) -> list[Alert | InvalidAlert]:
    body = require_object(body, "body")
    warnings: list[str] = []
    title = lookup(body, fields["title"])
    if not isinstance(title, str) or not title.strip():
        raise InvalidAlert(_first(fields["title"]), "required, a non-empty string (the title)")
    severity = _severity(body, fields, warnings)
    entities: list[Entity] = []
    for kind in ("host", "user", "ip", "url", "domain", "hash", "process"):
        value = lookup(body, fields[kind])
        for item in value if isinstance(value, list) else [value]:
            add_entity(entities, kind, item)
    source_id = text(lookup(body, fields["id"]), 300)
    if not source_id:
        digest = json.dumps(body, sort_keys=True, default=str).encode()
        source_id = "sha256:" + hashlib.sha256(digest).hexdigest()[:32]
    category = lookup(body, fields["category"])
    if isinstance(category, list):
        category = ", ".join(text(c, 60) for c in category[:5])
    seen = timestamp(lookup(body, fields["time"]), _first(fields["time"]), warnings)
    state = text(lookup(body, fields.get("status", "")), 60).casefold()
    return [
        Alert(
            source="elastic",
            source_id=source_id,
            title=title.strip()[:500],
            severity=severity,
            severity_word=_word(body, fields),
            status=Status.RESOLVED if state in RESOLVED_WORDS else Status.FIRING,
            rule=text(lookup(body, fields["rule"])) or title.strip()[:200],
            category=text(category),
            first_seen=seen,
            last_seen=seen,
            entities=entities,
            description=text(lookup(body, fields["description"])),
            link=text(lookup(body, fields["link"]), 2000),
            warnings=warnings,
            raw=body,
        )
    ]


def _severity(body: Mapping[str, Any], fields: Mapping[str, str], warnings: list[str]) -> Severity:
    word = lookup(body, fields["severity"])
    if isinstance(word, str) and word.strip():
        return severity_from_words(word, COMMON_WORDS, _first(fields["severity"]), warnings)
    score = lookup(body, fields["risk_score"])
    try:
        number = float(score) if not isinstance(score, bool) and score is not None else None
    except (TypeError, ValueError, OverflowError):  # OverflowError: a 400-digit integer
        number = None
    if number is not None and 0 <= number <= 100:
        return risk_severity(number)
    warnings.append(f"{_first(fields['severity'])}: missing; no usable risk score either")
    return Severity.UNKNOWN


def _word(body: Mapping[str, Any], fields: Mapping[str, str]) -> str:
    """The severity word as sent, for a route's severity_map ("" when a risk score decided)."""
    word = lookup(body, fields["severity"])
    return text(word, 100) if isinstance(word, str) else ""


def _first(paths: str) -> str:
    """The path an error names: the first of the alternatives."""
    return paths.split("|", 1)[0].strip()
