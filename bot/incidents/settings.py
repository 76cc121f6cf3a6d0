"""Incident settings: the team that gets incident channels, and how those channels are made."""

from __future__ import annotations

import re
from typing import Any

from bot.entra.graph import AAD_AUTHORITY, GRAPH_URL
from bot.kernel.config import Setting, parse_choice, parse_float_range, parse_str

__all__ = [
    "AAD_AUTHORITY",
    "CHANNEL_MEMBERSHIP",
    "CHANNEL_RETRY",
    "GRAPH_URL",
    "INCIDENT_TEAM_ID",
]

_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def parse_group_id(value: Any) -> str:
    text = parse_str(value).strip()
    if text and not _GUID.fullmatch(text):
        # The 19:...@thread.tacv2 id is the Bot Framework team id; Graph wants the group id.
        raise ValueError("expected the team's Entra group id (aadGroupId, a GUID)")
    return text.lower()


INCIDENT_TEAM_ID = Setting(
    "incidents.team_id",
    "VIGIL_INCIDENT_TEAM_ID",
    parse_group_id,
    "",
    "Entra group id of the team that gets incident channels (or say `incident-team use this`)",
)
CHANNEL_MEMBERSHIP = Setting(
    "incidents.channel_membership",
    "VIGIL_INCIDENT_CHANNEL_MEMBERSHIP",
    parse_choice("standard", "private"),
    "standard",
    "membership type of incident channels",
)
CHANNEL_RETRY = Setting(
    "incidents.channel_retry_seconds",
    "VIGIL_INCIDENT_CHANNEL_RETRY",
    parse_float_range(0.05, 3600),
    30.0,
    "first wait before a failed incident channel is tried again; doubles up to 30 minutes",
)
