"""Configuration: one optional TOML file plus VIGIL_* environment overrides.

Every setting is declared once as a `Setting` (TOML key, env name, parser, default). Areas of the
product declare their own settings next to their code and read them through `RawConfig.get`, so a
wrong value fails at start-up naming the key and what was expected.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names the key."""


@dataclass(frozen=True)
class Setting:
    """One configuration key: `key` is the dotted TOML path, `env` the override variable."""

    key: str
    env: str
    parse: Callable[[Any], Any]
    default: Any
    help: str = ""
    secret: bool = False


CONFIG_FILE_NAME = "vigil.toml"


@dataclass
class RawConfig:
    """The TOML document and the environment, before any setting is parsed.

    `source` is the file (or "(defaults)"), `found` how it was found, and `directory` the folder
    that relative paths in the file (a SQLite `db.url`, the local `.vigil` state) start from.
    """

    document: Mapping[str, Any] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    source: str = "(defaults)"
    found: str = "no file: no --config or VIGIL_CONFIG, no ./vigil.toml, none in ~/.config/vigil"
    directory: Path | None = None

    @classmethod
    def load(cls, path: str | None = None, environ: Mapping[str, str] | None = None) -> RawConfig:
        """The configuration every `vigil` command uses: the first of --config, VIGIL_CONFIG,
        ./vigil.toml and $XDG_CONFIG_HOME/vigil/vigil.toml (~/.config/vigil/vigil.toml)."""
        env = dict(os.environ if environ is None else environ)
        chosen = find_config_file(path, env)
        if chosen is None:
            return cls({}, env)
        file, found = chosen
        try:
            document = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {str(file)!r} ({found}): not found") from exc
        except OSError as exc:
            raise ConfigError(f"config file {str(file)!r} ({found}): {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {str(file)!r} ({found}): invalid TOML: {exc}") from exc
        # absolute, not resolved: a config file linked from a dotfiles checkout keeps its
        # database beside the link, where the user put it.
        return cls(document, env, str(file), found, file.absolute().parent)

    @property
    def base_directory(self) -> Path:
        """Where relative paths of the file start: its folder, else the current folder."""
        return self.directory if self.directory is not None else Path.cwd()

    def in_file(self, setting: Setting) -> bool:
        """Whether the setting's value comes from the file (not the environment or a default)."""
        return setting.env not in self.environ and self.lookup(setting)[1] != "default"

    def lookup(self, setting: Setting) -> tuple[Any, str]:
        """The raw value of a setting and where it came from (env, file or default)."""
        if setting.env in self.environ:
            return self.environ[setting.env], f"env {setting.env}"
        node: Any = self.document
        for part in setting.key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return setting.default, "default"
            node = node[part]
        return node, f"{self.source} [{setting.key}]"

    def get(self, setting: Setting) -> Any:
        raw, origin = self.lookup(setting)
        if raw is setting.default and origin == "default":
            return raw
        try:
            return setting.parse(raw)
        except (ValueError, TypeError) as exc:
            shown = "***" if setting.secret else repr(raw)
            raise ConfigError(f"{setting.key} ({origin}) = {shown}: {exc}") from None

    def table(self, key: str) -> Mapping[str, Any]:
        """A TOML table (for structured config such as routing rules); empty when absent."""
        node: Any = self.document
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return {}
            node = node[part]
        if not isinstance(node, Mapping):
            raise ConfigError(f"[{key}] must be a table")
        return node


def user_config_file(environ: Mapping[str, str]) -> tuple[Path, str]:
    """$XDG_CONFIG_HOME/vigil/vigil.toml, or ~/.config/vigil/vigil.toml (XDG's default; a
    relative XDG_CONFIG_HOME is ignored, as the XDG spec says)."""
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "vigil" / CONFIG_FILE_NAME, "found in $XDG_CONFIG_HOME/vigil"
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    return home / ".config" / "vigil" / CONFIG_FILE_NAME, "found in ~/.config/vigil"


def find_config_file(path: str | None, environ: Mapping[str, str]) -> tuple[Path, str] | None:
    """The config file and how it was found, in the order every `vigil` command looks; None
    when there is none (an explicit --config or VIGIL_CONFIG must exist: it is not skipped)."""
    if path:
        return Path(path), "given with --config"
    if environ.get("VIGIL_CONFIG"):
        return Path(environ["VIGIL_CONFIG"]), "named by VIGIL_CONFIG"
    here = Path(CONFIG_FILE_NAME)
    if here.is_file():
        return here.absolute(), "found as ./vigil.toml in the current folder"
    user, shown = user_config_file(environ)
    if user.is_file():
        return user, shown
    return None


# Parsers: each raises ValueError with a sentence saying what was expected.

Number = TypeVar("Number", int, float)


def parse_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def parse_int_range(low: int, high: int) -> Callable[[Any], int]:
    return _parse_range(int, f"an integer from {low} to {high}", low, high)


def parse_float_range(low: float, high: float) -> Callable[[Any], float]:
    return _parse_range(float, f"a number from {low} to {high}", low, high)


def _parse_range(
    kind: Callable[[str], Number], expected: str, low: Number, high: Number
) -> Callable[[Any], Number]:
    def parse(value: Any) -> Number:
        try:
            number = kind(str(value).strip())
        except ValueError:
            raise ValueError(f"expected {expected}") from None
        if not low <= number <= high:
            raise ValueError(f"expected {expected}")
        return number

    return parse


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def parse_choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        for choice in choices:
            if text.lower() == choice.lower():
                return choice
        raise ValueError(f"expected one of {', '.join(choices)}")

    return parse


def parse_list(value: Any) -> tuple[str, ...]:
    """A TOML array of strings, or a comma-separated string (the env form)."""
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise ValueError("expected a list of strings or a comma-separated string")
    result = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError("expected a list of strings")
        if item.strip():
            result.append(item.strip())
    return tuple(result)


def parse_url(*schemes: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = parse_str(value).strip()
        parts = urlsplit(text)
        if parts.scheme not in schemes or not parts.netloc:
            raise ValueError(f"expected an absolute {' or '.join(schemes)} URL")
        return text.rstrip("/")

    return parse


def parse_service_url(value: Any) -> str:
    """An outside service's URL ("" for none): https anywhere, plain http only to a loopback
    address (local stand-ins and tests), never with credentials in it."""
    text = parse_str(value).strip()
    if not text:
        return ""
    parts = urlsplit(text)
    if not parts.netloc or parts.scheme not in ("https", "http"):
        raise ValueError("expected an absolute https URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
        raise ValueError("expected https (plain http is only allowed to a loopback address)")
    if parts.username or parts.password:
        raise ValueError("credentials do not belong in the URL; use the secret source")
    return text


def parse_host(value: Any) -> str:
    text = parse_str(value).strip()
    if not text or any(ch.isspace() for ch in text):
        raise ValueError("expected a host name or IP address")
    return text


def parse_cidrs(value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in parse_list(value))
    except ValueError as exc:
        raise ValueError(f"expected CIDR networks: {exc}") from None


def parse_existing_file(value: Any) -> str:
    text = parse_str(value).strip()
    if not Path(text).is_file():
        raise ValueError("expected the path of an existing file")
    return text


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
