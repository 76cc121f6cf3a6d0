"""Approval settings: who approves each action, how long requests wait, and the crown jewels.

Per-action settings are named after the chat command: `VIGIL_APPROVAL_EXPIRY_ISOLATE_ENDPOINT`,
`VIGIL_APPROVAL_ROLE_BLOCK_DOMAIN`, ... A per-action expiry of 0 (the default) means "use
`VIGIL_APPROVAL_EXPIRY`".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.containment.connector import Action
from bot.kernel.config import (
    RawConfig,
    Setting,
    parse_choice,
    parse_int_range,
    parse_list,
    parse_str,
)
from bot.kernel.rbac import Role
from bot.kernel.services import Services, Slot

MAX_EXPIRY = 7 * 24 * 3600
_DURATION = re.compile(r"(\d+)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration_seconds(low: int, high: int):
    """Seconds, or a duration like `30m`, `12h`, `7d`, from low to high."""

    def parse(value: Any) -> int:
        text = str(value).strip().lower()
        match = _DURATION.fullmatch(text)
        if not match:
            raise ValueError(f"expected seconds or a duration like 30m, 12h, 7d ({low}-{high} s)")
        seconds = int(match[1]) * _UNITS[match[2]]
        if not low <= seconds <= high:
            raise ValueError(f"expected a duration from {low} to {high} seconds")
        return seconds

    return parse


def parse_crown_jewels(value: Any) -> tuple[str, ...]:
    """Comma-separated glob patterns; `tag:NAME` patterns match machine tags."""
    patterns = parse_list(value)
    for pattern in patterns:
        if pattern.lower().startswith("tag:") and not pattern[4:].strip():
            raise ValueError("`tag:` needs a tag pattern after it")
        if len(pattern) > 200:
            raise ValueError("a crown-jewel pattern is at most 200 characters")
    return tuple(p.lower() for p in patterns)


EXPIRY = Setting(
    "approvals.expiry",
    "VIGIL_APPROVAL_EXPIRY",
    parse_duration_seconds(60, MAX_EXPIRY),
    1800,
    "how long a request waits for approval (seconds or 30m / 2h / 1d) unless set per action",
)
EXPIRY_BY_ACTION: dict[Action, Setting] = {
    action: Setting(
        f"approvals.expiry_{action.value}",
        f"VIGIL_APPROVAL_EXPIRY_{action.name}",
        parse_duration_seconds(0, MAX_EXPIRY),
        0,
        f"how long a {action.command} request waits (0: use VIGIL_APPROVAL_EXPIRY)",
    )
    for action in Action
}
ROLE_BY_ACTION: dict[Action, Setting] = {
    action: Setting(
        f"approvals.role_{action.value}",
        f"VIGIL_APPROVAL_ROLE_{action.name}",
        parse_choice(*(role.value for role in Role)),
        Role.APPROVER.value,
        f"role that may approve {action.command} (admin always qualifies)",
    )
    for action in Action
}
CROWN_JEWELS = Setting(
    "approvals.crown_jewels",
    "VIGIL_CROWN_JEWELS",
    parse_crown_jewels,
    (),
    "glob patterns (fnmatch, case-insensitive) for hosts/domains needing 2 approvers;"
    " `tag:NAME` matches a machine tag",
)
EXPIRY_INTERVAL = Setting(
    "approvals.expiry_interval",
    "VIGIL_APPROVAL_EXPIRY_INTERVAL",
    parse_int_range(1, 3600),
    5,
    "seconds between runs of the job that expires pending requests",
)
EVIDENCE_TIMEOUT = Setting(
    "approvals.evidence_timeout",
    "VIGIL_APPROVAL_EVIDENCE_TIMEOUT",
    parse_int_range(1, 30),
    3,
    "seconds to wait for a verdict or machine lookup before posting the card without it",
)
CHANNEL = Setting(
    "approvals.channel",
    "VIGIL_APPROVALS_CHANNEL",
    parse_str,
    "",
    "conversation id of the Teams channel where every approval request is posted, approvers"
    " mentioned (Vigil must be in it); unset: requests are posted where asked, never in a 1:1 chat",
)


@dataclass(frozen=True)
class ApprovalSettings:
    expiry: int = 1800
    expiry_by_action: Mapping[Action, int] = field(default_factory=dict)
    role_by_action: Mapping[Action, Role] = field(default_factory=dict)
    crown_jewels: tuple[str, ...] = ()
    expiry_interval: int = 5
    evidence_timeout: int = 3
    channel: str = ""

    @classmethod
    def load(cls, raw: RawConfig) -> ApprovalSettings:
        return cls(
            expiry=raw.get(EXPIRY),
            expiry_by_action={a: raw.get(s) for a, s in EXPIRY_BY_ACTION.items()},
            role_by_action={a: Role(raw.get(s)) for a, s in ROLE_BY_ACTION.items()},
            crown_jewels=raw.get(CROWN_JEWELS),
            expiry_interval=raw.get(EXPIRY_INTERVAL),
            evidence_timeout=raw.get(EVIDENCE_TIMEOUT),
            channel=raw.get(CHANNEL).strip(),
        )

    def expiry_for(self, action: Action) -> int:
        return self.expiry_by_action.get(action) or self.expiry

    def role_for(self, action: Action) -> Role:
        return self.role_by_action.get(action, Role.APPROVER)


SETTINGS: Slot[ApprovalSettings] = Slot("approvals.settings")


def approval_settings(services: Services) -> ApprovalSettings:
    """Loaded once per process."""
    return services.provide(SETTINGS, lambda: ApprovalSettings.load(services.raw_config))
