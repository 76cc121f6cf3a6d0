"""`vigil config check`: every setting's effective value and origin, secrets masked."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from pathlib import Path
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
    """Every setting the declared modules hold, as constants or in their tables (a dict of
    tuples for the intel sources): what `config check` shows and start-up validates."""
    found: dict[str, Setting] = {}
    for module in _settings_modules():
        for setting in settings_in(list(vars(module).values())):
            found.setdefault(setting.key, setting)
    return list(found.values())


def settings_in(value: object) -> Iterator[Setting]:
    """The Settings in a value: itself, or inside dicts, tuples and lists, however nested."""
    if isinstance(value, Setting):
        yield value
    elif isinstance(value, dict):
        yield from settings_in(list(value.values()))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from settings_in(item)


def effective_config(raw: RawConfig, settings: Iterable[Setting] | None = None) -> list[str]:
    """One line per setting: ✓ key = value (origin), or ✗ key: what is wrong."""
    lines = [f"configuration from {raw.source} ({raw.found})", _database(raw)]
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


def configuration_problems(raw: RawConfig) -> list[str]:
    """What is wrong with the configuration, one sentence a problem naming the key; [] if none.
    `vigil serve` refuses to start on any, as `vigil config check` reports them."""
    return [line[2:] for line in effective_config(raw) if line.startswith("✗ ")]


def _database(raw: RawConfig) -> str:
    """Which database every command opens (the password masked), and whether it exists yet."""
    from bot.store import configured_url, mask_url, parse_store_url

    try:
        url = configured_url(raw)
    except (ConfigError, ValueError):
        return "database: see db.url below"
    parsed = parse_store_url(url)
    if parsed.dialect != "sqlite" or parsed.path == ":memory:":
        return f"database {mask_url(url)}"
    path = Path(parsed.path).resolve()
    state = (
        "exists"
        if path.exists()
        else "not created yet: `vigil serve` or `vigil db migrate` make it"
    )
    return f"database {path} ({state})"


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
