"""Routing rules from `[[alerts.routes]]` in the TOML config, checked at start-up.

The first matching rule wins; an alert no rule matches goes to the default channel. A rule
either routes to a channel (by name or `19:...@thread.tacv2` id), drops, or snoozes until a time.
A rule may map the producer's severity words its own way (`severity_map`), and may ask for
resolved alerts that have no card to be posted (`post_resolved`); otherwise they are recorded.
A rule may show its alerts with its own card template (`template = "my_alert"`, a template of
`VIGIL_CARDS_DIR` with the alert card's data contract; see docs/cards.md).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.alerts.model import ENTITY_TYPES, Alert, Severity, Status, timestamp
from bot.alerts.settings import AlertSettings, parse_channel
from bot.kernel.config import ConfigError, RawConfig

ACTIONS = ("route", "drop", "snooze")
MAX_REGEX = 300
MAX_NAME = 200
MAX_LIST = 50
# An unbounded repeat inside a group that is itself repeated without bound: (a+)+, (a*b?)*,
# (x+){2,}. A heuristic: bounded repeats such as (\.\d{1,3}){3} stay allowed.
_NESTED_QUANTIFIER = re.compile(r"[+*][^()]*\)(?:[+*]|\{\d*,\})")
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")
DEFAULT_RULE = "default"
ALERT_CARD = "alert"
_KEYS = frozenset(
    {"name", "min_severity", "category", "source", "entity_type", "title_regex", "action"}
    | {"channel", "mentions", "until", "severity_map", "post_resolved", "template"}
)
MAX_WORD = 100


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
    severity_map: tuple[tuple[str, Severity], ...] = ()
    post_resolved: bool = False
    template: str = ALERT_CARD

    def severity_of(self, alert: Alert) -> Severity:
        """The alert's severity under this rule: its own word mapped here, else the default."""
        word = alert.severity_word.casefold()
        return next((s for w, s in self.severity_map if w == word), alert.severity)

    def matches(self, alert: Alert) -> bool:
        severity = self.severity_of(alert)
        if self.min_severity is not None and severity.rank < self.min_severity.rank:
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
    severity: Severity | None = None  # the alert's severity under the rule's severity_map
    post_resolved: bool = False

    def shows(self, alert: Alert) -> bool:
        """Whether an alert with no card yet gets one: a resolved one only if the rule asks."""
        return alert.status is not Status.RESOLVED or self.post_resolved


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
        _check_templates(raw, rules)
        seen: set[str] = set()
        for index, rule in enumerate(rules):
            if rule.name.casefold() in seen:
                raise ConfigError(f"alerts.routes[{index}].name: {rule.name!r} is used twice")
            seen.add(rule.name.casefold())
        return cls(rules, settings.default_channel)

    def decide(self, alert: Alert, now: float | None = None) -> Decision:
        now = time.time() if now is None else now
        for rule in self.rules:
            if not rule.matches(alert):
                continue
            if rule.action == "snooze" and rule.until <= now:
                continue  # an expired snooze rule no longer applies
            return Decision(
                rule.name,
                rule.action,
                rule.channel,
                rule.mentions,
                rule.severity_of(alert),
                rule.post_resolved,
            )
        return Decision(DEFAULT_RULE, "route", self.default_channel)

    def template_for(self, rule_name: str) -> str:
        """The card template of the rule that routed a card (the alert card by default)."""
        rule = next((r for r in self.rules if r.name == rule_name), None)
        return rule.template if rule is not None else ALERT_CARD


def _check_templates(raw: RawConfig, rules: tuple[Rule, ...]) -> None:
    """Each rule's template exists (shipped or in VIGIL_CARDS_DIR) with the alert card's data."""
    named = [(index, rule) for index, rule in enumerate(rules) if rule.template != ALERT_CARD]
    if not named:
        return
    from bot.kernel.card_templates import load_overrides

    templates = load_overrides(raw).templates
    for index, rule in named:
        found = templates.get(rule.template)
        if found is None or found[1] != ALERT_CARD:
            raise ConfigError(
                f"alerts.routes[{index}].template: {rule.template!r} is not a card template with"
                f" the alert card's data in cards.dir (VIGIL_CARDS_DIR): add"
                f" alert/{rule.template}.json there"
            )


def _rule(entry: Any, index: int) -> Rule:
    # Errors name the rule by position (alerts.routes[2].title_regex): that is what the
    # operator can find in the file even when the name itself is the problem.
    where = f"alerts.routes[{index}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected a table ([[alerts.routes]])")
    unknown = sorted(str(key) for key in set(entry) - _KEYS)
    if unknown:
        known = ", ".join(sorted(_KEYS))
        raise ConfigError(f"{where}.{unknown[0]}: unknown key; known: {known}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ConfigError(f"{where}.name: required, a string of 1 to {MAX_NAME} characters")
    action = entry.get("action", "route")
    if not isinstance(action, str) or action not in ACTIONS:
        raise ConfigError(f"{where}.action: expected one of {', '.join(ACTIONS)}")
    channel = entry.get("channel")
    if action == "route":
        channel = channel_reference(channel, f"{where}.channel")
    elif channel is not None:
        raise ConfigError(f"{where}.channel: a {action} rule posts nothing, so it has no channel")
    if action != "route" and entry.get("mentions") is not None:
        raise ConfigError(f"{where}.mentions: a {action} rule posts nothing, so it has no mentions")
    if action != "snooze" and entry.get("until") is not None:
        raise ConfigError(f"{where}.until: only a snooze rule has an end time")
    post_resolved = entry.get("post_resolved", False)
    if not isinstance(post_resolved, bool):
        raise ConfigError(f"{where}.post_resolved: expected true or false")
    if post_resolved and action != "route":
        raise ConfigError(f"{where}.post_resolved: a {action} rule posts nothing")
    template = entry.get("template", ALERT_CARD)
    if not isinstance(template, str) or not template.strip():
        raise ConfigError(f"{where}.template: expected the name of a card template")
    if action != "route" and "template" in entry:
        raise ConfigError(f"{where}.template: a {action} rule posts nothing, so it has no card")
    return Rule(
        name=name.strip(),
        action=action,
        channel=channel or "",
        min_severity=_severity(entry.get("min_severity"), where),
        categories=tuple(c.casefold() for c in _strings(entry.get("category"), where, "category")),
        sources=_sources(entry.get("source"), where),
        entity_types=_entity_types(entry.get("entity_type"), where),
        title_regex=_regex(entry.get("title_regex"), where),
        mentions=_strings(entry.get("mentions"), where, "mentions"),
        until=_until(entry.get("until"), action, where),
        severity_map=_severity_map(entry.get("severity_map"), where),
        post_resolved=post_resolved,
        template=template.strip(),
    )


def channel_reference(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: required, a channel name or id (19:...@thread.tacv2)")
    try:
        return parse_channel(value)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise ConfigError(f"{where}.{key}: expected a string or a list of strings")
    if len(items) > MAX_LIST or any(len(i) > MAX_NAME for i in items):
        raise ConfigError(f"{where}.{key}: at most {MAX_LIST} values of {MAX_NAME} characters")
    return tuple(i.strip() for i in items)


def _severity(value: Any, where: str) -> Severity | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return Severity(value.lower())
    except ValueError:
        raise ConfigError(f"{where}.min_severity: expected one of {', '.join(Severity)}") from None


def _severity_map(value: Any, where: str) -> tuple[tuple[str, Severity], ...]:
    """`severity_map = { page = "high", major = "high" }`: producer word -> Vigil severity."""
    if value is None:
        return ()
    key = f"{where}.severity_map"
    if not isinstance(value, Mapping):
        raise ConfigError(f'{key}: expected a table of words, e.g. {{ page = "critical" }}')
    if len(value) > MAX_LIST:
        raise ConfigError(f"{key}: at most {MAX_LIST} words")
    pairs: list[tuple[str, Severity]] = []
    for word, severity in value.items():
        if not str(word).strip() or len(str(word)) > MAX_WORD:
            raise ConfigError(f"{key}: a word of 1 to {MAX_WORD} characters")
        try:
            if not isinstance(severity, str):
                raise ValueError(severity)
            pairs.append((str(word).strip().casefold(), Severity(severity.lower())))
        except ValueError:
            raise ConfigError(f"{key}.{word}: expected one of {', '.join(Severity)}") from None
    return tuple(pairs)


def _entity_types(value: Any, where: str) -> tuple[str, ...]:
    kinds = _strings(value, where, "entity_type")
    for kind in kinds:
        if kind not in ENTITY_TYPES:
            raise ConfigError(f"{where}.entity_type: expected one of {', '.join(ENTITY_TYPES)}")
    return kinds


def _regex(value: Any, where: str) -> re.Pattern[str] | None:
    if value is None:
        return None
    key = f"{where}.title_regex"
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: expected a non-empty string")
    if len(value) > MAX_REGEX:
        raise ConfigError(f"{key}: longer than {MAX_REGEX} characters")
    if _NESTED_QUANTIFIER.search(value) or _BACKREFERENCE.search(value):
        # Python's re backtracks: (a+)+ or a back-reference can take exponential time on one
        # hostile title, and routing runs on every alert.
        raise ConfigError(
            f"{key}: nested quantifiers such as (a+)+ and back-references can backtrack"
            " catastrophically; write the pattern without them"
        )
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"{key}: invalid regular expression: {exc}") from None


def _sources(value: Any, where: str) -> tuple[str, ...]:
    from bot.alerts.normalise import SOURCES

    names = _strings(value, where, "source")
    for name in names:
        if name not in SOURCES:
            raise ConfigError(f"{where}.source: {name[:40]!r} is not one of {', '.join(SOURCES)}")
    return names


def _until(value: Any, action: str, where: str) -> float:
    if action != "snooze":
        return 0.0
    if not isinstance(value, str | dt.datetime):  # a TOML date-time arrives as a datetime
        raise ConfigError(f"{where}.until: a snooze rule needs an ISO 8601 end time")
    warnings: list[str] = []
    when = timestamp(
        value.isoformat() if isinstance(value, dt.datetime) else value, "until", warnings
    )
    if not when or warnings:
        raise ConfigError(f"{where}.until: a snooze rule needs an ISO 8601 end time")
    return when
