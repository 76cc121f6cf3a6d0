"""`[[playbooks]]` tables from the TOML file, checked at start-up naming the key at fault.

Only the webhook kind runs today; logicapp and stepfunctions are refused by name until they are
built, so a config written for them fails loudly instead of starting runs that go nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.kernel.config import ConfigError, RawConfig, parse_service_url
from bot.kernel.rbac import Role

KINDS = ("webhook",)
LATER_KINDS = ("logicapp", "stepfunctions")
NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?")
INPUT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_TITLE = 200
MAX_INPUTS = 20
_KEYS = frozenset({"name", "title", "kind", "url", "role", "approval", "inputs"})


@dataclass(frozen=True)
class Playbook:
    name: str
    title: str
    kind: str
    url: str
    role: Role
    approval: bool
    inputs: tuple[str, ...]

    @property
    def key_secret(self) -> str:
        """The secret holding the HMAC key both directions are signed with."""
        return f"playbook-{self.name}-hmac-key"


@dataclass(frozen=True)
class Playbooks:
    items: tuple[Playbook, ...]

    @classmethod
    def load(cls, raw: RawConfig) -> Playbooks:
        entries = raw.document.get("playbooks", [])
        if not isinstance(entries, list):
            raise ConfigError("playbooks: expected an array of tables ([[playbooks]])")
        items = tuple(_playbook(entry, index) for index, entry in enumerate(entries))
        seen: set[str] = set()
        for index, playbook in enumerate(items):
            if playbook.name.casefold() in seen:
                raise ConfigError(f"playbooks[{index}].name: {playbook.name!r} is used twice")
            seen.add(playbook.name.casefold())
        return cls(items)

    def find(self, name: str) -> Playbook | None:
        wanted = name.casefold()
        return next((p for p in self.items if p.name.casefold() == wanted), None)


def _playbook(entry: Any, index: int) -> Playbook:
    where = f"playbooks[{index}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected a table")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key; known: {', '.join(sorted(_KEYS))}")
    name = _text(entry, "name", where, required=True)
    if not NAME.fullmatch(name):
        raise ConfigError(f"{where}.name: {name[:80]!r} must be letters, digits and hyphens")
    kind = _text(entry, "kind", where, required=True)
    if kind in LATER_KINDS:
        raise ConfigError(f'{where}.kind: {kind!r} is not supported yet; use "webhook"')
    if kind not in KINDS:
        raise ConfigError(
            f"{where}.kind: {kind[:40]!r} is not one of webhook, logicapp, stepfunctions"
        )
    role_word = _text(entry, "role", where, required=True)
    try:
        role = Role(role_word)
    except ValueError:
        known = ", ".join(role.value for role in Role)
        raise ConfigError(f"{where}.role: {role_word[:40]!r} is not one of {known}") from None
    approval = entry.get("approval", False)
    if not isinstance(approval, bool):
        raise ConfigError(f"{where}.approval: expected true or false")
    return Playbook(
        name=name,
        title=_text(entry, "title", where)[:MAX_TITLE] or name,
        kind=kind,
        url=_url(_text(entry, "url", where, required=True), f"{where}.url"),
        role=role,
        approval=approval,
        inputs=_inputs(entry.get("inputs", []), f"{where}.inputs"),
    )


def _text(entry: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key}: expected a string")
    if required and not value.strip():
        raise ConfigError(f"{where}.{key}: required")
    return value.strip()


def _url(text: str, key: str) -> str:
    try:
        return parse_service_url(text)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _inputs(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{key}: expected a list of input names")
    if len(value) > MAX_INPUTS:
        raise ConfigError(f"{key}: at most {MAX_INPUTS} inputs")
    for item in value:
        if not INPUT.fullmatch(item):
            raise ConfigError(f"{key}: {item[:40]!r} must be letters, digits and underscores")
    if len(set(value)) != len(value):
        raise ConfigError(f"{key}: an input is named twice")
    return tuple(value)
