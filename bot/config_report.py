"""`vigil config check`: every setting's effective value and origin, secrets masked."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from types import ModuleType

from bot.kernel.config import ConfigError, RawConfig, Setting

# The service's own modules that declare `Setting` constants; capabilities declare theirs.
KERNEL_SETTINGS_MODULES: tuple[str, ...] = (
    "bot.kernel.settings",
    "bot.kernel.rbac",
    "bot.store.url",
    "bot.service_cli",
    "bot.secrets.source",
    "bot.secrets.local",
    "bot.secrets.keyvault",
    "bot.kernel.redaction",
    "bot.kernel.card_templates",
    "bot.app",
)


def _settings_modules() -> list[ModuleType]:
    from bot.capabilities import CAPABILITIES

    kernel = [importlib.import_module(name) for name in KERNEL_SETTINGS_MODULES]
    return kernel + [module for capability in CAPABILITIES for module in capability.settings]


def all_settings() -> list[Setting]:
    found: dict[str, Setting] = {}
    for module in _settings_modules():
        for value in vars(module).values():
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
    from bot.capabilities import CAPABILITIES
    from bot.kernel.card_templates import load_overrides
    from bot.kernel.rbac import RoleMap
    from bot.kernel.settings import ServiceSettings

    checks = [ServiceSettings.load, RoleMap.load, load_overrides]
    checks += [check for capability in CAPABILITIES for check in capability.config_checks]
    problems = []
    for load in checks:
        try:
            load(raw)
        except ConfigError as exc:
            problems.append(f"✗ {exc}")
    return problems


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)
