"""The one alert shape every source is normalised to, and the errors normalisers raise."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAX_RAW_BYTES = 64 * 1024
MAX_TEXT = 4000
MAX_ENTITIES = 50
# Epoch milliseconds of the year 9999: anything later is no alert time (and overflows datetime).
_LATEST_EPOCH_MS = 253402300799999
_EPOCH = re.compile(r"[0-9]{1,13}\.[0-9]{1,9}")
ENTITY_TYPES = ("host", "user", "ip", "url", "domain", "hash", "process")


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """Order for "at least" comparisons; unknown ranks with medium so it is not hidden."""
        return {"info": 0, "low": 1, "medium": 2, "unknown": 2, "high": 3, "critical": 4}[self]


class Status(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class InvalidAlert(ValueError):
    """The body does not fit the source's format; `field` names what is missing or wrong."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name
        self.problem = problem


@dataclass(frozen=True)
class Entity:
    type: str
    value: str


@dataclass
class Alert:
    source: str
    source_id: str  # the sender's id or fingerprint: (source, source_id) is unique
    title: str
    severity: Severity
    status: Status = Status.FIRING
    rule: str = ""
    category: str = ""
    first_seen: float = 0.0
    last_seen: float = 0.0
    entities: list[Entity] = field(default_factory=list)
    description: str = ""
    link: str = ""
    warnings: list[str] = field(default_factory=list)
    raw: Any = None
    id: str = ""
    # What the producer says beyond the common shape (stored as the `producer` column):
    # Alertmanager's label set and group key, the severity word as sent (routes may map it),
    # and how many alerts of the group Alertmanager left out (max_alerts).
    labels: dict[str, str] = field(default_factory=dict)
    group: str = ""
    severity_word: str = ""
    truncated: int = 0

    @property
    def primary_entity(self) -> Entity | None:
        """The host when there is one, else the first entity: what de-duplication groups by."""
        for entity in self.entities:
            if entity.type == "host":
                return entity
        return self.entities[0] if self.entities else None

    def entity(self, kind: str) -> str:
        return next((e.value for e in self.entities if e.type == kind), "")


def text(value: Any, limit: int = MAX_TEXT) -> str:
    """A display string from any scalar; long text is cut, never rejected."""
    if value is None:
        return ""
    if isinstance(value, str):
        result = value
    elif isinstance(value, bool | int | float):
        result = str(value)
    else:
        return ""
    return result.strip()[:limit]


def required_text(body: dict[str, Any], key: str, name: str | None = None) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidAlert(name or key, "required, a non-empty string")
    return value.strip()[:MAX_TEXT]


def require_object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidAlert(name, "required, a JSON object")
    return value


def timestamp(value: Any, name: str, warnings: list[str]) -> float:
    """Epoch seconds from ISO 8601 or epoch seconds/ms; 0 and a warning when unreadable."""
    if value in (None, ""):
        return 0.0
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= _LATEST_EPOCH_MS:  # also NaN; float() of a huge int would raise
            warnings.append(f"{name}: time out of range")
            return 0.0
        number = float(value)
        return number / 1000 if number > 1e11 else number
    if isinstance(value, str):
        raw = value.strip()
        if raw.isdigit() and len(raw) <= len(str(_LATEST_EPOCH_MS)):
            return timestamp(int(raw), name, warnings)
        if _EPOCH.fullmatch(raw):  # Splunk's _time: "1714640000.123"
            return timestamp(float(raw), name, warnings)
        candidate = raw.replace("Z", "+00:00")
        # Wazuh writes +0000; Python before 3.12 wants +00:00. Fractions past 6 digits are cut.
        if len(candidate) > 5 and candidate[-5] in "+-" and candidate[-3] != ":":
            candidate = candidate[:-2] + ":" + candidate[-2:]
        if "." in candidate:
            head, _, tail = candidate.partition(".")
            # Only the leading digits are the fraction: "456+02:00" keeps its zone.
            digits = tail[: len(tail) - len(tail.lstrip("0123456789"))]
            zone = tail[len(digits) :]
            candidate = f"{head}.{digits[:6]}{zone}"
        try:
            parsed = dt.datetime.fromisoformat(candidate)
        except ValueError:
            warnings.append(f"{name}: unreadable time {raw[:40]!r}")
            return 0.0
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return max(parsed.timestamp(), 0.0)
    warnings.append(f"{name}: unreadable time")
    return 0.0


def add_entity(entities: list[Entity], kind: str, value: Any) -> None:
    shown = text(value, 500)
    if shown and kind in ENTITY_TYPES and len(entities) < MAX_ENTITIES:
        entity = Entity(kind, shown)
        if entity not in entities:
            entities.append(entity)


def add_entities(entities: list[Entity], kind: str, value: Any) -> None:
    """Like add_entity, for a field that may hold one value or a list (a multivalue field)."""
    for item in value[:MAX_ENTITIES] if isinstance(value, list) else [value]:
        add_entity(entities, kind, item)


def severity_from_words(
    value: Any, mapping: dict[str, Severity], name: str, warnings: list[str]
) -> Severity:
    """Map a vendor word to a severity; unknown words become `unknown` with a warning."""
    word = text(value, 100).lower()
    if word in mapping:
        return mapping[word]
    warnings.append(f"{name}: unknown severity {word[:40]!r}" if word else f"{name}: missing")
    return Severity.UNKNOWN


COMMON_WORDS: dict[str, Severity] = {
    "info": Severity.INFO,
    "informational": Severity.INFO,
    "information": Severity.INFO,
    "none": Severity.INFO,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "warning": Severity.MEDIUM,
    "warn": Severity.MEDIUM,
    "high": Severity.HIGH,
    "error": Severity.HIGH,
    "page": Severity.CRITICAL,
    "severe": Severity.HIGH,
    "critical": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
    "unknown": Severity.UNKNOWN,
}
