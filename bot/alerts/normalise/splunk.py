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
    add_entities,
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
    level = _first(result.get("severity") or result.get("urgency"))
    severity = severity_from_words(level, SEVERITY, "result.severity", warnings)
    # search_name is null for an ad-hoc search; then the sid (one per search run) names it.
    rule = text(search_name) or _saved_search(sid)
    title = (
        text(_first(result.get("title") or result.get("rule_name")))
        or text(search_name)
        or _unnamed(body)
    )
    entities: list[Entity] = []
    for kind, keys in ENTITY_FIELDS:
        for key in keys:
            add_entities(entities, kind, result.get(key))
    # One sid per search run; a search can alert per result, so the row joins it when present.
    row = text(_first(result.get("event_id") or result.get("_cd")), 200)
    seen = timestamp(_first(result.get("_time")), "result._time", warnings)
    return [
        Alert(
            source="splunk",
            source_id=f"{sid}:{row}" if row else sid,
            title=title,
            severity=severity,
            rule=rule,
            category=text(_first(result.get("category"))),
            first_seen=seen,
            last_seen=seen,
            entities=entities,
            description=text(_first(result.get("description") or result.get("_raw"))),
            link=text(body.get("results_link"), 2000),
            warnings=warnings,
            raw=body,
            severity_word=text(level, 100),
        )
    ]


def _first(value: Any) -> Any:
    """A multivalue field arrives as a list of strings; its first value stands for it."""
    return value[0] if isinstance(value, list) and value else value


def _saved_search(sid: str) -> str:
    """A scheduled run's sid ends `_at_<epoch>_<n>`; without it, it names the saved search."""
    head, found, _ = sid.rpartition("_at_")
    return (head if found and head else sid)[:200]


def _unnamed(body: dict[str, Any]) -> str:
    """The title of an ad-hoc search's alert: where it ran, since it has no name."""
    where = ", ".join(
        f"{key} {text(body.get(key), 60)}" for key in ("app", "owner") if text(body.get(key), 60)
    )
    return f"Splunk alert ({where})" if where else "Splunk alert"
