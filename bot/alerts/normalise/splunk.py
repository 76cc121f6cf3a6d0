"""Splunk's webhook alert action: {result, sid, results_link, search_name, owner, app}.

Every value in `result` is a string; `search_name` is null for an ad-hoc search. Severity comes
from `result.severity` or `result.urgency` (Splunk ES words, or the alert levels "1"-"6").
"""

from __future__ import annotations

from typing import Any

from bot.alerts.model import (
    COMMON_WORDS,
    Alert,
    Entity,
    InvalidAlert,
    Severity,
    add_entity,
    require_object,
    severity_from_words,
    text,
    timestamp,
)

# Splunk's saved-search alert.severity: 1 debug, 2 info, 3 warn, 4 error, 5 severe, 6 fatal.
SEVERITY = {
    **COMMON_WORDS,
    "1": Severity.INFO,
    "2": Severity.INFO,
    "3": Severity.MEDIUM,
    "4": Severity.HIGH,
    "5": Severity.CRITICAL,
    "6": Severity.CRITICAL,
    "debug": Severity.INFO,
}
ENTITY_FIELDS = (
    ("host", ("dest", "host", "dest_host", "src_host", "ComputerName")),
    ("user", ("user", "src_user", "dest_user")),
    ("ip", ("src_ip", "dest_ip", "src", "ip")),
    ("url", ("url",)),
    ("domain", ("domain", "query")),
    ("hash", ("file_hash", "hash", "sha256", "md5")),
    ("process", ("process", "process_name")),
)


def normalise(body: Any) -> list[Alert | InvalidAlert]:
    body = require_object(body, "body")
    result = require_object(body.get("result"), "result")
    sid = body.get("sid")
    if not isinstance(sid, str) or not sid:
        raise InvalidAlert("sid", "required, a non-empty string")
    search_name = body.get("search_name")
    if search_name is not None and not isinstance(search_name, str):
        raise InvalidAlert("search_name", "expected a string or null")
    warnings: list[str] = []
    level = result.get("severity") or result.get("urgency")
    severity = severity_from_words(level, SEVERITY, "result.severity", warnings)
    title = (
        text(result.get("title") or result.get("rule_name")) or text(search_name) or "Splunk alert"
    )
    entities: list[Entity] = []
    for kind, keys in ENTITY_FIELDS:
        for key in keys:
            add_entity(entities, kind, result.get(key))
    # One sid per search run; a search can alert per result, so the row joins it when present.
    row = text(result.get("event_id") or result.get("_cd"), 200)
    seen = timestamp(result.get("_time"), "result._time", warnings)
    return [
        Alert(
            source="splunk",
            source_id=f"{sid}:{row}" if row else sid,
            title=title,
            severity=severity,
            rule=text(search_name) or title,
            category=text(result.get("category")),
            first_seen=seen,
            last_seen=seen,
            entities=entities,
            description=text(result.get("description") or result.get("_raw")),
            link=text(body.get("results_link"), 2000),
            warnings=warnings,
            raw=body,
        )
    ]
