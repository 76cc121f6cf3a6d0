"""Prometheus Alertmanager webhook, version "4": several alerts per post, each with a fingerprint.

A firing alert has endsAt 0001-01-01T00:00:00Z. One bad alert in the batch is reported on its own
and does not drop the others.
"""

from __future__ import annotations

from typing import Any

from bot.alerts.model import (
    COMMON_WORDS,
    Alert,
    Entity,
    InvalidAlert,
    Status,
    add_entity,
    require_object,
    severity_from_words,
    text,
    timestamp,
)

MAX_BATCH = 1000
ZERO_TIME = "0001-01-01T00:00:00Z"


def normalise(body: Any) -> list[Alert | InvalidAlert]:
    body = require_object(body, "body")
    if body.get("version") != "4":
        raise InvalidAlert("version", 'expected "4"')
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise InvalidAlert("alerts", "required, a non-empty list")
    if len(alerts) > MAX_BATCH:
        raise InvalidAlert("alerts", f"at most {MAX_BATCH} alerts per post")
    truncated = body.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise InvalidAlert("truncatedAlerts", "expected a whole number")
    common = body.get("commonLabels") if isinstance(body.get("commonLabels"), dict) else {}
    results: list[Alert | InvalidAlert] = []
    for index, item in enumerate(alerts):
        try:
            alert = one(item, common, text(body.get("externalURL"), 2000))
        except InvalidAlert as exc:
            results.append(InvalidAlert(f"alerts[{index}].{exc.field}", exc.problem))
            continue
        if truncated:
            # max_alerts in the receiver's webhook_config cut the group: say so on the card.
            alert.warnings.append(
                f"Alertmanager left {truncated} more alerts of this group out (max_alerts)"
            )
        results.append(alert)
    return results


def one(item: Any, common: dict[str, Any], external_url: str) -> Alert:
    item = require_object(item, "alert")
    labels = require_object(item.get("labels"), "labels")
    annotations = item.get("annotations") if isinstance(item.get("annotations"), dict) else {}
    fingerprint = item.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint:
        raise InvalidAlert("fingerprint", "required, a non-empty string")
    status = item.get("status")
    if status not in ("firing", "resolved"):
        raise InvalidAlert("status", "firing or resolved")
    name = labels.get("alertname")
    if not isinstance(name, str) or not name:
        raise InvalidAlert("labels.alertname", "required, a non-empty string")
    warnings: list[str] = []
    severity = severity_from_words(
        labels.get("severity", common.get("severity")), COMMON_WORDS, "labels.severity", warnings
    )
    entities: list[Entity] = []
    instance = text(labels.get("instance") or labels.get("host") or labels.get("node"))
    add_entity(entities, "host", _without_port(instance))
    add_entity(entities, "ip", labels.get("ip"))
    add_entity(entities, "user", labels.get("user"))
    first = timestamp(item.get("startsAt"), "startsAt", warnings)
    ends = item.get("endsAt")
    last = first if ends in (None, ZERO_TIME) else timestamp(ends, "endsAt", warnings)
    return Alert(
        source="alertmanager",
        source_id=fingerprint,
        title=text(annotations.get("summary")) or name,
        severity=severity,
        status=Status(status),
        rule=name,
        category=text(labels.get("category") or labels.get("job")),
        first_seen=first,
        last_seen=last or first,
        entities=entities,
        description=text(annotations.get("description")),
        link=text(item.get("generatorURL"), 2000) or external_url,
        warnings=warnings,
        raw=item,
    )


def _without_port(instance: str) -> str:
    """Prometheus' instance label is host:port, or [v6 address]:port."""
    if instance.startswith("[") and "]" in instance:
        return instance[1 : instance.index("]")]
    return instance.rsplit(":", 1)[0] if instance.count(":") == 1 else instance
