"""`vigil config check`: every setting's effective value and origin, secrets masked."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from bot.config import ConfigError, RawConfig, Setting

# Modules that declare `Setting` constants; listed so the report covers every area.
SETTINGS_MODULES: tuple[str, ...] = (
    "bot.settings",
    "bot.rbac",
    "bot.store.url",
    "bot.service_cli",
    "bot.secrets",
    "bot.secrets_local",
    "bot.secrets_keyvault",
    "bot.redaction",
    "bot.app",
    "bot.intel.settings",
    "bot.alerts.settings",
    "bot.incidents.settings",
    "bot.containment.execution_settings",
    "bot.approvals.settings",
    "bot.containment.settings",
    "bot.summaries.cadence_settings",
    "bot.summaries.settings",
)


def all_settings() -> list[Setting]:
    found: dict[str, Setting] = {}
    for name in SETTINGS_MODULES:
        for value in vars(importlib.import_module(name)).values():
            candidates = value.values() if isinstance(value, dict) else (value,)
            for candidate in candidates:
                if isinstance(candidate, Setting):
                    found.setdefault(candidate.key, candidate)
    return list(found.values())


def effective_config(raw: RawConfig, settings: Iterable[Setting] | None = None) -> list[str]:
    """One line per setting: ✓ key = value (origin), or ✗ key: what is wrong."""
    lines = [f"configuration from {raw.source}"]
    for setting in settings or all_settings():
        _, origin = raw.lookup(setting)
        try:
            value = raw.get(setting)
        except ConfigError as exc:
            lines.append(f"✗ {exc}")
            continue
        shown = ("***" if value else "(empty)") if setting.secret else _show(value)
        lines.append(f"✓ {setting.key} = {shown}  ({origin}; env {setting.env})")
    lines.extend(line for line in _cross_checks(raw) if line not in lines)
    return lines


def _cross_checks(raw: RawConfig) -> list[str]:
    """Rules that span several keys (no app id on a public address, say)."""
    from bot.alerts.routing import Routes
    from bot.containment.settings import ConnectorSettings
    from bot.rbac import RoleMap
    from bot.settings import ServiceSettings

    problems = []
    for load in (ServiceSettings.load, RoleMap.load, ConnectorSettings.load, Routes.load):
        try:
            load(raw)
        except ConfigError as exc:
            problems.append(f"✗ {exc}")
    return problems


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)
