"""What incidents tell the rest of Vigil (published with bot/kernel/hooks.py); the capabilities
that care subscribe at start-up, so incidents imports none of them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.incidents.records import Incident
from bot.kernel.rbac import Actor


@dataclass(frozen=True)
class IncidentClosed:
    """`actor` closed the incident; `incident` is the record as it was just before."""

    incident: Incident
    actor: Actor
