"""Vigil's own format: {title, severity, source, entities:[{type, value}], ...} or a list."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.alerts.model import (
    COMMON_WORDS,
    ENTITY_TYPES,
    Alert,
    Entity,
    InvalidAlert,
    Severity,
    Status,
    add_entity,
    required_text,
    severity_from_words,
    text,
    timestamp,
)

MAX_BATCH = 500


def normalise(body: Any) -> list[Alert | InvalidAlert]:
    if isinstance(body, list):
        if not body:
            raise InvalidAlert("alerts", "an empty list")
        if len(body) > MAX_BATCH:
            raise InvalidAlert("alerts", f"at most {MAX_BATCH} alerts per post")
        results: list[Alert | InvalidAlert] = []
        for index, item in enumerate(body):
            try:
                results.append(one(item, f"[{index}]."))
            except InvalidAlert as exc:
                results.append(exc)
        return results
    return [one(body, "")]


def one(body: Any, prefix: str) -> Alert:
    if not isinstance(body, dict):
        raise InvalidAlert(prefix.rstrip(".") or "body", "expected a JSON object")
    warnings: list[str] = []
    title = _field(body, "title", prefix)
    if not isinstance(body.get("severity"), str):
        raise InvalidAlert(f"{prefix}severity", "required, one of " + ", ".join(Severity))
    severity = severity_from_words(body["severity"], COMMON_WORDS, "severity", warnings)
    entities: list[Entity] = []
    raw_entities = body.get("entities", [])
    if not isinstance(raw_entities, list):
        raise InvalidAlert(f"{prefix}entities", "expected a list of {type, value}")
    for index, item in enumerate(raw_entities):
        name = f"{prefix}entities[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("value"), str | int):
            raise InvalidAlert(name, "expected {type, value}")
        kind = text(item.get("type")).lower()
        if kind not in ENTITY_TYPES:
            raise InvalidAlert(f"{name}.type", "one of " + ", ".join(ENTITY_TYPES))
        add_entity(entities, kind, item["value"])
    status = text(body.get("status")).lower() or "firing"
    if status not in ("firing", "resolved"):
        raise InvalidAlert(f"{prefix}status", "firing or resolved")
    source_id = text(body.get("id") or body.get("fingerprint"), 300)
    if not source_id:
        # Without an id the same content is the same alert, so a re-send is still recognised.
        digest = json.dumps(body, sort_keys=True, default=str).encode()
        source_id = "sha256:" + hashlib.sha256(digest).hexdigest()[:32]
    for key in ("source", "rule", "category", "description", "link"):
        if key in body and body[key] is not None and not isinstance(body[key], str):
            raise InvalidAlert(f"{prefix}{key}", "expected a string")
    first = timestamp(body.get("first_seen"), "first_seen", warnings)
    return Alert(
        source="generic",
        source_id=source_id,
        title=title,
        severity=severity,
        status=Status(status),
        rule=text(body.get("rule")) or title,
        category=text(body.get("category")),
        first_seen=first,
        last_seen=timestamp(body.get("last_seen"), "last_seen", warnings) or first,
        entities=entities,
        description=text(body.get("description")),
        link=text(body.get("link"), 2000),
        warnings=warnings,
        raw=body,
        severity_word=text(body["severity"], 100),
    )


def _field(body: dict[str, Any], key: str, prefix: str) -> str:
    try:
        return required_text(body, key)
    except InvalidAlert:
        raise InvalidAlert(f"{prefix}{key}", "required, a non-empty string") from None
