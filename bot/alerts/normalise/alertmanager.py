"""Prometheus Alertmanager webhook, version "4", as sent from 0.15 to today: one group per post.

Before 0.19 an alert has no `fingerprint` (derived here from its labels exactly as Alertmanager
does) and `truncatedAlerts` did not exist; an alert's own `status` may be missing too, and is then
the group's. A firing alert has endsAt 0001-01-01T00:00:00Z. One bad alert in the batch is
reported on its own and does not drop the others.
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
MAX_LABELS = 100
STATUSES = ("firing", "resolved")
# FNV-1a 64 and the separator of prometheus/common model.LabelSet.Fingerprint().
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_SEPARATOR = b"\xff"


def label_fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set: FNV-1a 64 over name, 0xff, value, 0xff pairs
    in sorted name order, as 16 hex digits (model.LabelSet.Fingerprint().String())."""
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for byte in name.encode() + _SEPARATOR + labels[name].encode() + _SEPARATOR:
            digest = ((digest ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


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
    group_status = body.get("status")
    if group_status is not None and group_status not in STATUSES:
        raise InvalidAlert("status", "firing or resolved")
    common = body.get("commonLabels") if isinstance(body.get("commonLabels"), dict) else {}
    group = _group_key(body)
    results: list[Alert | InvalidAlert] = []
    for index, item in enumerate(alerts):
        try:
            alert = one(item, common, text(body.get("externalURL"), 2000), group_status)
        except InvalidAlert as exc:
            results.append(InvalidAlert(f"alerts[{index}].{exc.field}", exc.problem))
            continue
        alert.group = group
        alert.truncated = truncated
        if truncated:
            # max_alerts in the receiver's webhook_config cut the group: say so on the card.
            alert.warnings.append(
                f"Alertmanager left {truncated} more alerts of this group out (max_alerts)"
            )
        results.append(alert)
    return results


def _group_key(body: dict[str, Any]) -> str:
    """The group this notification is about: `groupKey` (route and group labels), or, if a
    sender left it out, the receiver and the group labels, which is what it is made of."""
    key = text(body.get("groupKey"), 1000)
    if key:
        return key
    labels = body.get("groupLabels") if isinstance(body.get("groupLabels"), dict) else {}
    pairs = ",".join(f"{k}={text(v, 200)!r}" for k, v in sorted(labels.items()))
    return f"{text(body.get('receiver'), 200)}:{{{pairs}}}"


def _labels(value: Any) -> dict[str, str]:
    labels = require_object(value, "labels")
    if len(labels) > MAX_LABELS:
        raise InvalidAlert("labels", f"at most {MAX_LABELS} labels")
    if not all(isinstance(v, str) for v in labels.values()):
        raise InvalidAlert("labels", "label values are strings")
    return labels


def one(
    item: Any, common: dict[str, Any], external_url: str, group_status: str | None = None
) -> Alert:
    item = require_object(item, "alert")
    labels = _labels(item.get("labels"))
    annotations = item.get("annotations") if isinstance(item.get("annotations"), dict) else {}
    fingerprint = item.get("fingerprint")
    if fingerprint is None:
        fingerprint = label_fingerprint(labels)  # Alertmanager before 0.19 did not send it
    elif not isinstance(fingerprint, str) or not fingerprint:
        raise InvalidAlert("fingerprint", "a non-empty string when present")
    status = item.get("status", group_status)
    if status not in STATUSES:
        raise InvalidAlert("status", "firing or resolved (the alert's, or else the group's)")
    name = labels.get("alertname")
    if not name:
        raise InvalidAlert("labels.alertname", "required, a non-empty string")
    warnings: list[str] = []
    word = labels.get("severity", common.get("severity"))
    severity = severity_from_words(word, COMMON_WORDS, "labels.severity", warnings)
    summary = text(annotations.get("summary"))
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
        # The alertname leads: a group's alerts often share one summary.
        title=f"{name}: {summary}" if summary and name not in summary else summary or name,
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
        labels={str(k): v for k, v in labels.items()},
        severity_word=text(word, 100),
    )


def _without_port(instance: str) -> str:
    """Prometheus' instance label is host:port, or [v6 address]:port."""
    if instance.startswith("[") and "]" in instance:
        return instance[1 : instance.index("]")]
    return instance.rsplit(":", 1)[0] if instance.count(":") == 1 else instance
