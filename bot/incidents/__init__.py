"""Incidents: records with INC-YYYYMMDD-NNN ids, a Teams channel each, a timeline and its export.

Other areas write to the timeline with `add_timeline(store, incident_id, actor_name, kind, text)`.
"""

from bot.incidents.records import IncidentNotFound
from bot.incidents.timeline import add_timeline

__all__ = ["IncidentNotFound", "add_timeline"]
