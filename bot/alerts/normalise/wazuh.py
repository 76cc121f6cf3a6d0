"""Wazuh: one record of alerts.json (rule.level 0-15, agent, data, id "<epoch>.<offset>")."""

from __future__ import annotations

from typing import Any

from bot.alerts.model import (
    Alert,
    Entity,
    InvalidAlert,
    Severity,
    add_entity,
    require_object,
    text,
    timestamp,
)


def level_severity(level: int) -> Severity:
    """Wazuh's own bands: 0-2 info, 3-6 low, 7-11 medium, 12-14 high, 15 critical."""
    if level <= 2:
        return Severity.INFO
    if level <= 6:
        return Severity.LOW
    if level <= 11:
        return Severity.MEDIUM
    if level <= 14:
        return Severity.HIGH
    return Severity.CRITICAL


def normalise(body: Any) -> list[Alert | InvalidAlert]:
    body = require_object(body, "body")
    rule = require_object(body.get("rule"), "rule")
    level = rule.get("level")
    # Two digits at most: int() of thousands of digits raises (Python's digit limit).
    if isinstance(level, str) and level.strip().isdigit() and len(level.strip()) <= 2:
        level = int(level)
    if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 15:
        raise InvalidAlert("rule.level", "required, an integer from 0 to 15")
    description = rule.get("description")
    if not isinstance(description, str) or not description.strip():
        raise InvalidAlert("rule.description", "required, a non-empty string")
    record_id = body.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise InvalidAlert("id", "required, a non-empty string")
    warnings: list[str] = []
    agent = body.get("agent") if isinstance(body.get("agent"), dict) else {}
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    entities: list[Entity] = []
    # Windows event channel records keep their fields under data.win.{system,eventdata}.
    win = data.get("win") if isinstance(data.get("win"), dict) else {}
    event = win.get("eventdata") if isinstance(win.get("eventdata"), dict) else {}
    system = win.get("system") if isinstance(win.get("system"), dict) else {}
    add_entity(entities, "host", agent.get("name") or system.get("computer"))
    add_entity(entities, "ip", data.get("srcip") or event.get("ipAddress"))
    add_entity(entities, "ip", data.get("dstip"))
    add_entity(entities, "ip", agent.get("ip"))
    add_entity(
        entities,
        "user",
        data.get("dstuser") or data.get("srcuser") or event.get("targetUserName"),
    )
    add_entity(entities, "url", data.get("url"))
    syscheck = body.get("syscheck") if isinstance(body.get("syscheck"), dict) else {}
    add_entity(entities, "hash", syscheck.get("sha256_after"))
    add_entity(entities, "process", event.get("commandLine"))
    groups = rule.get("groups") if isinstance(rule.get("groups"), list) else []
    seen = timestamp(body.get("timestamp"), "timestamp", warnings)
    return [
        Alert(
            source="wazuh",
            source_id=record_id,
            title=description.strip()[:500],
            severity=level_severity(level),
            rule=text(rule.get("id")) or description.strip()[:200],
            category=", ".join(text(g, 60) for g in groups[:5]),
            first_seen=seen,
            last_seen=seen,
            entities=entities,
            description=text(body.get("full_log")),
            warnings=warnings,
            raw=body,
        )
    ]
