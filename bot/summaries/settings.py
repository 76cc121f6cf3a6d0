"""Summary settings: the exec channel, the host role map used by redaction, and draft limits."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.intel.guard import InternalGuard
from bot.intel.settings import INTERNAL_DOMAINS, INTERNAL_NETWORKS
from bot.kernel.config import RawConfig, Setting, parse_float_range, parse_int_range, parse_str
from bot.kernel.services import Slot

if TYPE_CHECKING:
    from bot.kernel.services import Services

SETTINGS: Slot[SummarySettings] = Slot("summaries.settings")
# A Teams channel's Bot Framework id; a thread suffix (`;messageid=`) is not a channel.
_CHANNEL_ID = re.compile(r"19:[A-Za-z0-9_.\-]{1,200}@thread\.(?:tacv2|skype)")
_GLOB = re.compile(r"[A-Za-z0-9.*?_\-\[\]!:]{1,200}")
MAX_ROLE_TEXT = 100


def parse_channel_id(value: Any) -> str:
    text = parse_str(value).strip()
    if text and not _CHANNEL_ID.fullmatch(text):
        raise ValueError(
            "expected a Teams channel id like 19:…@thread.tacv2 (or @thread.skype), "
            "without a ;messageid= suffix"
        )
    return text


def parse_roles(value: Any) -> tuple[tuple[str, str], ...]:
    """Host glob → role text, from a TOML table or `glob=role;glob=role` (the env form)."""
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, str):
        pairs = []
        for item in value.split(";"):
            if not item.strip():
                continue
            glob, sep, role = item.partition("=")
            if not sep:
                raise ValueError(f"expected glob=role, got {item.strip()[:60]!r}")
            pairs.append((glob, role))
    else:
        raise ValueError("expected a table of host glob = role text")
    result = []
    for glob, role in pairs:
        if not isinstance(glob, str) or not isinstance(role, str):
            raise ValueError("host globs and roles must be strings")
        glob, role = glob.strip().lower(), " ".join(role.split())
        if not _GLOB.fullmatch(glob) or glob.strip("*?") == "":
            raise ValueError(f"host glob {glob[:60]!r}: letters, digits, . - _ and * ? [ ] only")
        if not role or len(role) > MAX_ROLE_TEXT or not role.isprintable():
            raise ValueError(f"role for {glob!r}: 1 to {MAX_ROLE_TEXT} printable characters")
        result.append((glob, role))
    return tuple(result)


def parse_role_text(value: Any) -> str:
    text = " ".join(parse_str(value).split())
    if not text or len(text) > MAX_ROLE_TEXT or not text.isprintable():
        raise ValueError(f"expected 1 to {MAX_ROLE_TEXT} printable characters")
    return text


EXEC_CHANNEL = Setting(
    "summaries.exec_channel",
    "VIGIL_EXEC_CHANNEL",
    parse_channel_id,
    "",
    "Teams channel id (19:…@thread.tacv2) of the restricted exec channel; empty: no summaries",
)
HOST_ROLES = Setting(
    "summaries.roles",
    "VIGIL_SUMMARY_ROLES",
    parse_roles,
    (),
    'internal host glob = role shown to executives, e.g. "ws-fin-*" = "a finance workstation"',
)
DEFAULT_HOST_ROLE = Setting(
    "summaries.default_host_role",
    "VIGIL_SUMMARY_DEFAULT_HOST_ROLE",
    parse_role_text,
    "an internal host",
    "what an internal host name no glob matches becomes",
)
DEFAULT_ADDRESS_ROLE = Setting(
    "summaries.default_address_role",
    "VIGIL_SUMMARY_DEFAULT_ADDRESS_ROLE",
    parse_role_text,
    "an internal address",
    "what an internal IP address no glob matches becomes",
)
MAX_ITEMS = Setting(
    "summaries.max_items",
    "VIGIL_SUMMARY_MAX_ITEMS",
    parse_int_range(1, 10),
    8,
    "actions taken / next steps shown before 'and N more'",
)
NEXT_UPDATE_HOURS = Setting(
    "summaries.next_update_hours",
    "VIGIL_SUMMARY_NEXT_UPDATE_HOURS",
    parse_float_range(0.25, 72),
    2.0,
    "next update time without a cadence: now plus this many hours",
)


@dataclass(frozen=True)
class RolePolicy:
    """What redaction needs: which names are internal and the role each one becomes."""

    guard: InternalGuard = InternalGuard()
    roles: tuple[tuple[str, str], ...] = ()
    default_host_role: str = "an internal host"
    default_address_role: str = "an internal address"

    def role_for(self, name: str) -> str | None:
        """The role text of the first glob matching the name (or its first label), else None."""
        lowered = name.lower().rstrip(".")
        short = lowered.split(".", 1)[0]
        for glob, role in self.roles:
            if fnmatch.fnmatchcase(lowered, glob) or fnmatch.fnmatchcase(short, glob):
                return role
        return None


@dataclass(frozen=True)
class SummarySettings:
    exec_channel: str
    policy: RolePolicy
    max_items: int
    next_update_hours: float

    @classmethod
    def load(cls, raw: RawConfig) -> SummarySettings:
        guard = InternalGuard.with_extra(raw.get(INTERNAL_NETWORKS), raw.get(INTERNAL_DOMAINS))
        policy = RolePolicy(
            guard, raw.get(HOST_ROLES), raw.get(DEFAULT_HOST_ROLE), raw.get(DEFAULT_ADDRESS_ROLE)
        )
        return cls(raw.get(EXEC_CHANNEL), policy, raw.get(MAX_ITEMS), raw.get(NEXT_UPDATE_HOURS))


def summary_settings(services: Services) -> SummarySettings:
    """Loaded once per process (the dialog loads it at start-up, so bad values stop the start)."""
    return services.provide(SETTINGS, lambda: SummarySettings.load(services.raw_config))
