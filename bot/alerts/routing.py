"""Routing rules from `[[alerts.routes]]` in the TOML config, checked at start-up.

The first matching rule wins; an alert no rule matches goes to the default channel. A rule
either routes to a channel (by name or `19:...@thread.tacv2` id), drops, or snoozes until a time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.alerts.model import ENTITY_TYPES, Alert, Severity, timestamp
from bot.alerts.settings import AlertSettings
from bot.config import ConfigError, RawConfig

ACTIONS = ("route", "drop", "snooze")
DEFAULT_RULE = "default"
_KEYS = frozenset(
    {"name", "min_severity", "category", "source", "entity_type", "title_regex", "action"}
    | {"channel", "mentions", "until"}
)


@dataclass(frozen=True)
class Rule:
    name: str
    action: str = "route"
    channel: str = ""
    min_severity: Severity | None = None
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    entity_types: tuple[str, ...] = ()
    title_regex: re.Pattern[str] | None = None
    mentions: tuple[str, ...] = ()
    until: float = 0.0

    def matches(self, alert: Alert) -> bool:
        if self.min_severity is not None and alert.severity.rank < self.min_severity.rank:
            return False
        if self.sources and alert.source not in self.sources:
            return False
        if self.categories:
            own = {part.strip().casefold() for part in alert.category.split(",")}
            if not own & set(self.categories):
                return False
        if self.entity_types and not {e.type for e in alert.entities} & set(self.entity_types):
            return False
        if self.title_regex is not None and not self.title_regex.search(alert.title):
            return False
        return True


@dataclass(frozen=True)
class Decision:
    rule: str
    action: str  # route | drop | snooze
    channel: str  # a channel name or id still to resolve; "" when there is none
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Routes:
    rules: tuple[Rule, ...]
    default_channel: str

    @classmethod
    def load(cls, raw: RawConfig) -> Routes:
        settings = AlertSettings.load(raw)
        table = raw.table("alerts")
        entries = table.get("routes", [])
        if not isinstance(entries, list):
            raise ConfigError("alerts.routes: expected an array of tables ([[alerts.routes]])")
        rules = tuple(_rule(entry, index) for index, entry in enumerate(entries))
        names = [rule.name for rule in rules]
        if len(set(names)) != len(names):
            raise ConfigError("alerts.routes: rule names must be unique")
        return cls(rules, settings.default_channel)

    def decide(self, alert: Alert, now: float | None = None) -> Decision:
        now = time.time() if now is None else now
        for rule in self.rules:
            if not rule.matches(alert):
                continue
            if rule.action == "snooze" and rule.until <= now:
                continue  # an expired snooze rule no longer applies
            return Decision(rule.name, rule.action, rule.channel, rule.mentions)
        return Decision(DEFAULT_RULE, "route", self.default_channel)


def _rule(entry: Any, index: int) -> Rule:
    where = f"alerts.routes[{index}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected a table")
    unknown = set(entry) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}.name: required, a string")
    where = f"alerts.routes[{name}]"
    action = entry.get("action", "route")
    if action not in ACTIONS:
        raise ConfigError(f"{where}.action: expected one of {', '.join(ACTIONS)}")
    channel = entry.get("channel", "")
    if not isinstance(channel, str) or (action == "route" and not channel.strip()):
        raise ConfigError(f"{where}.channel: required for a route, a channel name or id")
    return Rule(
        name=name.strip(),
        action=action,
        channel=channel.strip().lstrip("#"),
        min_severity=_severity(entry.get("min_severity"), where),
        categories=tuple(c.casefold() for c in _strings(entry.get("category"), where, "category")),
        sources=_strings(entry.get("source"), where, "source"),
        entity_types=_entity_types(entry.get("entity_type"), where),
        title_regex=_regex(entry.get("title_regex"), where),
        mentions=_strings(entry.get("mentions"), where, "mentions"),
        until=_until(entry.get("until"), action, where),
    )


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise ConfigError(f"{where}.{key}: expected a string or a list of strings")
    return tuple(i.strip() for i in items)


def _severity(value: Any, where: str) -> Severity | None:
    if value is None:
        return None
    try:
        return Severity(str(value).lower())
    except ValueError:
        raise ConfigError(f"{where}.min_severity: expected one of {', '.join(Severity)}") from None


def _entity_types(value: Any, where: str) -> tuple[str, ...]:
    kinds = _strings(value, where, "entity_type")
    for kind in kinds:
        if kind not in ENTITY_TYPES:
            raise ConfigError(f"{where}.entity_type: expected one of {', '.join(ENTITY_TYPES)}")
    return kinds


def _regex(value: Any, where: str) -> re.Pattern[str] | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}.title_regex: expected a string")
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"{where}.title_regex: invalid regular expression: {exc}") from None


def _until(value: Any, action: str, where: str) -> float:
    if action != "snooze":
        return 0.0
    warnings: list[str] = []
    when = timestamp(value.isoformat() if hasattr(value, "isoformat") else value, "until", warnings)
    if not when or warnings:
        raise ConfigError(f"{where}.until: a snooze rule needs an ISO 8601 end time")
    return when
